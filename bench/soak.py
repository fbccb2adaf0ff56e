"""A long drill that must stay flat: a quarterly drill on the policy's clocks scaled by a factor
(`drill run --time-scale 0.1`: 2 min to declare, 3 min of stability, well over 10 minutes), with
the peak RSS, open files and threads of every process of the harness and the twin sampled every
interval and printed per minute, then the growth of each from the 2nd to the last minute
(target: under 10 %).

Usage: python bench/soak.py [--time-scale 0.1] [--interval 5] [--cadence quarterly]
Uses the twin in DRILL_RUNTIME_DIR if one runs, else starts one (and stops it after).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox.client import attach  # noqa: E402


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            out += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return out


def _tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in seen and Path(f"/proc/{p}").exists():
            seen.append(p)
            todo += _children(p)
    return seen


def _sample(pid: int) -> tuple[str, int, int, int] | None:
    """(name, RSS kB, open files, threads) of one process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    words = [c.decode(errors="replace") for c in cmd if c]
    name = next((w for w in words if w.startswith(("drill", "sandbox.", "locust")) or "mariadbd" in w),
                os.path.basename(words[0]) if words else "?")
    if any("locustfile" in w for w in words):
        name = "locust " + ("worker" if "--worker" in words else "master")
    return name, int(fields.get("VmRSS", "0 kB").split()[0]), fds, int(fields.get("Threads", "1").strip())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-scale", type=float, default=0.1)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--cadence", default="quarterly")
    args = ap.parse_args()
    started_twin = attach() is None
    if started_twin:
        subprocess.run([sys.executable, "-m", "drill", "sandbox", "up"], cwd=REPO, check=True)
    twin = attach()
    assert twin is not None
    reports = tempfile.mkdtemp(prefix="soak-")
    proc = subprocess.Popen([sys.executable, "-m", "drill", "run", "--cadence", args.cadence, "--time-scale",
                             f"{args.time_scale:g}", "--reports", reports], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    t0 = time.monotonic()
    minutes: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    try:
        while proc.poll() is None:
            minute = int((time.monotonic() - t0) // 60)
            for pid in _tree(proc.pid) + _tree(int(twin.state["pid"])):
                s = _sample(pid)
                if s is None:
                    continue
                peak = minutes[minute][s[0]]
                peak[0], peak[1], peak[2] = max(peak[0], s[1]), max(peak[1], s[2]), max(peak[2], s[3])
            time.sleep(args.interval)
        out = proc.stdout.read() if proc.stdout else ""
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
        if started_twin:
            subprocess.run([sys.executable, "-m", "drill", "sandbox", "down"], cwd=REPO)
    print(out.strip().splitlines()[0] if out.strip() else f"drill run exited {proc.returncode}")
    print(f"{'minute':>6}  {'process':28} {'peak RSS MB':>11} {'files':>6} {'threads':>7}")
    for minute in sorted(minutes):
        for name, (rss, fds, threads) in sorted(minutes[minute].items()):
            print(f"{minute:>6}  {name:28} {rss / 1024:11.1f} {fds:6} {threads:7}")
    last = max(minutes)
    if last < 2:
        print("too short to judge growth (needs 3 minutes at least)")
        return 1
    worst = 0.0
    print(f"growth from minute 1 to minute {last} (target: under 10 %):")
    for name, first in sorted(minutes[1].items()):
        end = minutes[last].get(name)
        if end is None:
            continue
        growth = [(e - f) / f * 100 if f else 0.0 for f, e in zip(first, end, strict=True)]
        worst = max(worst, *growth)
        print(f"  {name:28} RSS {growth[0]:+6.1f} %  files {growth[1]:+6.1f} %  threads {growth[2]:+6.1f} %")
    print(f"worst growth {worst:.1f} %: {'flat' if worst < 10 else 'NOT flat'}; run took {time.monotonic() - t0:.0f} s")
    return 0 if worst < 10 and proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
