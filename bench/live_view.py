"""The live view as an operator sees it: `drill run` in a real terminal (tmux), the pane captured
every few seconds from the first second to the last; prints every capture's status panel (the
first lines) and whether each was non-empty.

Usage: python bench/live_view.py [--cadence quarterly] [--every 3]
Uses the twin in DRILL_RUNTIME_DIR if one runs (else `drill run` starts one: its start-up shows).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def capture(session: str) -> str:
    res = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True)
    return res.stdout


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cadence", default="quarterly")
    ap.add_argument("--every", type=float, default=3.0)
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed")
        return 2
    session = f"drill-live-{int(time.time())}"
    reports = tempfile.mkdtemp(prefix="live-")
    done = Path(reports) / "exit-code"
    cmd = (f"cd {REPO} && {sys.executable} -m drill run --cadence {args.cadence} --reports {reports}; "
           f"echo $? > {done}")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "30", cmd], check=True)
    t0, captures = time.monotonic(), []
    try:
        while not done.exists():
            text = capture(session)
            captures.append((time.monotonic() - t0, text))
            time.sleep(args.every)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    empty, first = 0, None
    for at, text in captures:
        lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
        if lines and first is None:
            first = at
        empty += first is not None and not lines  # a blank screen once the drill has shown something
        print(f"--- {at:6.1f} s: {len(lines)} lines")
        print("\n".join(lines[:12]) or "(empty)")
    print(f"{len(captures)} captures over {time.monotonic() - t0:.0f} s; first status at "
          f"{first if first is not None else float('nan'):.1f} s after the command was typed; empty after it: "
          f"{empty}; drill exit {done.read_text().strip()}")
    return 0 if empty == 0 and first is not None and first <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
