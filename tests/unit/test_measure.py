"""RPO and RTO arithmetic (drill.core.measure) on hand-built histories (DESIGN.md, Measurement)."""

from __future__ import annotations

import pytest

from drill.core.measure import (
    LIST_CAP,
    Clock,
    Phase,
    Req,
    RtoScanner,
    Write,
    WriteLog,
    classify_writes,
    downsample,
    phase_verdict,
    projected_rto,
    time_series,
    user_facing_rto,
)


def ack(seq: int) -> float:
    """Distinct, non-round acknowledgement times: 1000.25, 1000.5, ..."""
    return 1000.0 + seq * 0.25


def ok(seq: int, store: str = "dynamodb") -> Write:
    return Write(store, seq, ack(seq) - 0.1, ack(seq), "ok")


def history(n: int) -> list[Write]:
    return [ok(s) for s in range(1, n + 1)]


# ----------------------------------------------------------------------------- RPO


def test_lost_writes_older_than_the_newest_survivor_still_count() -> None:
    surviving = set(range(1, 10)) | {160}  # 150 of 160 lost, the newest write survived
    res = classify_writes("dynamodb", history(160), surviving)
    assert (res.acked, res.stable, res.lost) == (160, 10, 150)
    assert res.lost_seqs == list(range(10, 160))
    assert res.gaps == [(10, 159)]
    assert res.rpo_s != 0
    # newest lost (159) - newest survivor older than the oldest lost one (9)
    assert res.newest_lost_at == ack(159)
    assert res.newest_surviving_before_at == ack(9)
    assert res.rpo_s == pytest.approx(ack(159) - ack(9)) == pytest.approx(37.5)
    assert not res.unbounded
    assert res.met(900) and not res.met(30)


def test_no_surviving_write_is_unbounded_and_never_met() -> None:
    res = classify_writes("s3", history(160), set())
    assert res.lost == 160 and res.stable == 0
    assert res.unbounded is True
    assert res.rpo_s is None
    assert res.as_dict()["unbounded"] is True
    assert not res.met(900)
    assert not res.met(None)
    assert any("unbounded" in p for p in res.problems(900))


def test_survivors_only_newer_than_the_oldest_lost_write_is_unbounded() -> None:
    res = classify_writes("s3", history(10), {8, 9, 10})
    assert res.unbounded and res.rpo_s is None and not res.met(10_000)


@pytest.mark.parametrize("writes", [[], [Write("rds", 1, 1.0, None, "failed"),
                                         Write("rds", 2, 2.0, None, "indeterminate")]])
def test_zero_acknowledged_writes_is_no_measurement(writes: list[Write]) -> None:
    res = classify_writes("rds", writes, {2})
    assert res.acked == 0
    assert res.rpo_s is None
    assert not res.met(900)
    assert any("no acknowledged write" in p for p in res.problems(900))


def test_only_writes_after_the_fault_is_no_measurement() -> None:
    res = classify_writes("rds", history(3), {1}, fault_at=ack(1) - 10)
    assert res.after_fault == 3 and res.rpo_s is None
    assert not res.met(900)


def test_failed_write_present_in_dr_is_an_anomaly_even_with_rpo_zero() -> None:
    writes = history(5) + [Write("dynamodb", 6, 1010.0, None, "failed"), Write("dynamodb", 7, 1011.0, None, "failed")]
    res = classify_writes("dynamodb", writes, {1, 2, 3, 4, 5, 6})
    assert res.rpo_s == 0.0 and res.lost == 0
    assert res.failed == 2
    assert res.failed_but_present == [6]
    assert res.anomalies == 1
    assert not res.met(900)
    assert any("failed" in p and "6" in p for p in res.problems(900))


def test_ordered_store_losing_an_older_write_is_out_of_order() -> None:
    surviving = {1, 2, 4, 5}
    res = classify_writes("rds", history(5), surviving, ordered=True)
    assert res.lost_seqs == [3]
    assert res.out_of_order == [3]
    assert res.rpo_s == pytest.approx(ack(3) - ack(2))
    assert not res.met(10_000)
    assert any("out of order" in p for p in res.problems(10_000))

    unordered = classify_writes("dynamodb", history(5), surviving, ordered=False)
    assert unordered.out_of_order == []
    assert unordered.met(10_000)


def test_ordered_store_losing_only_the_tail_is_in_order() -> None:
    res = classify_writes("rds", history(5), {1, 2, 3}, ordered=True)
    assert res.out_of_order == [] and res.lost_seqs == [4, 5]
    assert res.met(10.0)


def test_indeterminate_writes_are_never_lost() -> None:
    writes = history(4) + [Write("rds", 5, 1005.0, None, "indeterminate"),
                           Write("rds", 6, 1006.0, None, "indeterminate")]
    res = classify_writes("rds", writes, {1, 2, 3, 4, 6})
    assert (res.lost, res.indeterminate, res.indeterminate_survived) == (0, 2, 1)
    assert res.lost_seqs == []
    assert res.rpo_s == 0.0 and res.met(0)


