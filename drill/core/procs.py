"""Processes the harness started: found alive, and signalled only when their command line is the
program expected (a pid file or a journal may name a pid that now belongs to something else)."""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def signal_if(pid: int, expected: tuple[str, ...], sig: int) -> bool:
    """Signal ``pid`` only if its command line contains every word of ``expected``."""
    if pid <= 1 or not pid_alive(pid):
        return False
    argv = cmdline(pid)
    if not all(any(word in arg for arg in argv) for word in expected):
        return False
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True
