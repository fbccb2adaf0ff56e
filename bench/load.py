"""Throughput of the traffic profile through the twin's load balancers with the per-request log,
for 1 and 2 local locust workers, and how well the master corrects a worker's clock.
Targets: >= 1,000 req/s with the log on 2 cores; the master's correction of a skewed worker's
clock within 10 ms (this bench resolves a few ms).

Usage: python bench/load.py [--seconds 15] [--users 50] [--user-rps 1000] [--skew 2.0]
                            [--address-block 127.90]
Uses the twin of DRILL_RUNTIME_DIR if one runs (its capacity applies), else starts one without
capacity limits (`python -m drill sandbox up --set sandbox.capacity.node_rps=0`, with
--address-block if given) and stops it at the end (`python -m drill sandbox down`).

Each configuration runs ``drill.traffic.locust.LoadRunner`` as a drill does (the master writing the
one gzip log, its workers sending their records) while this script follows the log with
``LogReader`` every 20 ms: req/s, failures and latency over a steady window from the log; the log's
count beside locust's own summary (which may miss the workers' last stats report; a log with fewer
records would have lost some); and, for each batch read, the gap from the end of its newest request
to its arrival in the log (a worker flushes every 0.25 s, so a batch is one flush). A worker started
with DRILL_CLOCK_SKEW_S=S stamps its records S s off; the master measures each worker's offset
(ping/pong) and subtracts it. The offset is not reported anywhere, so its error is read from the
log: the median gap of the reference run (1 worker, no skew) minus the skewed run's. Batches off by
more than S/2 were written before the master knew the offset (uncorrected).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drill.core.config import load_config  # noqa: E402
from drill.core.schema import ROLES, Config  # noqa: E402
from drill.targets.factory import make_target  # noqa: E402
from drill.traffic.locust import LoadRunner, LogReader, parse, profile_env  # noqa: E402
from sandbox.client import attach  # noqa: E402

WARMUP_S = 2.0  # of each run, before its steady window
SETTLE_S = 10.0  # a twin this script started settles (its checks, reconcilers) before the first run
POLL_S = 0.02


def drill_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "drill", *args], check=True, cwd=Path(__file__).resolve().parent.parent,
                   stdout=subprocess.DEVNULL)


def locust_summary(path: Path) -> int | None:
    """The request count of locust's own summary (the Aggregated line), None if absent."""
    for line in path.read_text(errors="replace").splitlines():
        if line.strip().startswith("Aggregated") and "|" in line:
            return int(line.split("|")[0].split()[1])
    return None


def spread(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10) if len(values) > 1 else values * 9
    return f"{statistics.median(values) * 1000:.1f} ms ({q[0] * 1000:.0f}-{q[-1] * 1000:.0f})"


