"""Every wait has a deadline: polling helpers that raise ``DeadlineExceeded`` with what was awaited."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from drill.core.errors import DeadlineExceeded

T = TypeVar("T")
# what each thread is waiting for, and its deadline (monotonic): the live view shows it
ACTIVE: dict[int, tuple[str, float]] = {}


def wait_until(predicate: Callable[[], object], deadline_s: float, what: str, interval_s: float = 0.1) -> float:
    """Poll ``predicate`` until it is true; raise DeadlineExceeded after ``deadline_s``. Returns the wait.
    A predicate that raises counts as false (a probe may fail while the system changes); the last
    error is named when the deadline passes."""
    start = time.monotonic()
    last_exc: Exception | None = None
    ACTIVE[threading.get_ident()] = (what, start + deadline_s)
    try:
        while True:
            try:
                if predicate():
                    return time.monotonic() - start
            except Exception as exc:
                last_exc = exc
            if time.monotonic() - start >= deadline_s:
                extra = f" (last error: {type(last_exc).__name__}: {str(last_exc)[:200]})" if last_exc else ""
                raise DeadlineExceeded(f"{what}: not reached within {deadline_s:.0f} s{extra}")
            time.sleep(interval_s)
    finally:
        ACTIVE.pop(threading.get_ident(), None)


def wait_value(read: Callable[[], T], accept: Callable[[T], bool], deadline_s: float, what: str,
               interval_s: float = 0.1) -> T:
    """Poll ``read`` until ``accept`` holds for its value; return that value (deadline as wait_until)."""
    box: list[T] = []

    def ok() -> bool:
        value = read()
        if accept(value):
            box.append(value)
            return True
        return False

    wait_until(ok, deadline_s, what, interval_s)
    return box[0]


def wait_transition(read: Callable[[], str], target: str, deadline_s: float, what: str,
                    interval_s: float = 0.2, change_s: float | None = None) -> list[str]:
    """Wait for a status to leave its current value and then reach ``target`` (a waiter that
    starts only after the status changed, so a stale "available" is not taken for done).
    ``change_s`` bounds the wait for the first change (default: the whole deadline); a status
    already at ``target`` that never changes within it counts as done. Returns the statuses seen."""
    start = time.monotonic()
    first = read()
    seen = [first]
    limit = start + (change_s if change_s is not None else deadline_s)
    while True:
        now = time.monotonic()
        status = read()
        if status != seen[-1]:
            seen.append(status)
        if len(seen) > 1 and status == target:
            return seen
        if len(seen) == 1 and first == target and now >= limit:
            return seen
        if now - start >= deadline_s:
            raise DeadlineExceeded(f"{what}: {target!r} not reached within {deadline_s:.0f} s (seen {seen})")
        time.sleep(interval_s)
