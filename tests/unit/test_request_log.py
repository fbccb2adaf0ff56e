"""The per-request log as the measurement reads it: gzip members appended one per flush (as the
locustfile writes them), lines in completion order. ``records`` yields every record in time order
with one re-sort window held, across read chunks and re-sort batches; ``follow`` does it in one
pass over a log that is still being written, ends the writing once it is told to, and reads the
rest."""

from __future__ import annotations

import gzip
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drill.traffic import locust
from drill.traffic.locust import REORDER_S, Reorder, follow, records


def line(t: float, ok: bool = True, region: str = "ap-northeast-2") -> str:
    return f"{t:.6f},GET,GET /health,{200 if ok else 0},3.10,{region},{int(ok)},127.77.1.10\n"


def write_members(path: Path, times: list[float], per_member: int, torn: bool = False) -> None:
    with open(path, "ab") as fh:
        for i in range(0, len(times), per_member):
            fh.write(gzip.compress("".join(line(t) for t in times[i:i + per_member]).encode()))
        if torn:  # a kill in the middle of a member
            fh.write(gzip.compress(line(times[-1] + 1).encode())[:20])


def shuffled_times(n: int, jitter_s: float, seed: int = 3) -> list[float]:
    rnd = random.Random(seed)
    base = 1_800_000_000.0
    # completion order: a request sent at t is logged up to jitter_s later
    return [t for _, t in sorted((base + i * 0.01 + rnd.random() * jitter_s, base + i * 0.01) for i in range(n))]


def test_records_come_back_in_time_order_across_chunks_and_batches(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locust, "CHUNK", 4096)  # many read chunks, members split across them
    monkeypatch.setattr(Reorder, "BATCH", 500)
    times = shuffled_times(20_000, jitter_s=3.0)
    assert times != sorted(times)
    log = tmp_path / "requests.csv.gz"
    write_members(log, times, per_member=333, torn=True)
    got = [r.t for r in records(log)]
    assert got == pytest.approx(sorted(times), abs=1e-6)  # all of them, in order; the torn tail skipped


def test_a_record_later_than_the_window_is_not_held_back_forever(tmp_path: Path) -> None:
    log = tmp_path / "requests.csv.gz"
    write_members(log, [100.0, 100.0 + REORDER_S + 1, 100.5], per_member=1)
    assert [r.t for r in records(log)] == [100.0, 100.5, 100.0 + REORDER_S + 1]
    assert [r.t for r in records(log, final=False)] == [100.0, 100.5]


def follow_while_writing(log: Path, batch: Callable[[int], list[float]], enough: int) -> dict[str, Any]:
    """``follow`` a log a thread appends ``batch(i)`` to every 20 ms (one member a flush, as the load
    writes) until ``enough`` records were read live; its ``then`` stops the writer."""
    stop, written, seen, stopped = threading.Event(), [], [], []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            times = batch(i)
            write_members(log, times, per_member=len(times))
            written.extend(times)
            i += 1
            time.sleep(0.02)

    thread = threading.Thread(target=writer)
    thread.start()

    def then() -> None:
        stop.set()
        thread.join()
        stopped.append(len(seen))

    try:
        for rec in follow(log, lambda: len(seen) >= enough, 30, then, poll_s=0.05):
            seen.append(rec.t)
    finally:
        stop.set()
        thread.join()
    return {"written": written, "seen": seen, "stopped": stopped}


def test_follow_reads_a_growing_log_once_stops_the_writer_and_reads_the_rest(tmp_path: Path) -> None:
    now = time.time()
    run = follow_while_writing(tmp_path / "requests.csv.gz",
                               lambda i: [now - 30 + i * 0.01 + k * 0.001 for k in range(10)], 200)
    assert run["stopped"] and run["stopped"][0] >= 200  # the writer was stopped once enough had been read live
    # every record once, in order, the ones after the stop included
    assert run["seen"] == pytest.approx(sorted(run["written"]), abs=1e-6)


def test_reorder_holds_two_windows_and_a_batch_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Reorder, "BATCH", 500)
    times = shuffled_times(50_000, jitter_s=2.0)  # 100 records a second: REORDER_S holds about 1,000
    order, held = Reorder(), [0]

    def fed() -> Iterator[str]:
        for t in times:
            held[0] = max(held[0], len(order._buf))  # as each line goes in: the buffer at its largest
            yield line(t)

    out = [rec.t for rec in order.add_lines(fed())]
    out += [r.t for r in order.release(float("inf"))]
    assert out == sorted(times)
    assert held[0] <= 2 * (REORDER_S + 2.0) * 100 + 500 + 1, held  # never the whole log


def test_reorder_sorts_each_record_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work, not time: the records the sorts handle, per record read, do not grow with the rate.
    A sort every batch re-sorted the whole window each time: at 10 batches a window, 11 per record."""
    monkeypatch.setattr(Reorder, "BATCH", 100)
    times = shuffled_times(50_000, jitter_s=2.0)  # a window of about 1,000: 10 batches
    order, sorted_n = Reorder(), [0]
    release = order.release

    def counted(before: float) -> Iterator[locust.RequestRecord]:
        sorted_n[0] += len(order._buf)
        return release(before)

    monkeypatch.setattr(order, "release", counted)
    assert len(list(order.add_lines(line(t) for t in times))) + len(list(order.release(float("inf")))) == len(times)
    assert sorted_n[0] / len(times) <= 4, sorted_n[0] / len(times)


def test_follow_keeps_time_order_across_polls_of_a_live_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locust, "REORDER_S", 0.5)  # a record is final 0.5 s after its time
    rnd = random.Random(5)
    # completion order: each flush holds requests sent up to 0.3 s before it
    run = follow_while_writing(tmp_path / "requests.csv.gz",
                               lambda i: [time.time() - rnd.random() * 0.3 for _ in range(10)], 300)
    seen = run["seen"]
    assert len(seen) == len(run["written"]) and seen == sorted(seen)  # released live, yet never out of order


def test_held_records_are_invisible_to_the_collector_and_made_records_when_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reorder holds plain tuples, which CPython's collector stops tracking once they survive a
    collection; records are made one at a time as they are taken. Held NamedTuples, or a released
    list of them, stay tracked: at 17,000 req/s every full collection walked a window of them
    (bench/report.py, 10,000,000 requests: 13.6 s of collections, against 1.4 s)."""
    import gc

    monkeypatch.setattr(Reorder, "BATCH", 500)
    order = Reorder()
    taken = list(order.add_lines(line(t) for t in shuffled_times(5_000, jitter_s=2.0)))
    assert taken and all(isinstance(r, locust.RequestRecord) for r in taken)
    gc.collect()
    assert order._buf and not any(gc.is_tracked(f) for f in order._buf)
    lowest = min(f[0] for f in order._buf)
    out = order.release(float("inf"))
    assert not isinstance(out, list)  # an iterator: made as taken
    first = next(iter(out))
    assert isinstance(first, locust.RequestRecord) and first.t == lowest