def test_writes_acknowledged_after_the_fault_are_apart_and_not_lost() -> None:
    fault_at = ack(5) + 0.1
    res = classify_writes("dynamodb", history(9), {1, 2, 3, 4, 5, 7}, fault_at=fault_at)
    assert res.after_fault == 4  # 6, 7, 8, 9
    assert res.after_fault_present == 1  # 7
    assert res.lost == 0 and res.lost_seqs == []
    assert res.stable == 5
    assert res.rpo_s == 0.0 and res.met(0)


def test_write_acknowledged_exactly_at_the_fault_is_counted() -> None:
    res = classify_writes("dynamodb", history(5), {1, 2, 3, 4}, fault_at=ack(5))
    assert res.after_fault == 0 and res.lost_seqs == [5]


def test_clean_history_has_zero_rpo() -> None:
    res = classify_writes("rds", history(50), set(range(1, 51)), ordered=True)
    assert res.rpo_s == 0.0
    assert (res.lost, res.stable, res.anomalies) == (0, 50, 0)
    assert res.met(0) and res.problems(0) == []


def test_single_lost_tail_write() -> None:
    res = classify_writes("rds", history(20), set(range(1, 20)))
    assert res.lost_seqs == [20]
    assert res.rpo_s == pytest.approx(ack(20) - ack(19)) == pytest.approx(0.25)


def test_gaps_group_consecutive_lost_seqs() -> None:
    res = classify_writes("s3", history(12), {1, 2, 6, 7, 9, 12})
    assert res.gaps == [(3, 5), (8, 8), (10, 11)]
    # newest lost 11, newest survivor older than the oldest lost (3): 2
    assert res.rpo_s == pytest.approx(ack(11) - ack(2))


def test_lost_window_uses_ack_order_not_seq_order() -> None:
    writes = [Write("s3", 1, 0.0, 10.0, "ok"), Write("s3", 2, 0.0, 30.0, "ok"),
              Write("s3", 3, 0.0, 20.0, "ok"), Write("s3", 4, 0.0, 40.0, "ok")]
    res = classify_writes("s3", writes, {1, 3})
    assert res.rpo_s == pytest.approx(40.0 - 20.0)


@pytest.mark.parametrize(("budget", "met"), [(5.0, True), (5.001, True), (4.999, False), (0.0, False)])
def test_budget_boundary(budget: float, met: bool) -> None:
    writes = [Write("rds", 1, 0.0, 100.0, "ok"), Write("rds", 2, 0.0, 102.5, "ok"),
              Write("rds", 3, 0.0, 105.0, "ok")]
    res = classify_writes("rds", writes, {1})
    assert res.rpo_s == pytest.approx(5.0)
    assert res.met(budget) is met
    assert any("budget" in p for p in res.problems(budget)) is (not met)


def test_as_dict_cuts_lists_but_keeps_counts() -> None:
    n = LIST_CAP + 100
    res = classify_writes("s3", history(n + 1), {1})
    data = res.as_dict()
    assert data["lost"] == n
    assert len(data["lost_seqs"]) == LIST_CAP and data["lost_seqs_truncated"] is True
    assert data["failed_but_present_truncated"] is False
    assert data["gaps"] == [[2, n + 1]]


# ----------------------------------------------------------------------------- user-facing RTO


def stream(*parts: tuple[float, float, bool, str]) -> list[Req]:
    """Requests every 0.5 s from a (inclusive) to b (exclusive)."""
    out = []
    for a, b, good, region in parts:
        k = 0
        while a + k * 0.5 < b:
            out.append(Req(a + k * 0.5, good, region))
            k += 1
    return sorted(out, key=lambda r: r.t)


OUTAGE = stream((0, 5, True, "seoul"), (5.25, 5.5, False, "seoul"),  # a failure before the fault
                (10.5, 12.5, False, ""), (12.5, 16.5, True, "seoul"),  # primary answers again: not recovery
                (16.5, 18.5, False, ""), (18.5, 25, True, "tokyo"))


def test_user_facing_rto_first_failure_to_dr_window() -> None:
    res = user_facing_rto(OUTAGE, fault_at=10.0, dr_region="tokyo", window_s=3.0, ratio=0.99)
    assert res.first_failure_at == 10.5
    assert res.recovered_at == 18.5
    assert res.rto_s == pytest.approx(8.0)
    assert res.failed_after_fault == 8
    assert res.requests_after_fault == len([r for r in OUTAGE if r.t >= 10.0])


def test_scanner_fed_one_by_one_matches() -> None:
    scan = RtoScanner(10.0, "tokyo", 3.0, 0.99)
    for r in OUTAGE:
        scan.feed(r)
    assert scan.result() == user_facing_rto(OUTAGE, 10.0, "tokyo", 3.0, 0.99)


def test_primary_region_successes_never_recover() -> None:
    res = user_facing_rto(OUTAGE, 10.0, dr_region="osaka", window_s=3.0, ratio=0.99)
    assert res.first_failure_at == 10.5
    assert res.recovered_at is None and res.rto_s is None


