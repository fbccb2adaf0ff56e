"""Start-up time of the twin, per part, on this machine; and what `down` leaves behind.
Target: healthy under 20 s wall (`drill sandbox up` as a user runs it); `down` leaves no process,
no listening port and no runtime directory.

Usage: python bench/sandbox_start.py [--runs N] [--address-block 127.90]
Runs the user path, `python -m drill sandbox up` then `python -m drill sandbox down`, in the runtime
directory DRILL_RUNTIME_DIR names (it must hold no running twin), else in a fresh private one per run.
Prints: the wall time of `up`; each part's start-up time as the supervisor recorded it in its state
(``timings``: mysql starts in a thread beside aws, kubernetes and the rest, so parts overlap;
``total`` is the supervisor's own start to healthy); the wall time of `down`; then what is left:
processes whose command line names the runtime directory, the twin's ports still bound (its AWS
endpoint, control API, Slack, DNS and each load balancer's address), and the directory itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.client import attach, port_taken, read_state  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def drill_cli(*args: str) -> float:
    """Run ``python -m drill ARGS`` as a user would; its wall time."""
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "drill", *args], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def processes_naming(marker: str) -> list[str]:
    """Every process whose command line contains ``marker`` (the runtime directory)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(marker in a for a in argv):
            out.append(f"{entry.name} {' '.join(argv)[:100]}")
    return out


def endpoints(state: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    """(name, host, port, socket type) of every address the twin listens on, from its state."""
    out: list[tuple[str, str, int, int]] = []
    for key in ("aws_endpoint", "control_url", "slack_api"):
        if state.get(key):
            u = urlsplit(state[key])
            out.append((key, u.hostname or "", int(u.port or 80), socket.SOCK_STREAM))
    if state.get("resolver"):
        host, _, port = state["resolver"].rpartition(":")
        out.append(("dns", host, int(port), socket.SOCK_DGRAM))
    for name, ip in (state.get("addresses") or {}).items():
        out.append((f"load balancer {name}", ip, int(state.get("endpoints_port") or 0), socket.SOCK_STREAM))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--address-block", default=None, help="sandbox.address_block for the twin (e.g. 127.90)")
    args = ap.parse_args()
    given = os.environ.get("DRILL_RUNTIME_DIR")
    if given and attach() is not None:
        raise SystemExit(f"a twin already runs in {given}: stop it first (python -m drill sandbox down)")
    extra = ["--set", f"sandbox.address_block='{args.address_block}'"] if args.address_block else []
    walls = []
    for run in range(1, args.runs + 1):
        rundir = Path(given) if given else Path(tempfile.mkdtemp(prefix="drill-bench-")) / "run"
        scratch = None if given else rundir.parent
        os.environ["DRILL_RUNTIME_DIR"] = str(rundir)
        try:
            wall = drill_cli("sandbox", "up", *extra)
            walls.append(wall)
            state = read_state() or {}
            print(f"run {run}: `drill sandbox up` healthy in {wall:.2f} s wall "
                  f"({'ok' if wall < 20 else 'over'} the 20 s target); parts, as the supervisor timed them:")
            for part, secs in (state.get("timings") or {}).items():
                print(f"  {part:12} {secs:7.3f} s")
            print(f"  load balancers at {', '.join(sorted((state.get('addresses') or {}).values()))}")
            running = processes_naming(str(rundir))
            listening = [e for e in endpoints(state) if port_taken(*e[1:])]
        finally:
            down = drill_cli("sandbox", "down")
        time.sleep(0.5)  # let the kernel reap what was signalled
        left = processes_naming(str(rundir))
        still = [f"{name} {host}:{port}" for name, host, port, kind in listening if port_taken(host, port, kind)]
        print(f"run {run}: `drill sandbox down` in {down:.2f} s; before: {len(running)} processes, {len(listening)} "
              f"addresses listening; left: {len(left)} processes, {len(still)} addresses bound, runtime dir "
              f"{'LEFT' if rundir.exists() else 'removed'}")
        for line in left + still:
            print(f"  left: {line}")
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if len(walls) > 1:
        print(f"up: median {sorted(walls)[len(walls) // 2]:.2f} s over {len(walls)} runs")


if __name__ == "__main__":
    main()
