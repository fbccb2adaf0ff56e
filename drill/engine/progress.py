"""What the operator sees while a drill runs: the phase, the time since the fault against the RTO
budget, the live request and error rate split by serving region. On a terminal a status line that
keeps its place; elsewhere (CI, pipes) plain timestamped lines at an interval."""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from drill.traffic.locust import LogReader, parse

if TYPE_CHECKING:
    from drill.engine.drill import Drill


class Progress:
    def __init__(self, drill: Drill, stream: TextIO | None = None, interval_s: float = 1.0, plain_every_s: float = 10.0):
        self.drill = drill
        self.stream: TextIO = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s if self.tty else plain_every_s
        self._stop = threading.Event()
        self._reader: LogReader | None = None
        self._recent: list[tuple[float, bool, str]] = []
        self.thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(2)
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _traffic(self) -> str:
        load = getattr(self.drill.traffic, "load", None)
        if load is None:
            return ""
        if self._reader is None or self._reader.path != load.log_path:
            self._reader = LogReader(load.log_path)
        now = time.time()
        self._recent += [(r.t, r.ok, r.region) for line in self._reader.lines() if (r := parse(line)) is not None]
        self._recent = [x for x in self._recent if x[0] >= now - 6]
        window = [x for x in self._recent if now - 5 <= x[0] <= now]
        if not window:
            return "no requests"
        failed = sum(1 for x in window if not x[1])
        regions: dict[str, int] = {}
        for _, ok, region in window:
            if ok:
                regions[region or "?"] = regions.get(region or "?", 0) + 1
        split = ", ".join(f"{r} {n / 5:.0f}/s" for r, n in sorted(regions.items()))
        return f"{len(window) / 5:.0f} req/s, errors {failed / len(window):.0%} ({split})"

    def line(self) -> str:
        d = self.drill
        parts = [f"phase {d.current_phase}"]
        fault = d.marks.get("fault")
        if fault is not None:
            parts.append(f"{time.time() - fault:.0f} s since the fault (RTO budget {d.cfg.budgets.rto_s:.0f} s)")
        traffic = self._traffic()
        if traffic:
            parts.append(traffic)
        return f"drill {d.drill_id}: " + " | ".join(parts)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                text = self.line()
            except Exception:
                continue
            if self.tty:
                self.stream.write("\r\033[K" + text[:200])
            else:
                self.stream.write(time.strftime("%H:%M:%S ") + text + "\n")
            self.stream.flush()
