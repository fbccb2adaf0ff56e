"""The restore's cleanup waits until the DR replica has taken its writer's delete of the canary
rows: the next scenario cuts replication first, so a delete still in flight left the rows in the
DR copy for good (in the aws-path rehearsal, once the other stores' cleanup got faster than the
twin's 1.5 s replication delay, the failback scenario then found 32 of its writes "reported
failed, present": since then each scenario also writes numbers of its own, test_canary_rates.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from drill.engine import restore


class Replicated:
    """A writer and its replica: the writer's delete reaches the replica after ``arrives`` reads of
    it; the first ``failing`` reads fail (a region that does not answer for a moment)."""

    name, ordered, deletes_replicate = "rds", True, True

    def __init__(self, arrives: int | None, failing: int = 0, dr_only: frozenset[int] = frozenset()):
        self.rows = {"primary": {1, 2, 3}, "dr": {1, 2, 3} | dr_only}
        self.arrives, self.failing, self.reads = arrives, failing, 0

    def delete_all(self, role: str) -> set[int]:
        if role != "primary":
            raise RuntimeError("read-only replica")
        gone, self.rows["primary"] = self.rows["primary"], set()
        return gone

    def surviving(self, role: str) -> set[int]:
        if role == "dr":
            self.reads += 1
            if self.reads <= self.failing:
                raise ConnectionError("the DR region does not answer")
            if self.arrives is not None and self.reads >= self.arrives:
                self.rows["dr"] -= {1, 2, 3}
        return set(self.rows[role])


class Journal:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def write(self, event: str, **data: Any) -> None:
        self.events.append((event, data))


def _drill(store: Replicated, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(restore, "stores", lambda target, drill_id: {"rds": store})
    return SimpleNamespace(target=None, drill_id="d1", deadline=1.0, interval=0.01, journal=Journal(),
                           cognito=None, replication_s=None, cfg=SimpleNamespace(rds=SimpleNamespace(lag_threshold_s=9.0)))


def test_the_cleanup_returns_once_the_replica_took_the_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Replicated(arrives=5)
    drill = _drill(store, monkeypatch)
    assert restore.cleanup(drill) == {"rds:primary": 3}
    assert store.rows == {"primary": set(), "dr": set()} and store.reads == 5
    assert "canaries_in_flight" not in dict(drill.journal.events)


def test_a_failed_read_of_the_replica_is_not_taken_for_the_rows_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Replicated(arrives=5, failing=2)
    restore.cleanup(_drill(store, monkeypatch))
    assert store.rows["dr"] == set() and store.reads == 5


def test_only_the_rows_the_writer_deleted_are_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Replicated(arrives=5, dr_only=frozenset({99}))  # a row only the DR copy ever had
    drill = _drill(store, monkeypatch)
    restore.cleanup(drill)
    assert store.reads == 5 and "canaries_in_flight" not in dict(drill.journal.events)


def test_rows_the_replica_never_lost_are_journaled(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Replicated(arrives=None)  # replication stopped: the delete never arrives
    drill = _drill(store, monkeypatch)
    restore.cleanup(drill)
    assert dict(drill.journal.events)["canaries_in_flight"] == {"left": {"rds": 3}}


def test_no_wait_when_the_dr_instance_is_no_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    """A halted drill leaves the runbook's changes in place (DR the writer): nothing will arrive."""
    store = Replicated(arrives=None)
    drill = _drill(store, monkeypatch)
    restore.cleanup(drill, replica_follows=False)
    assert store.reads == 0 and "canaries_in_flight" not in dict(drill.journal.events)


def test_nothing_deleted_nothing_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario without canaries: the replica is not read at all (an unreachable one would hold
    every such scenario's restore for the whole bound)."""
    store = Replicated(arrives=None)
    store.rows["primary"] = set()
    restore.cleanup(_drill(store, monkeypatch))
    assert store.reads == 0


@pytest.mark.parametrize(("seen", "deadline", "bound"), [
    (None, 60.0, 9.0),   # replication never seen (not delivering?): the lag the policy accepts
    (0.5, 60.0, 9.0),    # twice the replication seen plus 5 s (6 s), at least the lag the policy accepts (9 s)
    (4.0, 60.0, 13.0),   # 2 x 4 + 5
    (40.0, 60.0, 60.0),  # never past the action deadline
])
def test_the_wait_is_bounded(seen: float | None, deadline: float, bound: float, monkeypatch: pytest.MonkeyPatch) -> None:
    from drill.core.errors import ActionFailed

    asked: list[float] = []

    def wait_until(predicate: Any, deadline_s: float, what: str, interval_s: float = 0.1) -> float:
        asked.append(deadline_s)
        raise ActionFailed(what)

    monkeypatch.setattr(restore, "wait_until", wait_until)
    drill = _drill(Replicated(arrives=None), monkeypatch)
    drill.replication_s, drill.deadline = seen, deadline
    restore.cleanup(drill)
    assert asked == [bound]
