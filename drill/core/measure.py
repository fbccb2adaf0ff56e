"""RTO and RPO arithmetic: pure functions over histories, tested on hand-built ones.

Definitions (DESIGN.md, Measurement):

- A canary write ends ``ok`` (acknowledged), ``failed`` (definitely not applied) or
  ``indeterminate`` (timed out or lost mid-flight). After promotion the DR copy is read:
  an acknowledged write found there is ``stable``, one missing is ``lost``; an indeterminate
  write is reported apart and never counted as lost.
- RPO (data-loss window) = ack time of the newest acknowledged write to the failed copy minus
  the ack time of the newest surviving write before it (0 when the newest survived).
- User-facing RTO = from the first failed user request after the fault to the start of the
  first sustained success window (``window_s`` at >= ``ratio`` success) served by the DR region.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Write:
    store: str
    seq: int
    started: float
    ack: float | None
    outcome: str  # ok | failed | indeterminate
    region: str = ""


@dataclass
class StoreLoss:
    store: str
    attempted: int = 0
    acked: int = 0
    stable: int = 0
    lost: int = 0
    failed: int = 0
    indeterminate: int = 0
    indeterminate_survived: int = 0
    failed_but_present: int = 0
    lost_seqs: list[int] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)
    newest_acked_at: float | None = None
    newest_surviving_at: float | None = None
    rpo_s: float = 0.0
    no_surviving_write: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lost_seqs"] = self.lost_seqs[:200]
        data["lost_seqs_truncated"] = len(self.lost_seqs) > 200
        return data


def _ranges(seqs: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s in sorted(seqs):
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


def classify_writes(store: str, writes: Iterable[Write], surviving: set[int]) -> StoreLoss:
    """Classify the writes made to the copy that failed, given the seqs found in the DR copy."""
    res = StoreLoss(store)
    newest_ok: Write | None = None
    oks: list[Write] = []
    for w in writes:
        res.attempted += 1
        present = w.seq in surviving
        if w.outcome == "ok":
            res.acked += 1
            oks.append(w)
            if present:
                res.stable += 1
            else:
                res.lost += 1
                res.lost_seqs.append(w.seq)
            if newest_ok is None or (w.ack or 0) > (newest_ok.ack or 0):
                newest_ok = w
        elif w.outcome == "failed":
            res.failed += 1
            res.failed_but_present += int(present)
        else:
            res.indeterminate += 1
            res.indeterminate_survived += int(present)
    res.lost_seqs.sort()
    res.gaps = _ranges(res.lost_seqs)
    if newest_ok is None:
        return res
    res.newest_acked_at = newest_ok.ack
    if newest_ok.seq in surviving:
        res.newest_surviving_at = newest_ok.ack
        return res
    before = [w for w in oks if w.seq in surviving and (w.ack or 0) <= (newest_ok.ack or 0)]
    if before:
        newest_surv = max(before, key=lambda w: w.ack or 0)
        res.newest_surviving_at = newest_surv.ack
        res.rpo_s = round((newest_ok.ack or 0) - (newest_surv.ack or 0), 6)
    else:
        res.no_surviving_write = True
        first = min(oks, key=lambda w: w.ack or 0)
        res.rpo_s = round((newest_ok.ack or 0) - (first.ack or 0), 6)
    return res


@dataclass(frozen=True)
class Req:
    t: float
    ok: bool
    region: str


@dataclass
class UserRto:
    fault_at: float
    first_failure_at: float | None
    recovered_at: float | None
    rto_s: float | None
    window_s: float
    ratio: float
    requests_after_fault: int
    failed_after_fault: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def user_facing_rto(requests: Sequence[Req], fault_at: float, dr_region: str, window_s: float,
                    ratio: float) -> UserRto:
    """RTO from a request log sorted by time (see module docstring).

    A window counts only if it is complete (the log extends past its end) and at least
    ``ratio`` of its requests succeeded *and* were served by ``dr_region``.
    """
    times = [r.t for r in requests]
    start = bisect.bisect_left(times, fault_at)
    after = requests[start:]
    failed = sum(1 for r in after if not r.ok)
    first_fail = next((r.t for r in after if not r.ok), None)
    result = UserRto(fault_at, first_fail, None, None, window_s, ratio, len(after), failed)
    if first_fail is None:
        return result
    good = [0]
    for r in requests:
        good.append(good[-1] + int(r.ok and r.region == dr_region))
    i = bisect.bisect_left(times, first_fail)
    n = len(requests)
    while i < n:
        r = requests[i]
        if r.ok and r.region == dr_region:
            j = bisect.bisect_left(times, r.t + window_s)
            if j >= n:  # the log ends inside this window: not yet sustained
                break
            count = j - i
            if count and (good[j] - good[i]) / count >= ratio:
                result.recovered_at = r.t
                result.rto_s = round(r.t - first_fail, 6)
                return result
        i += 1
    return result


@dataclass
class Phase:
    name: str
    started_at: float
    finished_at: float
    measured: bool
    detail: str = ""

    @property
    def duration_s(self) -> float:
        return round(self.finished_at - self.started_at, 6)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "started_at": self.started_at, "finished_at": self.finished_at,
                "duration_s": self.duration_s, "measured": self.measured, "detail": self.detail}


def projected_rto(measured_s: float, applied_wait_s: float, policy_wait_s: float) -> float:
    """What the measured RTO becomes with the policy's own waits instead of the shortened ones."""
    return round(measured_s - applied_wait_s + policy_wait_s, 6)


def time_series(requests: Sequence[Req], bucket_s: float = 1.0) -> list[dict[str, Any]]:
    """Requests per bucket: ok and failed counts by serving region (for charts)."""
    if not requests:
        return []
    t0 = requests[0].t
    buckets: dict[int, dict[str, Any]] = {}
    for r in requests:
        k = int((r.t - t0) // bucket_s)
        b = buckets.setdefault(k, {"t": round(t0 + k * bucket_s, 3), "ok": 0, "failed": 0, "by_region": {}})
        b["ok" if r.ok else "failed"] += 1
        reg = b["by_region"].setdefault(r.region or "none", {"ok": 0, "failed": 0})
        reg["ok" if r.ok else "failed"] += 1
    return [buckets[k] for k in sorted(buckets)]
