"""The restore's cleanup waits until the DR replica has taken its writer's delete of the canary
rows: the next scenario of the drill writes the same sequence numbers and cuts replication first,
so a row still in flight stayed in the DR copy and read as present there (the aws-path rehearsal's
failback found 32 writes "reported failed, present" once the cleanup of the other stores got
faster than the twin's 1.5 s replication delay)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from drill.engine import restore


class Replicated:
    """A writer and its replica: the writer's delete reaches the replica after ``arrives`` reads."""

    name, ordered, deletes_replicate = "rds", True, True

    def __init__(self, arrives: int | None):
        self.rows = {"primary": {1, 2, 3}, "dr": {1, 2, 3}}
        self.arrives, self.reads = arrives, 0

    def delete_all(self, role: str) -> set[int]:
        if role != "primary":
            raise RuntimeError("read-only replica")
        gone, self.rows["primary"] = self.rows["primary"], set()
        return gone

    def surviving(self, role: str) -> set[int]:
        self.reads += role == "dr"
        if self.arrives is not None and self.reads >= self.arrives:
            self.rows["dr"] = set()
        return set(self.rows[role])


class Journal:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def write(self, event: str, **data: Any) -> None:
        self.events.append((event, data))


def _drill(store: Replicated, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(restore, "stores", lambda target, drill_id: {"rds": store})
    return SimpleNamespace(target=None, drill_id="d1", deadline=1.0, interval=0.01, journal=Journal(),
                           cognito=None, replication_s=None)


def test_the_cleanup_returns_once_the_replica_took_the_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Replicated(arrives=5)
    drill = _drill(store, monkeypatch)
    assert restore.cleanup(drill) == {"rds:primary": 3}
    assert store.rows == {"primary": set(), "dr": set()} and store.reads == 5
    assert "canaries_in_flight" not in dict(drill.journal.events)


def test_rows_the_replica_never_lost_are_journaled(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Replicated(arrives=None)  # replication stopped: the delete never arrives
    drill = _drill(store, monkeypatch)
    restore.cleanup(drill)
    assert dict(drill.journal.events)["canaries_in_flight"] == {"left": {"rds": 3}}
