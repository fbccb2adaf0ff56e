"""Throughput of the traffic profile through the sandbox edge, with and without the
per-request log (target: >= 1,000 req/s with the log on 2 cores).

Usage: python bench/load.py [--seconds 15] [--users 50] [--workers 0]
Uses a running sandbox (drill sandbox up) or starts one for the run.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drill.config import load_config  # noqa: E402
from drill.load import LoadRunner, read_request_log  # noqa: E402
from sandbox import lifecycle  # noqa: E402


def run(edge: str, cfg, seconds: float, users: int, workers: int, log: bool) -> tuple[float, int, int, float]:
    out = Path(tempfile.mkdtemp(prefix="drill-load-"))
    runner = LoadRunner(edge, out, api_host=cfg.fqdn("api"), grafana_host=cfg.fqdn("grafana"), users=users,
                        spawn_rate=users, user_rps=1000, workers=workers, max_run_s=seconds + 5,
                        log_requests=log)
    runner.procs = []
    runner.start()
    time.sleep(2 + workers)  # spawn
    stats = out / "locust_stats.csv"
    t0 = time.time()
    time.sleep(seconds)
    t1 = time.time()
    runner.stop()
    del stats
    summary = _from_summary(out / "locust.out", seconds)
    if log:
        recs = [r for r in read_request_log(runner.log_paths()) if t0 <= r.t < t1]
        failed = sum(1 for r in recs if not r.ok)
        print(f"  steady window {t1 - t0:.1f} s from the request log: {len(recs) / (t1 - t0):.1f} req/s, "
              f"{failed} failed, p99 {_p99([r.latency_ms for r in recs]):.1f} ms")
    return summary


def _p99(values: list[float]) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[int(len(values) * 0.99) - 1]


def _from_summary(path: Path, seconds: float) -> tuple[float, int, int, float]:
    text = path.read_text(errors="replace")
    for line in text.splitlines():
        if line.strip().startswith("Aggregated") and "|" in line:
            parts = line.split("|")
            head = parts[0].split()
            reqs, fails = int(head[1]), int(head[2].split("(")[0])
            return float(parts[-1].split()[0]), reqs, fails, 0.0
    return 0.0, 0, 0, 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    loaded = load_config(profile="sandbox")
    state, started = lifecycle.up(loaded)
    try:
        edge = state["edge_url"]
        cfg = loaded.config
        for log in (True, False):
            rps, n, failed, p99 = run(edge, cfg, args.seconds, args.users, args.workers, log)
            label = "with per-request log" if log else "without log        "
            print(f"{label}: {rps:8.1f} req/s over the whole run (locust's summary: {n} requests, {failed} failed)")
    finally:
        if started:
            lifecycle.down()


if __name__ == "__main__":
    csv.field_size_limit(1 << 20)
    main()
