"""Measurement of a drill: the user-facing RTO from every request locust sent (followed live
until a sustained recovery shows, then computed from the whole log in one pass, with bounded
memory), projected onto the policy's clocks; and the RPO of every store, from the canary writes
against what the other copy holds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from drill.core.measure import RtoScanner, classify_writes, downsample, projected_rto, time_series
from drill.engine.results import RpoResult, RtoResult
from drill.traffic.locust import REORDER_S, RequestRecord, follow

if TYPE_CHECKING:
    from drill.engine.drill import Drill


def measure_rto(drill: Drill) -> RtoResult:
    """One pass over the request log: followed live until a sustained recovery served by the DR
    region shows (or a deadline), then the traffic stopped and the rest read."""
    cfg = drill.cfg
    assert drill.traffic is not None and drill.traffic.load is not None
    load, traffic = drill.traffic.load, drill.traffic
    scan = RtoScanner(drill.marks["fault"], cfg.side("dr").region, cfg.measure.success_window_s,
                      cfg.measure.success_ratio)
    total = failed = 0
    dr = cfg.side("dr").region
    spans = sorted((a, b, name) for name, (a, b) in drill.results.spans.items() if a >= drill.marks["fault"] - 1e-3)
    per_phase = {name: {"requests": 0, "failed": 0, "failed_in_dr": 0} for _, _, name in spans}

    def stop() -> None:
        time.sleep(0.5)
        traffic.stop()

    def feed() -> Iterator[RequestRecord]:
        nonlocal total, failed
        for rec in follow(load.log_path, lambda: scan.recovered_at is not None,
                          cfg.measure.success_window_s + REORDER_S + 60, stop):
            total += 1
            failed += not rec.ok
            scan.feed(rec)
            for a, b, name in spans:  # a handful of phases
                if a <= rec.t < b:
                    counts = per_phase[name]
                    counts["requests"] += 1
                    if not rec.ok:
                        counts["failed"] += 1
                        counts["failed_in_dr"] += rec.region == dr
            yield rec

    series = time_series(feed(), 1.0)
    rto = scan.result()
    drill.journal.write("requests_summary", total=total, failed=failed,
                        log=str(load.log_path.relative_to(drill.dir)))
    drill.journal.write("traffic_series", bucket_s=1.0, buckets=downsample(series))
    # what users felt in each phase: a DR region too small for the traffic fails requests until scale-up
    drill.journal.write("phase_traffic", phases=per_phase)
    projected = projected_rto(rto.rto_s, drill.clocks) if rto.rto_s is not None else None
    result = RtoResult(rto, cfg.budgets.rto_s, drill.clocks, projected)
    drill.journal.write("rto", **result.as_dict())
    drill.results.rto = result
    return result


def measure_rpo(drill: Drill, written: str = "primary", read: str = "dr", event: str = "rpo",
                fault_at: float | None = None) -> dict[str, RpoResult]:
    """Classify every write the canaries made to ``written``'s copies against what ``read``'s hold.
    With ``fault_at``, writes acknowledged after the fault was in effect for a store (its own
    instant where the fault reports one) are reported apart."""
    cfg = drill.cfg
    assert drill.traffic is not None
    out: dict[str, RpoResult] = {}
    region = cfg.side(written).region
    for name, writer in drill.traffic.writers.items():
        writer.stop()
        store = drill.traffic.stores[name]
        instant = drill.marks.get(f"fault_in_effect:{name}", fault_at) if fault_at is not None else None
        loss = classify_writes(name, [w for w in writer.writes if w.region == region], store.surviving(read),
                               instant, ordered=store.ordered)
        result = RpoResult(name, cfg.budgets.rpo_s.get(name) if event == "rpo" else 0.0, loss)
        drill.journal.write(event, **result.as_dict())
        out[name] = result
    if event == "rpo":
        drill.results.rpo = out
    else:
        drill.results.rpo_failback = out
    return out
