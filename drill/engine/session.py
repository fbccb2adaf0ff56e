"""The life of a drill that changes a target (``drill run``, ``drill fault``), in one context
manager: the lease on the target, the signal handlers (the one place they are installed: SIGINT,
SIGTERM and SIGHUP, a dropped SSH session, all interrupt the drill), the stop-condition watchdog,
the live view, and on the way out, whatever happened, the restore with every signal held from
its first moment, the close and the lease's release."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from drill.engine.failback import runbook_state
from drill.engine.lock import Lease
from drill.engine.restore import restore
from drill.engine.watchdog import Watchdog

if TYPE_CHECKING:
    from drill.engine.drill import Drill

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def held_signals(received: list[int] | None = None) -> Iterator[None]:
    """While rollback runs, signals are noted, not obeyed (a second Ctrl-C must not skip the restore)."""
    def note(signum: int, frame: FrameType | None) -> None:
        if received is not None:
            received.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Session:
    def __init__(self, drill: Drill, progress: Any = None, watch: bool = True, lock: bool = True,
                 confirm: str | None = None, keep_progress: bool = False):
        self.drill = drill
        self.keep_progress = keep_progress  # the caller stops the status itself (after its reports)
        self.confirm = confirm  # repeated in the command that returns runbook changes left in place
        self.progress = progress
        self.watchdog = Watchdog(drill) if watch else None
        self.lease = Lease(drill.target, drill.journal, drill.drill_id) if lock else None
        self.signalled: list[int] = []
        self.restore_result: dict[str, Any] | None = None
        self.remaining: list[str] = []  # runbook changes still in place after the restore
        self._previous: dict[int, Any] = {}

    def command(self) -> str:
        """The one command that returns the runbook changes left in place."""
        return self.drill.loaded.command("failback", self.drill.target.name, self.confirm)

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        self.signalled.append(signum)
        self.drill.halted = True
        raise KeyboardInterrupt(f"signal {signum}")

    def __enter__(self) -> Session:
        if self.lease is not None:
            self.lease.acquire()
        self._previous = {sig: signal.signal(sig, self._interrupt) for sig in SIGNALS}
        if self.watchdog is not None:
            self.watchdog.start()
        if self.progress is not None:
            self.progress.start()
        return self

    @property
    def stopped_by(self) -> dict[str, Any] | None:
        return self.watchdog.tripped if self.watchdog is not None else None

    def status(self, exc: BaseException | None) -> str:
        if self.stopped_by:
            return "stopped"
        if self.signalled or isinstance(exc, KeyboardInterrupt):
            return "interrupted"
        return "failed" if exc is not None else "finished"

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with held_signals(self.signalled):
            try:
                if self.watchdog is not None:
                    self.watchdog.stop()
                if self.progress is not None:  # the status stays up while the drill restores and closes
                    self.drill.current_scenario = self.drill.current_step = None
                    self.drill.current_phase, self.drill.phase_started = "restore", time.monotonic()
                    self.progress.stage = "restoring the target and closing the drill"
                if self.stopped_by or isinstance(exc, KeyboardInterrupt):
                    self.drill.halted = True
                if self.drill.faults.active or "fault" in self.drill.marks or self.drill.traffic is not None:
                    try:
                        self.restore_result = restore(self.drill)
                    except Exception as err:
                        self.drill.journal.write("restore_failed", durable=True, error=f"{type(err).__name__}: {err}"[:300])
                        self.restore_result = {"ok": False, "error": str(err)[:300]}
                with contextlib.suppress(Exception):
                    self.remaining = runbook_state(self.drill.target).remaining()
                if self.remaining:
                    self.drill.journal.write("runbook_left", durable=True, remaining=self.remaining,
                                             command=self.command())
            finally:
                try:
                    if self.lease is not None:
                        self.lease.release()
                finally:
                    if self.progress is not None:
                        self.progress.stage = "closing the drill (stopping what it started)"
                    try:
                        self.drill.close(self.status(exc))
                    finally:
                        for sig, handler in self._previous.items():
                            signal.signal(sig, handler)
                        if self.progress is not None and not self.keep_progress:
                            self.progress.stop()
