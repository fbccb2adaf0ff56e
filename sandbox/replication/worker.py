"""The shape every replication worker shares: changes are queued as they happen, delivered
``delay_s`` after they were first seen, in order, held while paused (as a whole, or for one
source: a table or bucket, as AWS FIS pauses them) and delivered when resumed."""

from __future__ import annotations

import collections
import threading
import time
from typing import Any


class Worker:
    def __init__(self, name: str, delay_s: float, poll_s: float):
        self.name = name
        self.delay_s = delay_s
        self.poll_s = poll_s
        self.paused = False  # the twin-only knob: everything held
        self.paused_sources: set[str] = set()  # held sources (FIS pause actions)
        self.external = ""  # set when something else (LocalStack) replicates and this worker is idle
        self.applied = 0
        self.errors = 0
        self.last_error = ""
        self._queue: collections.deque[tuple[float, Any]] = collections.deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"repl-{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def enqueue(self, item: Any) -> None:
        with self._lock:
            self._queue.append((time.monotonic(), item))

    def pending(self) -> int:
        return len(self._queue)

    def source(self, item: Any) -> str:
        """The source an item comes from, as ``paused_sources`` names it."""
        raise NotImplementedError

    def apply_many(self, items: list[Any]) -> int:
        """Apply in order; return how many were applied (the rest stay queued)."""
        raise NotImplementedError

    def poll(self) -> None:
        """Find new configuration or changes."""

    def _next_wait(self) -> float:
        with self._lock:
            if not self._queue or self.paused:
                return self.poll_s
            due = self._queue[0][0] + self.delay_s - time.monotonic()
        return max(0.002, min(self.poll_s, due))

    def _run(self) -> None:
        while not self._stop.wait(self._next_wait()):
            try:
                self.poll()
            except Exception as exc:
                self.fail(exc)
            self._drain()

    def fail(self, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:200]

    def _drain(self) -> None:
        ready: list[tuple[float, Any]] = []
        held: list[tuple[float, Any]] = []
        while True:
            with self._lock:
                if not self._queue or self.paused:
                    break
                seen, item = self._queue[0]
                if time.monotonic() < seen + self.delay_s:
                    break
                self._queue.popleft()
            (held if self.source(item) in self.paused_sources else ready).append((seen, item))
        if ready:
            applied = self.apply_many([item for _, item in ready])
            self.applied += applied
            held = ready[applied:] + held
        if held:
            with self._lock:
                self._queue.extendleft(reversed(sorted(held, key=lambda x: x[0])))

    def status(self) -> dict[str, Any]:
        if self.external:
            return {"replicated_by": self.external}
        return {"delay_s": self.delay_s, "paused": self.paused, "paused_sources": sorted(self.paused_sources),
                "pending": self.pending(), "applied": self.applied, "errors": self.errors,
                "last_error": self.last_error}