def run(cfg: Config, profile: dict[str, Any], seconds: float, skew: float = 0.0) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix="drill-bench-load-"))
    runner = LoadRunner(cfg, out, profile, max_run_s=seconds + 60)
    seen: list[Any] = []
    gaps: list[float] = []  # per batch read: its arrival - the end of its newest request
    sizes: list[int] = []
    reader = LogReader(runner.log_path)

    def poll() -> None:
        batch = [r for r in map(parse, reader.lines()) if r is not None]
        if batch:
            gaps.append(time.time() - max(r.t + r.latency_ms / 1000 for r in batch))
            sizes.append(len(batch))
            seen.extend(batch)

    runner.start([{"DRILL_CLOCK_SKEW_S": str(skew)}] if skew else None)
    try:
        if not runner.wait_for_traffic(30):
            raise SystemExit(f"locust sent no request within 30 s: see {out / 'locust.out'}")
        t0 = time.time() + WARMUP_S
        t1 = t0 + seconds
        while time.time() < t1 + 1.0:
            poll()
            time.sleep(POLL_S)
    finally:
        runner.stop()
    poll()
    window = [r for r in seen if t0 <= r.t < t1]
    lat = sorted(r.latency_ms for r in window) or [0.0]
    off = [bool(skew) and (g < -skew / 2 if skew > 0 else g > -skew / 2) for g in gaps]  # uncorrected
    return {"rps": len(window) / seconds, "n": len(window), "failed": sum(not r.ok for r in window),
            "p50": statistics.median(lat), "p99": lat[int(len(lat) * 0.99) - 1] if len(lat) > 1 else lat[0],
            "logged": len(seen), "locust": locust_summary(out / "locust.out"), "early": sum(off),
            "early_records": sum(n for n, o in zip(sizes, off, strict=True) if o),
            "batches": len(gaps), "gaps": [g for g, o in zip(gaps, off, strict=True) if not o]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=15.0, help="steady window per configuration (<= 20)")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--user-rps", type=float, default=1000.0, help="each user's rate (1000: as fast as it can)")
    ap.add_argument("--skew", type=float, default=2.0, help="clock skew of the skewed worker, s")
    ap.add_argument("--address-block", default=None, help="for a twin this script starts (e.g. 127.90)")
    args = ap.parse_args()
    base = [f"load.users={args.users}", f"load.spawn_rate={args.users}", f"load.user_rps={args.user_rps}",
            "load.master_port=0", "load.external_workers=0"]
    started = attach() is None
    print(f"twin: {'starting one' if started else 'using the running one'} "
          f"(DRILL_RUNTIME_DIR={os.environ.get('DRILL_RUNTIME_DIR', 'default')})", flush=True)
    if started:
        extra = ["--set", f"sandbox.address_block='{args.address_block}'"] if args.address_block else []
        # the harness's throughput, not the twin's modelled capacity (the sandbox profile's 80 req/s a node)
        drill_cli("sandbox", "up", "--set", "sandbox.capacity.node_rps=0", *extra)
        time.sleep(SETTLE_S)
    try:
        loaded = load_config(profile="sandbox", overrides=base)
        target = make_target("sandbox", loaded, read_only=True, start_sandbox=False)
        cfg = loaded.config
        albs = {cfg.side(r).region: [lb["DNSName"] for lb in target.client("elbv2", cfg.side(r).region)
                                     .describe_load_balancers()["LoadBalancers"]] for r in ROLES}
        profile = profile_env(cfg, target.endpoints().resolver, albs)
        print(f"{args.users} users at up to {args.user_rps:g} req/s each, {args.seconds:g} s steady window after "
              f"{WARMUP_S:g} s; every request logged (target >= 1,000 req/s)", flush=True)
        results = {}
        for workers, skew in ((1, 0.0), (1, args.skew), (2, 0.0)):  # the clock's pair back to back
            conf = load_config(profile="sandbox", overrides=base + [f"load.workers={workers}"]).config
            res = results[(workers, skew)] = run(conf, profile, args.seconds, skew)
            label = f"{workers} worker{'s' if workers > 1 else ' '}" + (f", skewed {skew:+g} s" if skew else "")
            counted = "" if res["locust"] is None else f"; log {res['logged']}, locust's summary {res['locust']}" + (
                "" if res["logged"] >= res["locust"] else f": LOG MISSING {res['locust'] - res['logged']}")
            print(f"{label:26} {res['rps']:8.1f} req/s ({'ok' if res['rps'] >= 1000 else 'below target'}), "
                  f"{res['failed']} failed of {res['n']}, p50 {res['p50']:.1f} ms, p99 {res['p99']:.1f} ms{counted}",
                  flush=True)
        ref, sk = results[(1, 0.0)], results[(1, args.skew)]
        if ref["gaps"] and sk["gaps"]:
            ref_gap, sk_gap = statistics.median(ref["gaps"]), statistics.median(sk["gaps"])
            error = (ref_gap - sk_gap) * 1000
            print(f"clock: gap from a batch's newest request end to the log, median (p10-p90): reference "
                  f"{spread(ref['gaps'])}, worker skewed {args.skew:+g} s {spread(sk['gaps'])}; offset error "
                  f"{error:+.1f} ms ({'ok' if abs(error) <= 10 else 'OUT OF TARGET'}, target 10 ms); "
                  f"{sk['early']} of {sk['batches']} batches ({sk['early_records']} records) written uncorrected "
                  "(before the master measured the offset)")
    finally:
        if started:
            drill_cli("sandbox", "down")


if __name__ == "__main__":
    main()
