"""Start-up time of the sandbox twin, per part, on this machine (target: healthy under 20 s).

Usage: python bench/sandbox_start.py [--runs N]
Prints one line per part and run, the wall time of `up` as a user sees it, and what `down`
left behind (processes, runtime directory).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drill.config import load_config  # noqa: E402
from sandbox import lifecycle  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    loaded = load_config(profile="sandbox")
    for run in range(1, args.runs + 1):
        rundir = Path(tempfile.mkdtemp(prefix="drill-bench-")) / "run"
        os.environ["DRILL_RUNTIME_DIR"] = str(rundir)
        start = time.monotonic()
        state, _ = lifecycle.up(loaded)
        wall = time.monotonic() - start
        print(f"run {run}: up (healthy) in {wall:.2f} s wall")
        for part, secs in state["timings"].items():
            print(f"  {part:12} {secs:7.3f} s")
        start = time.monotonic()
        lifecycle.down()
        print(f"run {run}: down in {time.monotonic() - start:.2f} s; runtime dir left: {rundir.exists()}; "
              f"mariadbd left: {_leftovers(str(rundir))}")
        rundir.parent.rmdir()


def _leftovers(marker: str) -> int:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if marker in line and "mariadbd" in line)


if __name__ == "__main__":
    main()
