"""``drill rollback``: finish the rollback of drills that did not finish (a hard kill, a crash).

Reads each unfinished drill's journal, undoes every fault that was planned and not reverted
(the undo is in the ``fault_planned`` record, written durably before the fault started), stops
any load generator it left, brings a sandbox back to steady state, and appends what it did to
the same journal, then re-renders the report.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from drill.config import REPO_ROOT, load_config
from drill.errors import InvalidInput
from drill.faults import REGISTRY, pending_from_journal
from drill.journal import Event, Journal, read_journal
from drill.targets import SandboxTarget, make_target


def unfinished(reports: Path) -> list[Path]:
    out = []
    for journal in sorted(reports.glob("*/journal.jsonl")):
        events = read_journal(journal)
        finished = any(e.event == "drill_finished" for e in events)
        if not finished or pending_from_journal(events):
            out.append(journal.parent)
    return out


def _kill_load(events: list[Event], journal: Journal) -> None:
    for ev in events:
        if ev.event != "load_started":
            continue
        for pid in ev.get("pids") or []:
            try:
                os.kill(int(pid), signal.SIGTERM)
                journal.write("load_stopped", pid=pid)
            except (ProcessLookupError, PermissionError):
                pass


def rollback_drill(drill_dir: Path) -> dict[str, Any]:
    from drill.report import render
    from sandbox import lifecycle

    events = read_journal(drill_dir / "journal.jsonl")
    start = next((e for e in events if e.event == "drill_started"), None)
    if start is None:
        raise InvalidInput(f"{drill_dir}: no drill_started record: not a drill journal")
    applied = start.get("applied") or {}
    loaded = load_config(applied.get("config"), applied.get("profile"), start.get("set_args") or [])
    journal = Journal(drill_dir / "journal.jsonl")
    journal.write("rollback_started", durable=True, pending=[p[0] for p in pending_from_journal(events)])
    _kill_load(events, journal)
    result: dict[str, Any] = {"drill": drill_dir.name, "undone": [], "failed": []}
    target_name = start.get("target") or "sandbox"
    try:
        target = make_target(target_name, loaded, journal, start_sandbox=False)
    except InvalidInput as exc:
        if target_name in ("sandbox", "localstack") and lifecycle.running_state() is None:
            # the twin is gone, and every fault it held went with it
            journal.write("rollback_finished", durable=True, ok=True, detail=f"nothing to undo: {exc}")
            journal.write("drill_finished", durable=True, status="rolled_back")
            journal.close()
            render(drill_dir)
            result["ok"] = True
            result["detail"] = "sandbox not running: nothing left to undo"
            return result
        raise
    for fault_id, name, params in pending_from_journal(events):
        try:
            REGISTRY[name].undo(target, **params)
            journal.write("fault_reverted", durable=True, fault_id=fault_id, name=name, by="drill rollback")
            result["undone"].append(fault_id)
        except Exception as exc:
            journal.write("fault_revert_failed", durable=True, fault_id=fault_id, error=str(exc)[:300])
            result["failed"].append(fault_id)
    steady: dict[str, Any] = {}
    if isinstance(target, SandboxTarget):
        reset = target.reset()
        steady = {"healthy": reset.get("healthy"), "steps": reset.get("steps")}
    from drill.canary import cleanup

    cleanup(target.cfg, target, start.get("drill_id") or drill_dir.name, journal)
    ok = not result["failed"] and steady.get("healthy", True) is not False
    journal.write("restored", ok=ok, by="drill rollback", **steady)
    journal.write("rollback_finished", durable=True, ok=ok)
    journal.write("drill_finished", durable=True, status="rolled_back")
    journal.close()
    render(drill_dir)
    result["ok"] = ok
    return result


def run_rollback(reports_dir: str | None, drills: list[str]) -> int:
    reports = Path(reports_dir) if reports_dir else REPO_ROOT / "reports"
    targets = [Path(d) for d in drills] if drills else unfinished(reports)
    for d in targets:
        if not (d / "journal.jsonl").exists():
            raise InvalidInput(f"{d}: no journal.jsonl here")
    if not targets:
        print(f"drill rollback: nothing to roll back in {reports}")
        return 0
    ok = True
    for d in targets:
        res = rollback_drill(d)
        ok = ok and bool(res["ok"])
        print(f"drill rollback {d.name}: {'ok' if res['ok'] else 'FAILED'} "
              f"(undone: {', '.join(res['undone']) or 'none'}"
              + (f"; failed: {', '.join(res['failed'])}" if res["failed"] else "")
              + (f"; {res['detail']}" if res.get("detail") else "") + ")")
    return 0 if ok else 1
