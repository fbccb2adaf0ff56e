"""RTO/RPO arithmetic on hand-built histories (Jepsen-style checker tests)."""

from __future__ import annotations

from drill.measure import Req, Write, classify_writes, projected_rto, time_series, user_facing_rto


def w(seq: int, ack: float | None, outcome: str = "ok") -> Write:
    return Write("rds", seq, (ack or seq) - 0.01, ack, outcome, "seoul")


def test_nothing_lost_gives_zero_rpo() -> None:
    writes = [w(i, 100 + i * 0.05) for i in range(1, 11)]
    res = classify_writes("rds", writes, set(range(1, 11)))
    assert (res.acked, res.stable, res.lost, res.rpo_s) == (10, 10, 0, 0.0)


def test_rpo_is_newest_acked_minus_newest_surviving_before_it() -> None:
    writes = [w(i, 100 + i * 0.05) for i in range(1, 101)]  # acked 100.05 .. 105.00
    res = classify_writes("rds", writes, set(range(1, 41)))  # 41..100 lost
    assert res.lost == 60 and res.lost_seqs == list(range(41, 101))
    assert res.gaps == [(41, 100)]
    assert abs(res.rpo_s - (105.0 - 102.0)) < 1e-9


def test_indeterminate_and_failed_are_never_lost() -> None:
    writes = [w(1, 100.0), w(2, 100.1), w(3, None, "indeterminate"), w(4, None, "failed"), w(5, 100.4)]
    res = classify_writes("rds", writes, {1, 2, 3})
    assert (res.lost, res.indeterminate, res.failed, res.indeterminate_survived) == (1, 1, 1, 1)
    assert res.lost_seqs == [5] and abs(res.rpo_s - 0.3) < 1e-9


def test_gaps_in_the_middle_are_reported() -> None:
    writes = [w(i, 100 + i) for i in range(1, 8)]
    res = classify_writes("rds", writes, {1, 2, 5, 7})
    assert res.gaps == [(3, 4), (6, 6)] and res.rpo_s == 0.0  # the newest survived


def test_no_surviving_write_is_flagged() -> None:
    res = classify_writes("rds", [w(1, 10.0), w(2, 12.0)], set())
    assert res.no_surviving_write and res.rpo_s == 2.0 and res.lost == 2


def test_failed_write_found_in_dr_is_flagged() -> None:
    res = classify_writes("rds", [w(1, 10.0), w(2, None, "failed")], {1, 2})
    assert res.failed_but_present == 1


def _log(spec: list[tuple[float, float, bool, str]]) -> list[Req]:
    """(from, to, ok, region) spans at 10 requests per second."""
    out = []
    for start, end, ok, region in spec:
        t = start
        while t < end - 1e-9:
            out.append(Req(round(t, 3), ok, region))
            t += 0.1
    return out


def test_user_facing_rto_from_first_failure_to_sustained_dr_success() -> None:
    reqs = _log([(0, 10, True, "seoul"), (10, 17, False, "seoul"), (17, 30, True, "tokyo")])
    rto = user_facing_rto(reqs, fault_at=10.0, dr_region="tokyo", window_s=3, ratio=0.99)
    assert rto.first_failure_at == 10.0 and rto.recovered_at == 17.0
    assert abs((rto.rto_s or 0) - 7.0) < 1e-6


def test_a_flapping_recovery_does_not_count_until_it_is_sustained() -> None:
    reqs = _log([(0, 5, True, "seoul"), (5, 8, False, "tokyo"), (8, 9, True, "tokyo"), (9, 10, False, "tokyo"),
                 (10, 20, True, "tokyo")])
    rto = user_facing_rto(reqs, fault_at=5.0, dr_region="tokyo", window_s=3, ratio=0.99)
    assert rto.recovered_at == 10.0 and abs((rto.rto_s or 0) - 5.0) < 1e-6


def test_success_served_by_the_primary_is_not_recovery() -> None:
    reqs = _log([(0, 5, True, "seoul"), (5, 6, False, "seoul"), (6, 20, True, "seoul")])
    rto = user_facing_rto(reqs, fault_at=5.0, dr_region="tokyo", window_s=3, ratio=0.99)
    assert rto.rto_s is None and rto.failed_after_fault == 10


def test_window_must_be_complete() -> None:
    reqs = _log([(0, 5, False, "tokyo"), (5, 6.5, True, "tokyo")])
    rto = user_facing_rto(reqs, fault_at=0.0, dr_region="tokyo", window_s=3, ratio=0.99)
    assert rto.rto_s is None


def test_projected_rto_swaps_the_applied_wait_for_the_policy_wait() -> None:
    assert projected_rto(10.0, 4.0, 1200.0) == 1206.0


def test_time_series_buckets_by_region() -> None:
    series = time_series(_log([(0, 2, True, "seoul"), (2, 3, False, "tokyo")]), bucket_s=1.0)
    assert [b["ok"] for b in series] == [10, 10, 0]
    assert series[2]["by_region"] == {"tokyo": {"ok": 0, "failed": 10}}
