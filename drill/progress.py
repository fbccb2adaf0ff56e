"""A one-line live status on the terminal while a drill runs: the current phase, the time since
the fault against the RTO budget, and the live error rate of user traffic. Quiet when stderr is
not a terminal (CI, pipes)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from drill.engine import Drill


class Progress:
    def __init__(self, drill: Drill, stream: TextIO | None = None, force: bool = False):
        self.drill = drill
        self.stream: TextIO = stream or sys.stderr
        self.enabled = force or bool(getattr(self.stream, "isatty", lambda: False)())
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def start(self) -> None:
        if self.enabled:
            self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.enabled and self.thread.is_alive():
            self.thread.join(2)
            self.stream.write("\r\033[K")
            self.stream.flush()

    def line(self) -> str:
        d = self.drill
        parts = [f"phase {d.current_phase}"]
        fault = d.marks.get("fault")
        if fault is not None:
            budget = d.cfg.budgets.rto_s
            parts.append(f"{time.time() - fault:.0f} s since fault (RTO budget {budget:.0f} s, "
                         f"policy waits shortened to {d.cfg.declaration.outage_s:g} s)")
        if d.load is not None:
            now = time.time()
            recent = [r for r in d.load.records() if now - 5 <= r.t <= now]
            if recent:
                failed = sum(1 for r in recent if not r.ok)
                parts.append(f"errors {failed / len(recent):.0%} of {len(recent) / 5:.0f} req/s")
        return "drill " + " | ".join(parts)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                text = self.line()
            except Exception:
                continue
            self.stream.write("\r\033[K" + text[:200])
            self.stream.flush()
