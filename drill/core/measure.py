"""RTO and RPO arithmetic: pure functions over histories, tested on hand-built ones.

Definitions (shared/DESIGN.md, Measurement):

- A canary write ends ``ok`` (acknowledged), ``failed`` (definitely not applied) or
  ``indeterminate`` (timed out, lost mid-flight): Jepsen's rule, anything unproven either way is
  indeterminate, never ok and never lost. After promotion the DR copy is read.
- Lost = acknowledged by the failed copy at or before the fault and missing in the DR copy.
  Writes the failed copy acknowledged *after* the fault instant exist only because a simulated
  outage leaves that region's store APIs answering; they are reported apart, not counted.
- Anomalies fail the store's verdict: a write that failed but is present in DR; for a store
  whose replication keeps order (RDS), a lost write older than a surviving one.
- RPO (data-loss window) = ack time of the newest lost write - ack time of the newest surviving
  write older than the oldest lost one. No such survivor: unbounded. No acknowledged write: no
  measurement (fails).
- User-facing RTO = from the first failed user request after the fault to the start of the first
  sustained success window (``window_s`` at >= ``ratio`` success served by the DR region).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple, Protocol

LIST_CAP = 200  # sequence lists in results are cut here (the counts are always whole)


@dataclass(frozen=True)
class Write:
    store: str
    seq: int
    started: float
    ack: float | None
    outcome: str  # ok | failed | indeterminate
    region: str = ""


class WriteLog:
    """One canary writer's writes, append-only and columnar: 200,000 writes (a drill of hours) hold
    5.3 MB here against 41 MB as a list of Write (tracemalloc). Iterating yields Write; ``ok`` and
    ``last_ack`` are kept as writes arrive (the live view reads them, not the whole log)."""

    OUTCOMES = ("ok", "failed", "indeterminate")

    def __init__(self, store: str) -> None:
        from array import array

        self.store = store
        self._seq, self._started, self._ack = array("q"), array("d"), array("d")  # ack NaN: none
        self._outcome, self._region = bytearray(), bytearray()  # appended last: its length is the log's
        self._regions: list[str] = []
        self.ok = 0
        self.last_ack: float | None = None

    def append(self, w: Write) -> None:
        if w.region not in self._regions:
            self._regions.append(w.region)
        self._seq.append(w.seq)
        self._started.append(w.started)
        self._ack.append(float("nan") if w.ack is None else w.ack)
        self._region.append(self._regions.index(w.region))
        self._outcome.append(self.OUTCOMES.index(w.outcome))
        if w.outcome == "ok":
            self.ok += 1
        if w.ack is not None:
            self.last_ack = w.ack

    def __len__(self) -> int:
        return len(self._outcome)

    def __iter__(self) -> Iterator[Write]:
        for i in range(len(self._outcome)):  # a writer may append meanwhile: what was there when asked
            ack = self._ack[i]
            yield Write(self.store, self._seq[i], self._started[i], None if ack != ack else ack,
                        self.OUTCOMES[self._outcome[i]], self._regions[self._region[i]])


@dataclass
class StoreLoss:
    store: str
    ordered: bool = False
    attempted: int = 0
    acked: int = 0
    stable: int = 0
    lost: int = 0
    failed: int = 0
    indeterminate: int = 0
    indeterminate_survived: int = 0
    after_fault: int = 0
    after_fault_present: int = 0
    lost_seqs: list[int] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)
    failed_but_present: list[int] = field(default_factory=list)
    out_of_order: list[int] = field(default_factory=list)
    newest_lost_at: float | None = None
    newest_surviving_before_at: float | None = None
    rpo_s: float | None = 0.0
    unbounded: bool = False

    @property
    def anomalies(self) -> int:
        return len(self.failed_but_present) + len(self.out_of_order)

    def problems(self, budget_s: float | None) -> list[str]:
        """Why this store's verdict fails (empty: met)."""
        out = []
        if self.acked - self.after_fault == 0:
            out.append("no write acknowledged before the fault: nothing was measured"
                       if self.acked else "no acknowledged write: nothing was measured")
        if self.unbounded:
            out.append(f"unbounded: {self.lost} acknowledged writes lost and no write older than the oldest "
                       "lost one survived")
        elif budget_s is not None and self.rpo_s is not None and self.rpo_s > budget_s:
            out.append(f"data-loss window {self.rpo_s:.3f} s > budget {budget_s:g} s")
        if self.failed_but_present:
            out.append(f"{len(self.failed_but_present)} writes reported failed are present in DR "
                       f"(seq {_short(self.failed_but_present)})")
        if self.out_of_order:
            out.append(f"{len(self.out_of_order)} writes lost while later writes survived: replication out of "
                       f"order (seq {_short(self.out_of_order)})")
        return out

    def met(self, budget_s: float | None) -> bool:
        return not self.problems(budget_s)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("lost_seqs", "failed_but_present", "out_of_order"):
            data[f"{key}_truncated"] = len(data[key]) > LIST_CAP
            data[key] = data[key][:LIST_CAP]
        data["gaps"] = [list(g) for g in self.gaps[:LIST_CAP]]
        return data


