"""Measurement accuracy on the twin: inject a known RDS replication delay (a twin-only knob) and
compare it with the RDS RPO the drill measures. Target: within 0.25 s of the injected delay.

Usage: python bench/accuracy.py [--delays 0.5 2 5] [--quick] [--set KEY.PATH=VALUE ...]
Each trial is the user path, run as a subprocess:
    drill run --cadence quarterly -k failover_under_load --set sandbox.rds.replication_delay_s=X
and the measured value is read back from that drill's result.json (rpo.rds.rpo_s). Uses the twin
of DRILL_RUNTIME_DIR if one runs, else starts one (`drill sandbox up`, with the --set values, e.g.
--set "sandbox.address_block='127.90'") and stops it at the end. A run takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.client import attach  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SELECT = "failover_under_load"
TOLERANCE_S = 0.25


def drill_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drill", *args], cwd=REPO, text=True, capture_output=True,
                          timeout=timeout)


def trial(delay: float, sets: list[str]) -> tuple[dict[str, Any] | None, str, float]:
    """One drill with the delay injected: (its result.json or None, why not, seconds)."""
    with tempfile.TemporaryDirectory(prefix="drill-bench-accuracy-") as reports:
        start = time.monotonic()
        res = drill_cli("run", "--cadence", "quarterly", "-k", SELECT, "--reports", reports,
                        "--set", f"sandbox.rds.replication_delay_s={delay}", *[a for s in sets for a in ("--set", s)])
        took = time.monotonic() - start
        found = sorted(Path(reports).glob("*/result.json"))
        if not found:
            tail = (res.stderr or res.stdout).strip().splitlines()
            return None, f"exit {res.returncode}, no result.json: {tail[-1] if tail else 'no output'}", took
        return json.loads(found[-1].read_text()), f"exit {res.returncode}", took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delays", type=float, nargs="+", default=[0.5, 2.0, 5.0], metavar="S",
                    help="RDS replication delays to inject, s")
    ap.add_argument("--quick", action="store_true", help="one delay only (2 s)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY.PATH=VALUE",
                    help="passed to `drill sandbox up` (when this starts the twin) and to each `drill run`")
    args = ap.parse_args()
    delays = [2.0] if args.quick else args.delays
    started = attach() is None
    if started:
        up = drill_cli("sandbox", "up", *[a for s in args.sets for a in ("--set", s)], timeout=300)
        if up.returncode != 0:
            print(f"drill sandbox up failed: {(up.stderr or up.stdout).strip()[-400:]}")
            return 2
    print(f"{'injected':>9} {'measured':>9} {'error':>8}  {'verdict':14} drill (scenario -k {SELECT})", flush=True)
    ok = True
    try:
        for delay in delays:
            result, how, took = trial(delay, args.sets)
            rds = ((result or {}).get("rpo") or {}).get("rds") or {}
            measured = rds.get("rpo_s")
            if measured is None:
                why = "unbounded" if rds.get("unbounded") else "no RDS RPO in the result"
                print(f"{delay:8.2f}s {'-':>9} {'-':>8}  {'NOT MEASURED':14} {how}, {took:.0f} s: {why}", flush=True)
                ok = False
                continue
            error = float(measured) - delay
            within = abs(error) <= TOLERANCE_S
            ok &= within
            print(f"{delay:8.2f}s {measured:8.3f}s {error:+7.3f}s  {'ok' if within else 'OUT OF TARGET':14} "
                  f"{how}, verdict {result.get('verdict') if result else '-'}, {rds.get('lost')} of "
                  f"{rds.get('acked')} writes lost, {took:.0f} s", flush=True)
    finally:
        if started:
            drill_cli("sandbox", "down")
    print(f"accuracy: {'all within' if ok else 'NOT all within'} {TOLERANCE_S} s of the injected delay")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
