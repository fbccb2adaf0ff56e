"""Measurement accuracy on the sandbox: inject a known replication delay or outage length and
compare what the harness measures (target: error within one write/probe interval + 100 ms).

Usage: python bench/accuracy.py [--quick]
Uses a running sandbox (drill sandbox up) or starts one. Each trial: canary writes (and locust
for outages) against the primary, the fault, then the same pure functions the drills use.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drill.config import load_config  # noqa: E402
from drill.engine import Drill  # noqa: E402
from drill.load import as_reqs  # noqa: E402
from drill.measure import user_facing_rto  # noqa: E402
from sandbox import lifecycle  # noqa: E402


def rpo_trial(store: str, delay: float, reports: Path) -> tuple[float, float]:
    overrides = {"rds": [f"sandbox.rds.replication_delay_s={delay}"],
                 "dynamodb": [f"sandbox.dynamodb.replication_delay_s={delay}"],
                 "s3": [f"sandbox.s3.replication_delay_s={delay}"]}[store]
    loaded = load_config(profile="sandbox", overrides=overrides)
    d = Drill(loaded, "sandbox", "bench", reports)
    try:
        d.apply_drill_settings()
        d.wait_steady_state(60)
        d.start_traffic()
        d.inject_outage()
        time.sleep(0.5)
        res = d.measure_rpo()[store]
        interval = 1.0 / loaded.config.measure.canary_rate_per_s
        return float(res["measured_s"]), interval
    finally:
        d.restore()
        d.close()


def outage_trial(length: float, reports: Path) -> tuple[float, float]:
    """Seoul's services down for ``length`` s with the health checks disabled (no failover):
    the outage users saw, from the request log, against the injected length."""
    loaded = load_config(profile="sandbox")
    cfg = loaded.config
    d = Drill(loaded, "sandbox", "bench", reports)
    sb = d.target
    r53 = sb.client("route53", "us-east-1")
    hcs = [h["Id"] for h in r53.list_health_checks()["HealthChecks"]]
    try:
        d.wait_steady_state(60)
        for h in hcs:
            r53.update_health_check(HealthCheckId=h, Disabled=True)
        time.sleep(1.5)
        d.start_traffic(warmup_s=2)
        start = time.time()
        sb.control("POST", "/services", {"role": "primary", "services": "all", "mode": "down"})
        time.sleep(length - (time.time() - start))
        sb.control("POST", "/services", {"role": "primary", "services": "all", "mode": "ok"})
        time.sleep(cfg.measure.success_window_s + 1.5)
        d.stop_traffic()
        assert d.load is not None
        rto = user_facing_rto(as_reqs(d.load.records()), start, cfg.regions.primary.name,
                              cfg.measure.success_window_s, cfg.measure.success_ratio)
        return float(rto.rto_s or -1), 1.0 / (cfg.load.users * cfg.load.user_rps)
    finally:
        for h in hcs:
            r53.update_health_check(HealthCheckId=h, Disabled=False)
        d.restore()
        d.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one value per kind")
    args = parser.parse_args()
    reports = Path("/tmp/drill-bench-reports")
    state, started = lifecycle.up(load_config(profile="sandbox"))
    trials: list[tuple[str, str, float]] = []
    for delay in ([2.0] if args.quick else [0.5, 2.0, 5.0]):
        trials.append(("RPO", "rds", delay))
    for delay in ([0.5] if args.quick else [0.25, 1.0]):
        trials.append(("RPO", "dynamodb", delay))
    for delay in ([2.0] if args.quick else [1.0, 3.0]):
        trials.append(("RPO", "s3", delay))
    for length in ([3.0] if args.quick else [2.0, 5.0]):
        trials.append(("outage", "users", length))
    print(f"{'what':8} {'store':9} {'injected':>9} {'measured':>9} {'error':>8} {'allowed':>8}  verdict")
    try:
        for kind, store, value in trials:
            if kind == "RPO":
                measured, interval = rpo_trial(store, value, reports)
            else:
                measured, interval = outage_trial(value, reports)
            error = measured - value
            allowed = interval + 0.1
            verdict = "ok" if abs(error) <= allowed else "OUT OF TARGET"
            print(f"{kind:8} {store:9} {value:8.2f}s {measured:8.3f}s {error:+7.3f}s {allowed:7.3f}s  {verdict}",
                  flush=True)
    finally:
        if started:
            lifecycle.down()


if __name__ == "__main__":
    main()
