"""``drill rollback``: finish the rollback of drills that did not finish (a hard kill, a crash).

Each unfinished drill's journal is read whole first (a malformed one is refused, exit 2, nothing
appended). The guardrails are the current config's (the journal's own settings are not trusted:
no profile, allow-list or path is taken from it); its target must be one the harness knows, and an
account needs ``--confirm``. A drill whose lease on the target is still alive is running: it is
not touched. Then every fault planned and not reverted is undone by the one undo loop (its state
checked against the catalog), the drill's load generators and canary data are removed, steady
state is checked, the runbook changes still in place are named with the command that returns
them, and the report is rendered again.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput
from drill.core.journal import Event, read_journal
from drill.core.paths import REPORTS_DIR
from drill.core.procs import signal_if
from drill.engine.drill import Drill
from drill.engine.failback import runbook_state
from drill.engine.lock import alive, holder
from drill.engine.restore import cleanup
from drill.engine.session import held_signals
from drill.engine.steady import wait_steady
from drill.faults.undo import pending_from_journal, safe_write, undo_all
from drill.ops import load_workers
from drill.targets.factory import NAMES, make_target


def unfinished(reports: Path, target: str | None = None) -> list[Path]:
    """Drills of ``target`` (every target: None) whose journal shows no end, faults not undone, or
    load workers not removed."""
    out = []
    for journal in sorted(reports.glob("*/journal.jsonl")):
        events = read_journal(journal)
        start = next((e for e in events if e.event == "drill_started"), None)
        if target is not None and start is not None and start.get("target") != target:
            continue
        if not any(e.event == "drill_finished" for e in events) or pending_from_journal(events) \
                or load_workers.left_behind(events):
            out.append(journal.parent)
    return out


def _kill_load(events: list[Event], drill: Drill) -> list[str]:
    """Stop the drill's load generators; what could not be removed (a later rollback retries it)."""
    for ev in events:
        if ev.event == "load_started":
            for pid in ev.get("pids") or []:
                if signal_if(int(pid), ("locust",), signal.SIGTERM):
                    safe_write(drill.journal, None, "load_stopped", pid=pid)
    m = drill.cfg.measure
    failed = []
    for w in load_workers.left_behind(events):  # load.mode kubernetes: the workers' Deployment
        try:
            load_workers.remove(drill.target, drill.journal, str(drill.drill_id), w["namespace"], w["deployment"],
                                w["namespace_created"], m.action_deadline_s, m.probe_interval_s)
        except Exception as exc:  # never in the way of undoing the faults
            failed.append(f"load workers {w['deployment']}: {type(exc).__name__}: {exc}"[:300])
            safe_write(drill.journal, None, "load_workers_remove_failed", error=failed[-1])
    return failed


