"""The sabotage catalog's score: each planted defect run against a twin (the one in
DRILL_RUNTIME_DIR, else a fresh one), with the step that failed and why; then the clean twin
running the same scenarios, which must pass.

    python bench/sabotage.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conftest import loaded_config, run_drill_cli  # noqa: E402
from sandbox.client import attach  # noqa: E402
from tests.conftest import account_env  # noqa: E402
from tests.sabotage import Ops, catalog, deadline_s, run_case  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    cfg = loaded_config().config
    started_twin = attach() is None
    if started_twin:
        run_drill_cli("sandbox", "up", check=True, timeout=180)
    twin = attach()
    assert twin is not None
    env = account_env({})
    ops = Ops(env, cfg)
    defects = [d for d in catalog(cfg) if not args.only or d.name in args.only]
    caught = 0
    t0 = time.monotonic()
    try:
        for d in defects:
            with tempfile.TemporaryDirectory() as tmp:
                o = run_case(d, ops, twin, lambda *a: run_drill_cli(*a, timeout=600), Path(tmp))
            caught += o.caught
            flags = ("twin-only " if d.twin_only else "") + ("held-out " if d.held_out else "")
            print(f"{'CAUGHT' if o.caught else 'MISSED'} {d.name:34} {o.seconds:5.1f} s  {flags}"
                  f"step: {o.step!r}; {('why: ' + o.why + '; ') if o.why else ''}{(o.error or '')[:200]}", flush=True)
        selectors = sorted({d.scenario for d in defects})
        clean_ok = True
        for cadence, select in selectors:
            with tempfile.TemporaryDirectory() as tmp:
                res = run_drill_cli("run", "--cadence", cadence, "-k", select, "--reports", tmp,
                                    "--set", f"measure.action_deadline_s={deadline_s(cadence)}", timeout=600)
            clean_ok &= res.returncode == 0
            print(f"clean twin, {cadence} -k {select}: {'PASS' if res.returncode == 0 else 'FAIL'}", flush=True)
    finally:
        if started_twin:
            run_drill_cli("sandbox", "down")
    print(f"score: {caught}/{len(defects)} defects caught; clean twin {'passes' if clean_ok else 'FAILS'}; "
          f"{time.monotonic() - t0:.0f} s")
    return 0 if caught == len(defects) and clean_ok else 1


if __name__ == "__main__":
    sys.exit(main())
