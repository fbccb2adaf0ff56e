"""The drill: one object per run that the procedures and the steps drive.

It composes what a run has (config, journal and call log, target, faults, notifier, the users'
view, traffic, marks and results) and offers ``phase()`` (one journal record per activity, with
what it learned) and ``mark()``. The procedures are functions of a Drill in their own modules
(``steady``, ``traffic``, ``failover``, ``failback``, ``measure``, ``restore``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from drill.core.config import LoadedConfig
from drill.core.journal import Journal
from drill.core.measure import Clock
from drill.core.paths import REPORTS_DIR
from drill.core.redact import Redactor
from drill.engine.results import Results
from drill.faults.manager import FaultManager
from drill.notify import Notifier
from drill.ops.http import Web
from drill.targets.base import Target
from drill.targets.factory import make_target


def new_drill_id(cadence: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{cadence}-{secrets.token_hex(2)}"


def clocks(loaded: LoadedConfig) -> list[Clock]:
    """Every clock of the policy a profile may shorten, as applied and as the policy has it."""
    a, p = loaded.config, loaded.policy_values()
    ha, hp = a.route53.health_check, p.route53.health_check
    return [Clock("detection (health check interval x threshold)", ha.interval_s * ha.failure_threshold,
                  hp.interval_s * hp.failure_threshold),
            Clock("declaration wait", a.declaration.outage_s, p.declaration.outage_s),
            Clock("DNS record TTL", a.route53.ttl_s, p.route53.ttl_s),
            Clock("failback stabilization", a.failback.stabilization_s, p.failback.stabilization_s, in_rto=False),
            Clock("success window (observed after recovery, not added)", a.measure.success_window_s,
                  p.measure.success_window_s, in_rto=False)]


class Drill:
    def __init__(self, loaded: LoadedConfig, target_name: str = "sandbox", cadence: str = "quarterly",
                 reports_dir: Path | None = None, drill_id: str | None = None, lang: str = "en",
                 target_options: dict[str, Any] | None = None, target: Target | None = None,
                 resume: Path | None = None):
        """A new drill; or, with ``resume``, the drill of that folder, its journal appended to."""
        self.loaded = loaded
        self.cfg = loaded.config
        self.halted = False  # a signal or a stop condition ended it: restore takes no runbook action
        self.policy = loaded.policy_values()
        self.cadence = cadence
        self.drill_id = resume.name if resume is not None else (drill_id or new_drill_id(cadence))
        self.dir = resume if resume is not None else (reports_dir or REPORTS_DIR) / self.drill_id
        self.dir.mkdir(parents=True, exist_ok=True)
        redactor = Redactor()
        hook = self.cfg.communication.webhook_url
        if hook:
            redactor.add(hook)
            redactor.add(hook.rstrip("/").rsplit("/", 1)[-1])
        self.journal = Journal(self.dir / "journal.jsonl", redactor)
        self.calls = Journal(self.dir / "calls.jsonl", redactor)
        self.clocks = clocks(loaded)
        if resume is None:
            self._started(target_name, cadence)
        self.started_at = time.time()
        self.target = target or make_target(target_name, loaded, self.journal, self.calls, **(target_options or {}))
        if target is not None:
            self.target.journal, self.target.calls = self.journal, self.calls
            self.target.redactor = redactor
        # a twin this run started stops with the drill (and its S3 with it)
        self.started_twin = bool(getattr(self.target, "started_here", False))
        if resume is None:
            self.journal.write("target_ready", target=self.target.name, account=self.target.account,
                               capabilities=sorted(self.target.capabilities), emulated=self.target.emulated,
                               started_twin=self.started_twin)
        self.faults = FaultManager(self.target, self.journal, self.drill_id)
        self.notifier = Notifier(self.cfg, self.journal, self.target.webhook(), lang)
        self.web = Web(self.target)
        self.traffic: Any = None  # engine.traffic.Traffic while one runs
        self.cognito: Any = None  # checks.cognito.CognitoCheck once a test user exists
        self.marks: dict[str, float] = {}
        self.replication_s: float | None = None  # how long a canary write took to show in DR (observed)
        # the last canary sequence number any scenario of this run used: the next one's writers go
        # on from it, so a row an earlier scenario left behind (its delete still in flight) is never
        # taken for one of its own
        self.canary_seq = 0
        self.results = Results()
        self.current_phase = "starting"
        self.phase_started: float | None = None  # monotonic, for the live view
        self.current_scenario: str | None = None
        self.current_step: str | None = None
        self.closed = False

    @classmethod
    def resume(cls, loaded: LoadedConfig, drill_dir: Path, target: Target | None) -> Drill:
        return cls(loaded, target.name if target else "sandbox", "rollback", target=target, resume=drill_dir) \
            if target is not None else cls._journal_only(loaded, drill_dir)

    @classmethod
    def _journal_only(cls, loaded: LoadedConfig, drill_dir: Path) -> Drill:
        """A drill whose target is gone: its journal only (to record that)."""
        self = cls.__new__(cls)
        self.journal = Journal(drill_dir / "journal.jsonl")
        return self

    def _started(self, target_name: str, cadence: str) -> None:
        loaded = self.loaded
        self.journal.write(
            "drill_started", durable=True, drill_id=self.drill_id, target=target_name, cadence=cadence,
            policy=self.cfg.policy.name, applied=loaded.applied(), set_args=loaded.set_args,
            budgets=self.cfg.budgets.model_dump(mode="json"),
            clocks=[{"name": c.name, "applied_s": c.applied_s, "policy_s": c.policy_s, "in_rto": c.in_rto}
                    for c in self.clocks],
            regions={r: self.cfg.side(r).region for r in ("primary", "dr")},
            measure=self.cfg.measure.model_dump(mode="json"),
            checklist=[c.model_dump(mode="json") for c in self.cfg.checklist],
            regular_tests=[t.model_dump(mode="json") for t in self.cfg.regular_tests],
            notices={k: v.model_dump() for k, v in self.cfg.communication.notices.items()})

    @property
    def interval(self) -> float:
        return self.cfg.measure.probe_interval_s

    @property
    def deadline(self) -> float:
        return self.cfg.measure.action_deadline_s

    def mark(self, name: str, **data: Any) -> float:
        rec = self.journal.write("mark", name=name, **data)
        self.marks[name] = float(rec["t"])
        return self.marks[name]

    @contextlib.contextmanager
    def phase(self, name: str, measured: bool = True, detail: str = "",
              started_at: float | None = None) -> Iterator[dict[str, Any]]:
        start = started_at if started_at is not None else self.journal.now()[0]
        info: dict[str, Any] = {}  # what the phase learned, journaled with it
        self.current_phase, self.phase_started = name, time.monotonic()
        self.journal.write("phase_started", name=name, measured=measured)
        try:
            yield info
        except BaseException as exc:
            self.journal.write("phase", name=name, started_at=start, finished_at=self.journal.now()[0],
                               measured=measured, status="failed", detail=f"{type(exc).__name__}: {exc}"[:300], **info)
            raise
        end = self.journal.now()[0]
        self.journal.write("phase", name=name, started_at=start, finished_at=end, measured=measured, status="ok",
                           detail=detail, **info)
        self.results.spans[name] = (start, end)
        if measured:
            self.results.phases[name] = round(end - start, 6)

    def close(self, status: str = "finished") -> None:
        if self.closed:
            return
        self.closed = True
        self.notifier.stop_progress()
        try:
            if self.traffic is not None:
                self.traffic.stop()
            self._journal_messages()
        finally:
            try:
                self.target.close()
            finally:
                self.journal.write("drill_finished", durable=True, status=status)
                self.journal.close()
                self.calls.close()

    def _journal_messages(self) -> None:
        """The messages of the policy's channels during the drill, for the report (where readable)."""
        from drill.ops import slack

        for channel in sorted(set(self.cfg.communication.channels.values())):
            try:
                msgs = slack.history(self.target, channel, self.started_at)
            except Exception:
                return
            for m in msgs or []:
                self.journal.write("slack_message", at=float(m["ts"]), channel=channel, text=str(m.get("text"))[:500])