def test_window_not_complete_is_not_recovery() -> None:
    reqs = stream((10.5, 12, False, ""), (12, 14, True, "tokyo"))  # the log ends inside the 3 s window
    res = user_facing_rto(reqs, 10.0, "tokyo", 3.0, 0.99)
    assert res.recovered_at is None and res.rto_s is None


def test_sustained_ratio_boundary() -> None:
    def reqs(bad: set[int]) -> list[Req]:
        return [Req(1.0, False, "")] + [Req(float(t), t not in bad, "dr") for t in range(100, 300)]

    one = user_facing_rto(reqs({150}), 0.0, "dr", 100.0, 0.99)  # 99 of 100: exactly the ratio
    assert (one.recovered_at, one.rto_s) == (100.0, 99.0)
    two = user_facing_rto(reqs({150, 151}), 0.0, "dr", 100.0, 0.99)
    assert (two.recovered_at, two.rto_s) == (152.0, 151.0)


def test_no_failure_after_the_fault() -> None:
    res = user_facing_rto(stream((0, 30, True, "tokyo")), 10.0, "tokyo", 3.0, 0.99)
    assert res.first_failure_at is None and res.rto_s is None and res.failed_after_fault == 0


# ----------------------------------------------------------------------------- clocks, phases, charts


def test_projected_rto_replaces_each_shortened_clock() -> None:
    clocks = [Clock("declaration", 4, 1200), Clock("ttl", 1, 60), Clock("probe", 5, 5),
              Clock("stabilization", 3, 1800, in_rto=False)]
    assert [c.shortened for c in clocks] == [True, True, False, True]
    assert projected_rto(100.5, clocks) == pytest.approx(100.5 + 1196 + 59)
    assert projected_rto(100.5, [Clock("probe", 7, 7)]) == 100.5
    assert projected_rto(42.0, []) == 42.0


def test_phase_set_by_policy_is_never_met() -> None:
    for budget in (1000.0, 0.0, None):
        assert phase_verdict(Phase("declaration", 0.0, 4.0, measured=False), budget) == "policy"


@pytest.mark.parametrize(("end", "budget", "verdict"), [(250.0, 300.0, "met"), (300.0, 300.0, "met"),
                                                        (300.5, 300.0, "missed"), (10.0, None, "no budget")])
def test_measured_phase_against_budget(end: float, budget: float | None, verdict: str) -> None:
    phase = Phase("promotion", 0.0, end, measured=True)
    assert phase.duration_s == end
    assert phase_verdict(phase, budget) == verdict


def test_time_series_buckets() -> None:
    reqs = [Req(100.0, True, "seoul"), Req(100.4, False, "seoul"), Req(101.2, True, "tokyo"),
            Req(103.9, True, ""), Req(103.95, False, "tokyo")]
    series = time_series(reqs, bucket_s=1.0)
    assert [b["t"] for b in series] == [100.0, 101.0, 103.0]
    assert [(b["ok"], b["failed"]) for b in series] == [(1, 1), (1, 0), (1, 1)]
    assert series[0]["by_region"] == {"seoul": {"ok": 1, "failed": 1}}
    assert series[2]["by_region"] == {"none": {"ok": 1, "failed": 0}, "tokyo": {"ok": 0, "failed": 1}}
    relabelled = time_series(reqs, 2.0, region_of=lambda r: r.region.upper())
    assert [b["t"] for b in relabelled] == [100.0, 102.0]
    assert set(relabelled[0]["by_region"]) == {"SEOUL", "TOKYO"}
    assert time_series([]) == []


def test_downsample_merges_into_means() -> None:
    series = [{"t": float(i), "ok": i, "failed": 1, "by_region": {"r": {"ok": i, "failed": 1}}} for i in range(10)]
    assert downsample(series, 10) == series
    out = downsample(series, 3)
    assert [b["t"] for b in out] == [0.0, 4.0, 8.0]
    assert [b["ok"] for b in out] == [pytest.approx(1.5), pytest.approx(5.5), pytest.approx(8.5)]
    assert all(b["failed"] == pytest.approx(1.0) for b in out)
    assert out[1]["by_region"]["r"]["ok"] == pytest.approx(5.5)


def test_the_compact_write_log_gives_back_every_write_as_written() -> None:
    writes = [Write("rds", 1, 1000.125, 1000.25, "ok", "ap-northeast-2"),
              Write("rds", 2, 1001.0, None, "indeterminate", "ap-northeast-2"),
              Write("rds", 3, 1002.0, None, "failed", "ap-northeast-1"),
              Write("rds", 2**40, 1003.5, 1003.75, "ok", "")]
    log = WriteLog("rds")
    for w in writes:
        log.append(w)
    assert list(log) == writes and len(log) == 4
    assert log.ok == 2 and log.last_ack == 1003.75
    assert classify_writes("rds", list(log), {1, 2**40}, None) == classify_writes("rds", writes, {1, 2**40}, None)
