"""Stop conditions: a watchdog that ends a drill early (time budget, failed user requests,
CloudWatch alarms in ALARM). When one trips, it is journaled durably and the drill's main thread
is interrupted, so the same path as Ctrl-C runs: faults undone, target restored, report written
(verdict "stopped")."""

from __future__ import annotations

import _thread
import threading
import time
from typing import TYPE_CHECKING, Any

from drill.ops.cloudwatch import in_alarm
from drill.traffic.locust import LogReader, fields

if TYPE_CHECKING:
    from drill.engine.drill import Drill


class Watchdog:
    def __init__(self, drill: Drill):
        self.drill = drill
        self.cfg = drill.cfg.stop
        self.tripped: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._reader: LogReader | None = None
        self._failed = 0
        self.thread = threading.Thread(target=self._run, name="stop-conditions", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def failed_requests(self) -> int:
        load = getattr(self.drill.traffic, "load", None)
        if load is not None and (self._reader is None or self._reader.path != load.log_path):
            self._reader = LogReader(load.log_path)
        if self._reader is not None:
            self._failed += sum(1 for line in self._reader.lines() if (f := fields(line)) is not None and not f[6])
        return self._failed

    def check(self) -> dict[str, Any] | None:
        elapsed = time.monotonic() - self._start
        if elapsed > self.cfg.time_budget_s:
            return {"condition": "time_budget", "detail": f"drill ran {elapsed:.0f} s, budget {self.cfg.time_budget_s:g} s"}
        failed = self.failed_requests()
        if failed > self.cfg.max_failed_requests:
            return {"condition": "failed_requests",
                    "detail": f"{failed} user requests failed, budget {self.cfg.max_failed_requests}"}
        if self.cfg.alarms:
            alarmed = in_alarm(self.drill.target, self.cfg.alarms)
            if alarmed:
                return {"condition": "alarm", "detail": f"{', '.join(alarmed)} in ALARM"}
        return None

    def _run(self) -> None:
        while not self._stop.wait(self.cfg.check_interval_s):
            try:
                tripped = self.check()
            except Exception:
                continue
            if tripped is not None and not self.drill.closed:
                self.tripped = tripped
                self.drill.journal.write("stop_condition", durable=True, **tripped)
                _thread.interrupt_main()
                return