def rollback_drill(loaded: LoadedConfig, drill_dir: Path, confirm: str | None,
                   cli_target: str | None = None) -> dict[str, Any]:
    events = read_journal(drill_dir / "journal.jsonl")  # whole and typed before anything is appended
    start = next((e for e in events if e.event == "drill_started"), None)
    if start is None:
        raise InvalidInput(f"{drill_dir}: no drill_started record: not a drill journal")
    target_name = str(start.get("target"))
    if target_name not in NAMES:
        raise InvalidInput(f"{drill_dir}: target {target_name!r} is not one the harness knows ({', '.join(NAMES)})")
    if cli_target is not None and cli_target != target_name:  # the guardrails and profile of its own target
        raise InvalidInput(f"{drill_dir.name}: a drill on {target_name}; roll it back with --target {target_name}")
    pending = pending_from_journal(events)
    # a drill that finished but left load workers keeps its own status and end time in the report
    finished = any(e.event == "drill_finished" for e in events)
    result: dict[str, Any] = {"drill": drill_dir.name, "undone": [], "failed": [], "remaining": []}
    try:
        target = make_target(target_name, loaded, start_sandbox=False, confirm=confirm, destructive=True)
    except InvalidInput as exc:
        if "no sandbox is running" not in str(exc):
            raise
        result.update(ok=True, detail=f"the twin is gone, and every fault it held went with it ({exc})")
        drill = Drill.resume(loaded, drill_dir, None)
        for w in load_workers.left_behind(events):  # the twin's cluster, and its kubelet's workers, went too
            safe_write(drill.journal, None, "load_workers_removed", namespace=w["namespace"],
                       deployment=w["deployment"], by="the twin stopped")
        safe_write(drill.journal, None, "rollback_finished", ok=True, detail=result["detail"])
        if not finished:
            safe_write(drill.journal, None, "drill_finished", status="rolled_back")
        drill.journal.close()
        return result
    lease, _ = holder(target)
    if alive(lease) and lease is not None and lease.get("owner") == start.get("drill_id"):
        target.close()
        result.update(ok=True, skipped=True, detail=f"still running (its lease is alive, pid {lease.get('pid')} on "
                                                     f"{lease.get('host')}): not touched")
        return result
    drill = Drill.resume(loaded, drill_dir, target)
    seen = [float(e.get("after_s")) for e in events if e.event == "canaries_replicated" and e.get("after_s") is not None]
    drill.replication_s = seen[-1] if seen else None  # how long the copies took: cleanup waits for those in flight
    with held_signals():
        safe_write(drill.journal, None, "rollback_started", pending=[p.fault_id for p in pending])
        load_left = _kill_load(events, drill)
        undo = undo_all(target, drill.journal, pending, by="drill rollback")
        result["undone"], result["failed"] = undo.undone, undo.failed + load_left
        try:
            follows = not runbook_state(target).dr_writer  # the DR instance a replica: it takes the deletes
        except Exception:  # not known: remove what can be, without waiting on the replica
            follows = False
        cleanup(drill, replica_follows=follows)
        state = wait_steady(drill, drill.deadline)
        result["remaining"] = runbook_state(target).remaining()
        result["steady"] = {"ok": state.ok, "problems": state.problems}
        ok = undo.ok and not load_left and (state.ok or bool(result["remaining"]))
        safe_write(drill.journal, None, "restored", ok=ok, by="drill rollback", steady_state=result["steady"],
                   remaining=result["remaining"])
        safe_write(drill.journal, None, "rollback_finished", ok=ok, steady=result["steady"])
        if not finished:
            safe_write(drill.journal, None, "drill_finished", status="rolled_back")
        drill.journal.close()
        drill.calls.close()
        target.close()
    result["ok"] = ok
    return result


def run_rollback(loaded: LoadedConfig, target_name: str, reports_dir: str | None, drills: list[str],
                 confirm: str | None) -> int:
    from drill.report.build import render

    reports = Path(reports_dir) if reports_dir else REPORTS_DIR
    dirs = [Path(d) for d in drills] if drills else unfinished(reports, target_name)
    for d in dirs:
        if not (d / "journal.jsonl").exists():
            raise InvalidInput(f"{d}: no journal.jsonl here")
        start = next((e for e in read_journal(d / "journal.jsonl") if e.event == "drill_started"), None)
        if start is not None and start.get("target") != target_name:  # every journal checked before any is touched
            raise InvalidInput(f"{d.name}: a drill on {start.get('target')}; roll it back with --target "
                               f"{start.get('target')}")
    if not dirs:
        print(f"drill rollback: nothing to roll back in {reports}")
        return 0
    ok = True
    for d in dirs:
        res = rollback_drill(loaded, d, confirm, target_name)
        ok = ok and bool(res["ok"])
        render(d)
        line = (f"drill rollback {d.name}: {'ok' if res['ok'] else 'FAILED'} (undone: {', '.join(res['undone']) or 'none'}"
                + (f"; failed: {', '.join(res['failed'])}" if res["failed"] else "")
                + (f"; {res['detail']}" if res.get("detail") else "") + ")")
        if res.get("steady") and not res["steady"]["ok"] and not res["remaining"]:
            line += f"; NOT in steady state: {'; '.join(res['steady']['problems'][:3])}"
        print(line)
        if res["remaining"]:
            print(f"  runbook changes still in place: {'; '.join(res['remaining'])}; return them with: "
                  + loaded.command("failback", target_name, confirm))
    return 0 if ok else 1
