"""Report rendering at scale: a drill with 100,000 user requests and 10,000 canary writes
(targets: under 10 s from the request log to report.html; report.html under 3 MB).

Usage: python bench/report.py [--requests 100000] [--canaries 10000]
Builds a synthetic drill: a locust request log (an outage in the middle, recovery from the DR
region) and a journal of canary writes, then times the same code the drill runs: reading the
log, the RTO and RPO arithmetic, journaling the traffic series, and rendering every report.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drill.journal import Journal  # noqa: E402
from drill.load import as_reqs, read_request_log  # noqa: E402
from drill.measure import Write, classify_writes, time_series, user_facing_rto  # noqa: E402
from drill.report import render  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--canaries", type=int, default=10_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="drill-report-bench-"))
    d = root / "20260101T000000Z-quarterly-bench"
    (d / "load").mkdir(parents=True)
    t0 = 1_800_000_000.0
    duration = 600.0
    fault, recover = t0 + 200, t0 + 260
    with open(d / "load" / "requests-1.csv", "w") as fh:
        for i in range(args.requests):
            t = t0 + duration * i / args.requests
            ok = not (fault <= t < recover)
            region = "ap-northeast-2" if t < fault else "ap-northeast-1"
            fh.write(f"{t:.6f},GET,GET /health,{200 if ok else 503},3.2,{region},{int(ok)}\n")
    j = Journal(d / "journal.jsonl")
    j.write("drill_started", drill_id=d.name, target="sandbox", cadence="quarterly", policy="PortForge",
            applied={}, checklist=[], regular_tests=[], notices={})
    writes = []
    for seq in range(1, args.canaries + 1):
        t = t0 + duration * seq / args.canaries
        ack = t + 0.003 if t < fault else None
        w = Write("rds", seq, t, ack, "ok" if ack else "failed", "ap-northeast-2")
        writes.append(w)
        j.write("canary", store="rds", seq=seq, started=t, ack=ack, outcome=w.outcome, region=w.region)
    j.write("mark", name="fault", at=fault)

    start = time.perf_counter()
    records = read_request_log([d / "load" / "requests-1.csv"])
    reqs = as_reqs(records)
    rto = user_facing_rto(reqs, fault, "ap-northeast-1", 30, 0.99)
    t_measure = time.perf_counter() - start
    j.write("rto", rto_s=rto.rto_s, budget_s=2400, met=True, projected_s=rto.rto_s, policy_wait_applied_s=0,
            policy_wait_s=0, first_failure_at=rto.first_failure_at, recovered_at=rto.recovered_at, window_s=30,
            ratio=0.99)
    surviving = {w.seq for w in writes if w.ack and w.ack < fault - 3}
    loss = classify_writes("rds", writes, surviving)
    j.write("rpo", **{**loss.as_dict(), "budget_s": 5, "met": loss.rpo_s <= 5, "measured_s": loss.rpo_s})
    j.write("traffic_series", bucket_s=1.0, buckets=time_series(reqs, 1.0))
    j.write("drill_finished", status="finished")
    j.close()
    t_journal = time.perf_counter() - start
    render(d)
    total = time.perf_counter() - start
    size = (d / "report.html").stat().st_size
    print(f"requests {len(records)}, canary writes {args.canaries}")
    print(f"read log + RTO: {t_measure:.2f} s; + RPO and journal: {t_journal:.2f} s; "
          f"+ render all reports: {total:.2f} s (target < 10 s)")
    print(f"report.html {size / 1e6:.2f} MB (target < 3 MB); measured RTO {rto.rto_s:.1f} s, RPO {loss.rpo_s:.3f} s")


if __name__ == "__main__":
    main()
