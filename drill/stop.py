"""Stop conditions: a watchdog that ends a drill early (time budget, failed requests, alarms).

When one trips, it is journaled durably and the drill's main thread is interrupted, so the
same path as Ctrl-C runs: faults undone, target restored, report written (verdict "stopped").
"""

from __future__ import annotations

import _thread
import threading
import time
from typing import Any

from drill.engine import Drill


class Watchdog:
    def __init__(self, drill: Drill):
        self.drill = drill
        self.cfg = drill.cfg.stop
        self.tripped: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._start = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="stop-conditions", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> dict[str, Any] | None:
        elapsed = time.monotonic() - self._start
        if elapsed > self.cfg.time_budget_s:
            return {"condition": "time_budget", "detail": f"drill ran {elapsed:.0f} s, budget {self.cfg.time_budget_s:g} s"}
        load = self.drill.load
        if load is not None:
            failed = sum(1 for r in load.records() if not r.ok)
            if failed > self.cfg.max_failed_requests:
                return {"condition": "failed_requests",
                        "detail": f"{failed} user requests failed, budget {self.cfg.max_failed_requests}"}
        if self.cfg.alarms:
            for region in (self.drill.cfg.regions.primary.name, self.drill.cfg.regions.dr.name):
                try:
                    cw = self.drill.target.client("cloudwatch", region, journaled=False)
                    alarms = [a for a in cw.describe_alarms(AlarmNames=self.cfg.alarms)["MetricAlarms"]
                              if a.get("StateValue") == "ALARM"]
                except Exception:
                    continue  # a region in outage cannot answer; that is not an alarm
                if alarms:
                    names = ", ".join(a["AlarmName"] for a in alarms)
                    return {"condition": "alarm", "detail": f"{names} in ALARM in {region}"}
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
