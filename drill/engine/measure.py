"""Measurement of a drill: the user-facing RTO from every request locust sent (followed live
until a sustained recovery shows, then computed from the whole log in one pass, with bounded
memory), projected onto the policy's clocks; and the RPO of every store, from the canary writes
against what the other copy holds."""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from drill.core.measure import Req, RtoScanner, classify_writes, downsample, projected_rto, time_series
from drill.engine.results import RpoResult, RtoResult
from drill.traffic.locust import REORDER_S, LogReader, RequestRecord, parse, records

if TYPE_CHECKING:
    from drill.engine.drill import Drill


def wait_recovery(drill: Drill, deadline_s: float) -> float | None:
    """Follow the request log until a sustained recovery served by the DR region shows."""
    cfg = drill.cfg
    assert drill.traffic is not None and drill.traffic.load is not None
    scan = RtoScanner(drill.marks["fault"], cfg.side("dr").region, cfg.measure.success_window_s,
                      cfg.measure.success_ratio)
    reader = LogReader(drill.traffic.load.log_path)
    heap: list[tuple[float, int, RequestRecord]] = []
    n, newest = 0, float("-inf")
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and scan.recovered_at is None:
        for line in reader.lines():
            rec = parse(line)
            if rec is None:
                continue
            n += 1
            newest = max(newest, rec.t)
            heapq.heappush(heap, (rec.t, n, rec))
        while heap and (heap[0][0] < newest - REORDER_S or heap[0][0] < time.time() - REORDER_S):
            scan.feed(heapq.heappop(heap)[2].req())
        time.sleep(0.5)
    return scan.recovered_at


def measure_rto(drill: Drill) -> RtoResult:
    cfg = drill.cfg
    assert drill.traffic is not None and drill.traffic.load is not None
    load = drill.traffic.load
    wait_recovery(drill, cfg.measure.success_window_s + REORDER_S + 60)
    time.sleep(0.5)
    drill.traffic.stop()
    scan = RtoScanner(drill.marks["fault"], cfg.side("dr").region, cfg.measure.success_window_s,
                      cfg.measure.success_ratio)
    total = failed = 0

    def feed() -> Iterator[Req]:
        nonlocal total, failed
        for rec in records(load.log_path):
            total += 1
            failed += int(not rec.ok)
            req = rec.req()
            scan.feed(req)
            yield req

    series = time_series(feed(), 1.0)
    rto = scan.result()
    drill.journal.write("requests_summary", total=total, failed=failed,
                        log=str(load.log_path.relative_to(drill.dir)))
    drill.journal.write("traffic_series", bucket_s=1.0, buckets=downsample(series))
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
