"""A long-running process's heap given back to the system (glibc only; a no-op elsewhere).

glibc gives each thread that allocates an arena of its own (up to 8 a core) and keeps what is freed
in it for that arena's next allocation. A process whose threads come and go through a drill (the
canary writers, the probes of a region that stopped answering, a replica's copy) steps up by
megabytes each time, and never down: its resident size follows its busiest moment, not what it
holds. Two arenas and a ``malloc_trim`` every half minute make it follow what it holds.
CPython's own small-object arenas are freed when empty and are not affected."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
import time
from typing import Any

M_ARENA_MAX = -8  # mallopt's parameter (malloc.h)
_started: list[threading.Thread] = []


@functools.cache
def _libc() -> Any:
    """glibc, when this process runs on it: both functions present, or neither is used."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(count: int = 2) -> bool:
    """Call before the process starts its threads (arenas made before stay). False: not glibc."""
    libc = _libc()
    return libc is not None and bool(libc.mallopt(M_ARENA_MAX, count))


def trim() -> bool:
    """Give the freed memory at the top and the free pages inside every arena back now.

    True when glibc released something; False when there was nothing to release, or not glibc."""
    libc = _libc()
    return libc is not None and bool(libc.malloc_trim(0))


def trim_every(interval_s: float = 30.0) -> None:
    """A daemon thread that trims every ``interval_s`` for the life of the process (one at most)."""
    if _started or _libc() is None:
        return

    def loop() -> None:
        while True:
            time.sleep(interval_s)
            trim()

    thread = threading.Thread(target=loop, name="malloc-trim", daemon=True)
    _started.append(thread)
    thread.start()
