"""What the operator sees while a drill runs, from the first second to the last: the stage (the
scenarios being collected, the twin's start-up parts as they finish), the scenario and step
running, the phase with its elapsed time against its section-4 budget, what is being waited on
and its deadline, the live request and error rate split by serving region, and each store's
canary writes (acknowledged, and how long since the last acknowledgement).

On a terminal: a status panel (rich's Live) that keeps its place while pytest's output goes to
the drill's folder. Elsewhere (CI, pipes): plain timestamped lines at an interval.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, TextIO

from drill.core.waits import ACTIVE
from drill.traffic.locust import LogReader, fields

if TYPE_CHECKING:
    from drill.engine.drill import Drill


class Progress:
    def __init__(self, drill: Drill | None = None, stream: TextIO | None = None, interval_s: float = 1.0,
                 plain_every_s: float = 10.0, stage: str = "starting"):
        self.drill = drill
        # its own copy of the terminal's stderr: pytest captures fd 2 while a scenario runs
        self.stream: TextIO = stream or _own_stderr()
        self._own = stream is None
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s if self.tty else plain_every_s
        self.stage = stage
        self.startup: dict[str, float] = {}
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._reader: LogReader | None = None
        self._recent: list[tuple[float, bool, str]] = []
        self._live: Any = None
        self._failed = False
        # plain lines are held until the target is reached: an error found before (bad input, a
        # guardrail) then stands alone on stderr, as one line
        self._holding = not self.tty
        self._held: list[str] = []
        self.thread = threading.Thread(target=self._run, name="progress", daemon=True)

    # ---------------------------------------------------------------- what the engine tells it

    def attach(self, drill: Drill) -> None:
        self.drill, self.stage = drill, "running"
        self.release()

    def startup_step(self, timings: dict[str, float]) -> None:
        self.stage, self.startup = "starting the twin", dict(timings)
        self.release()

    def release(self) -> None:
        """The held plain lines out, and every later one as it comes."""
        if self._holding:
            self._holding = False
            held, self._held = self._held, []
            for text in held:
                self._emit(text)

    def start(self) -> None:
        if self.thread.is_alive() or self._stop.is_set():
            return
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self.panel(), console=Console(file=self.stream), refresh_per_second=4, transient=True)
            self._live.start()
        else:
            self._write_line()
        self.thread.start()

    def stop(self, discard: bool = False) -> None:
        """``discard``: the run ended before reaching its target (an error says why): held lines go."""
        if self._stop.is_set():
            return
        self._stop.set()
        if discard:
            self._held.clear()
        if self.thread.is_alive():
            self.thread.join(2)
            if self._live is None and not (discard and self._holding):  # the plain form's last line
                self._write_line()
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self.stream is not sys.stderr and self.stream is not sys.__stderr__ and self._own:
            self.stream.close()

    # ---------------------------------------------------------------- what it shows

    def _traffic(self) -> dict[str, Any] | None:
        load = getattr(self.drill.traffic, "load", None) if self.drill is not None else None
        if load is None:
            return None
        if self._reader is None or self._reader.path != load.log_path:
            self._reader = LogReader(load.log_path)
        now = time.time()
        self._recent += [(f[0], f[6], f[5]) for line in self._reader.lines() if (f := fields(line)) is not None]
        self._recent = [x for x in self._recent if x[0] >= now - 6]
        window = [x for x in self._recent if now - 5 <= x[0] <= now]
        regions: dict[str, int] = {}
        for _, ok, region in window:
            if ok:
                regions[region or "?"] = regions.get(region or "?", 0) + 1
        return {"rps": len(window) / 5, "errors": (sum(1 for x in window if not x[1]) / len(window)) if window else 0.0,
                "regions": {r: n / 5 for r, n in sorted(regions.items())}}

    def _canaries(self) -> dict[str, tuple[int, float | None]]:
        traffic = self.drill.traffic if self.drill is not None else None
        out = {}
        for name, w in (getattr(traffic, "writers", None) or {}).items():
            last = w.writes.last_ack
            out[name] = (w.writes.ok, time.time() - last if last else None)
        return out

    def state(self) -> dict[str, Any]:
        """Everything the panel and the plain line show."""
        d = self.drill
        out: dict[str, Any] = {"stage": self.stage, "elapsed_s": time.monotonic() - self.started,
                               "startup": self.startup}
        waits = sorted(ACTIVE.values(), key=lambda w: w[1])
        if waits:
            out["wait"] = (waits[0][0], max(0.0, waits[0][1] - time.monotonic()))
        if d is None:
            return out
        out.update(drill=d.drill_id, target=d.target.name, cadence=d.cadence, scenario=d.current_scenario,
                   step=d.current_step, phase=d.current_phase,
                   phase_s=time.monotonic() - d.phase_started if d.phase_started else None,
                   phase_budget=next((b.budget_s for b in d.cfg.budgets.rto_phases if b.name == d.current_phase),
                                     None))
        fault = d.marks.get("fault")
        if fault is not None:
            out["since_fault_s"], out["rto_budget_s"] = time.time() - fault, d.cfg.budgets.rto_s
        out["traffic"], out["canaries"] = self._traffic(), self._canaries()
        return out

    def line(self) -> str:
        s = self.state()
        if "drill" not in s:
            done = ", ".join(f"{k} {v:.1f} s" for k, v in s["startup"].items())
            return f"drill: {s['stage']}" + (f" ({done})" if done else "") + _wait(s)
        parts = [f"{s['scenario'] or '-'}", f"phase {s['phase']}" + (
            f" {s['phase_s']:.0f} s" + (f"/{s['phase_budget']:.0f} s" if s["phase_budget"] else "")
            if s["phase_s"] is not None else "")]
        if "since_fault_s" in s:
            parts.append(f"{s['since_fault_s']:.0f} s since the fault (RTO budget {s['rto_budget_s']:.0f} s)")
        t = s["traffic"]
        if t:
            split = ", ".join(f"{r} {n:.0f}/s" for r, n in t["regions"].items())
            parts.append(f"{t['rps']:.0f} req/s, errors {t['errors']:.0%} ({split})")
        if s["canaries"]:
            parts.append("canaries " + ", ".join(
                f"{k} {n}" + (f" (last ack {lag:.1f} s ago)" if lag is not None else "") for k, (n, lag) in
                s["canaries"].items()))
        return f"drill {s['drill']}: " + " | ".join(parts) + _wait(s)

    def panel(self) -> Any:
        from rich.table import Table

        s = self.state()
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("drill", f"{s.get('drill', '-')}  {s.get('target', '')} {s.get('cadence', '')}  "
                               f"{s['elapsed_s']:.0f} s")
        table.add_row("stage", s["stage"] + ("  " + ", ".join(f"{k} {v:.1f} s" for k, v in s["startup"].items())
                                             if s["startup"] and "drill" not in s else ""))
        if "drill" in s:
            table.add_row("scenario", str(s["scenario"] or "-"))
            table.add_row("step", str(s["step"] or "-"))
            budget = f" of {s['phase_budget']:.0f} s (section 4)" if s["phase_budget"] else ""
            table.add_row("phase", f"{s['phase']}" + (f"  {s['phase_s']:.0f} s{budget}" if s["phase_s"] else ""))
            if "since_fault_s" in s:
                table.add_row("since fault", f"{s['since_fault_s']:.0f} s (RTO budget {s['rto_budget_s']:.0f} s)")
            t = s["traffic"]
            if t:
                table.add_row("requests", f"{t['rps']:.0f}/s, errors {t['errors']:.1%}; by region: " + (
                    ", ".join(f"{r} {n:.0f}/s" for r, n in t["regions"].items()) or "none"))
            for store, (n, lag) in s["canaries"].items():
                table.add_row(f"canary {store}", f"{n} acknowledged" + (f", last {lag:.1f} s ago" if lag else ""))
        if "wait" in s:
            table.add_row("waiting for", f"{s['wait'][0]} (deadline in {s['wait'][1]:.0f} s)")
        return table

    def _write_line(self) -> None:
        text = time.strftime("%H:%M:%S ") + self.line()
        if self._holding:
            self._held.append(text)
        else:
            self._emit(text)

    def _emit(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if self._live is not None:
                    self._live.update(self.panel())
                else:
                    self._write_line()
            except Exception as exc:  # a status that cannot be drawn says why, once, and the drill goes on
                if not self._failed:
                    self._failed = True
                    self._emit(time.strftime("%H:%M:%S ") + f"drill: status unavailable: {type(exc).__name__}")


def _own_stderr() -> TextIO:
    try:
        sys.stderr.flush()
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8", errors="replace")
    except (OSError, ValueError, AttributeError):  # no real stderr (embedded): the object itself
        return sys.stderr


def _wait(s: dict[str, Any]) -> str:
    return f" | waiting for {s['wait'][0]} ({s['wait'][1]:.0f} s left)" if "wait" in s else ""