def _short(seqs: list[int]) -> str:
    return ", ".join(map(str, seqs[:5])) + (", ..." if len(seqs) > 5 else "")


def _ranges(seqs: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s in sorted(seqs):
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


def classify_writes(store: str, writes: Iterable[Write], surviving: set[int], fault_at: float | None = None,
                    ordered: bool = False) -> StoreLoss:
    """Classify the writes made to the copy that failed, given the seqs found in the DR copy."""
    res = StoreLoss(store, ordered)
    counted: list[Write] = []  # acknowledged at or before the fault
    for w in writes:
        res.attempted += 1
        present = w.seq in surviving
        if w.outcome == "ok":
            res.acked += 1
            if fault_at is not None and (w.ack or 0.0) > fault_at:
                res.after_fault += 1
                res.after_fault_present += int(present)
                continue
            counted.append(w)
            if present:
                res.stable += 1
            else:
                res.lost += 1
                res.lost_seqs.append(w.seq)
        elif w.outcome == "failed":
            res.failed += 1
            if present:
                res.failed_but_present.append(w.seq)
        else:
            res.indeterminate += 1
            res.indeterminate_survived += int(present)
    res.lost_seqs.sort()
    res.gaps = _ranges(res.lost_seqs)
    if not res.lost:
        res.rpo_s = 0.0 if counted else None
        return res
    counted.sort(key=lambda w: w.ack or 0.0)
    lost = [w for w in counted if w.seq not in surviving]
    oldest_lost, newest_lost = lost[0], lost[-1]
    res.newest_lost_at = newest_lost.ack
    if ordered:  # replication that keeps order cannot lose a write and keep a later one
        newest_kept = max(((w.ack or 0.0) for w in counted if w.seq in surviving), default=None)
        if newest_kept is not None:
            res.out_of_order = sorted(w.seq for w in lost if (w.ack or 0.0) < newest_kept)
    before = [w for w in counted if w.seq in surviving and (w.ack or 0) < (oldest_lost.ack or 0)]
    if not before:
        res.unbounded = True
        res.rpo_s = None
        return res
    res.newest_surviving_before_at = before[-1].ack
    res.rpo_s = round((newest_lost.ack or 0) - (before[-1].ack or 0), 6)
    return res


# ----------------------------------------------------------------------------- user-facing RTO


class Req(NamedTuple):  # a tuple: millions of them are made in a long drill's measurement
    t: float
    ok: bool
    region: str


class ReqLike(Protocol):
    """What measurement reads of a request: a ``Req``, or a request log's record as it is."""

    @property
    def t(self) -> float: ...
    @property
    def ok(self) -> bool: ...
    @property
    def region(self) -> str: ...


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


class RtoScanner:
    """User-facing RTO over a request stream sorted by time, in one pass with bounded memory: only
    the requests of one success window are held. A window counts once it is complete (a request
    lies past its end) and starts at a success served by the DR region."""

    def __init__(self, fault_at: float, dr_region: str, window_s: float, ratio: float):
        self.fault_at, self.dr, self.window_s, self.ratio = fault_at, dr_region, window_s, ratio
        self.first_fail: float | None = None
        self.recovered_at: float | None = None
        self.after = 0
        self.failed = 0
        self._win: collections.deque[tuple[float, bool]] = collections.deque()  # [start, start + window)
        self._pending: collections.deque[tuple[float, bool]] = collections.deque()  # after the window
        self._good = 0

    def feed(self, r: ReqLike) -> None:
        if r.t < self.fault_at:
            return
        self.after += 1
        self.failed += int(not r.ok)
        if self.first_fail is None:
            if r.ok:
                return
            self.first_fail = r.t
        if self.recovered_at is not None:
            return
        self._pending.append((r.t, r.ok and r.region == self.dr))
        self._advance()

    def _advance(self) -> None:
        while True:
            if not self._win:
                if not self._pending:
                    return
                self._take()
            end = self._win[0][0] + self.window_s
            while self._pending and self._pending[0][0] < end:
                self._take()
            if not self._pending:
                return  # the window is not complete yet
            start, start_good = self._win[0]
            if start_good and self._good / len(self._win) >= self.ratio:
                self.recovered_at = start
                self._win.clear()
                self._pending.clear()
                return
            self._win.popleft()
            self._good -= int(start_good)

    def _take(self) -> None:
        item = self._pending.popleft()
        self._win.append(item)
        self._good += int(item[1])

    def result(self) -> UserRto:
        rto = None if self.recovered_at is None or self.first_fail is None else round(
            self.recovered_at - self.first_fail, 6)
        return UserRto(self.fault_at, self.first_fail, self.recovered_at, rto, self.window_s, self.ratio,
                       self.after, self.failed)


def user_facing_rto(requests: Iterable[ReqLike], fault_at: float, dr_region: str, window_s: float,
                    ratio: float) -> UserRto:
    """RTO from a request log sorted by time (see the module docstring). A window counts only if
    it is complete (the log extends past its end)."""
    scan = RtoScanner(fault_at, dr_region, window_s, ratio)
    for r in requests:
        scan.feed(r)
    return scan.result()


# ----------------------------------------------------------------------------- clocks and phases


@dataclass(frozen=True)
class Clock:
    """A wait the policy sets, as this run applied it and as the policy has it."""

    name: str
    applied_s: float
    policy_s: float
    in_rto: bool = True  # on the path of the failover's RTO (else shown, not projected)

    @property
    def shortened(self) -> bool:
        return self.applied_s != self.policy_s


def projected_rto(measured_s: float, clocks: Sequence[Clock]) -> float:
    """The measured RTO with each shortened clock on its path replaced by the policy's value."""
    return round(measured_s + sum(c.policy_s - c.applied_s for c in clocks if c.in_rto), 6)


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


def phase_verdict(phase: Phase, budget_s: float | None) -> str:
    """'policy' for a wait the policy sets (never judged against itself), else met/missed/no budget."""
    if not phase.measured:
        return "policy"
    if budget_s is None:
        return "no budget"
    return "met" if phase.duration_s <= budget_s else "missed"


# ----------------------------------------------------------------------------- charts


def time_series(requests: Iterable[ReqLike], bucket_s: float = 1.0,
                region_of: Callable[[ReqLike], str] | None = None) -> list[dict[str, Any]]:
    """Requests per bucket: ok and failed counts by serving region (for charts), in one pass."""
    buckets: dict[int, dict[str, Any]] = {}
    t0: float | None = None
    for r in requests:
        if t0 is None:
            t0 = r.t
        k = int((r.t - t0) // bucket_s)
        b = buckets.get(k)
        if b is None:
            b = buckets[k] = {"t": round(t0 + k * bucket_s, 3), "ok": 0, "failed": 0, "by_region": {}}
        b["ok" if r.ok else "failed"] += 1
        reg = b["by_region"].setdefault((region_of(r) if region_of else r.region) or "none", {"ok": 0, "failed": 0})
        reg["ok" if r.ok else "failed"] += 1
    return [buckets[k] for k in sorted(buckets)]


def downsample(series: list[dict[str, Any]], points: int = 600) -> list[dict[str, Any]]:
    """Merge neighbouring buckets so a chart has at most ``points`` (counts become per-second means)."""
    if len(series) <= points:
        return series
    step = -(-len(series) // points)
    out = []
    for i in range(0, len(series), step):
        group = series[i:i + step]
        merged: dict[str, Any] = {"t": group[0]["t"], "ok": 0, "failed": 0, "by_region": {}}
        for b in group:
            merged["ok"] += b["ok"] / len(group)
            merged["failed"] += b["failed"] / len(group)
            for reg, c in b["by_region"].items():
                m = merged["by_region"].setdefault(reg, {"ok": 0.0, "failed": 0.0})
                m["ok"] += c["ok"] / len(group)
                m["failed"] += c["failed"] / len(group)
        out.append(merged)
    return out
