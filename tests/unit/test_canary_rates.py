"""Each store's canaries write at the store's own configured rate (a 15-minute budget needs far
fewer writes than a 1-second one, and every write is held in both regions until the cleanup), the
plan says so (the DynamoDB cleanup's pace on the store's rate: test_dynamodb_cleanup.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from drill.core.config import load_config
from drill.engine.traffic import Traffic
from drill.plan.library import Ctx, canaries


def _traffic(overrides: list[str] | None = None) -> Traffic:
    cfg = load_config(None, "sandbox", overrides).config
    drill: Any = SimpleNamespace(cfg=cfg, target=SimpleNamespace(cfg=cfg), drill_id="d1", journal=None, canary_seq=0)
    return Traffic(drill)


def test_each_store_writes_at_its_own_rate() -> None:
    writers = _traffic().writers
    assert {name: w.rate for name, w in writers.items()} == {"rds": 20.0, "dynamodb": 10.0, "s3": 1.0}
    assert writers["s3"].interval == 1.0 and writers["dynamodb"].interval == 0.1


def test_the_default_rate_applies_to_a_store_not_set_apart() -> None:
    writers = _traffic(["measure.canary_rate_per_s=40", "measure.canary_rates_per_s={s3: 2}"]).writers
    assert {name: w.rate for name, w in writers.items()} == {"rds": 40.0, "dynamodb": 40.0, "s3": 2.0}


def test_the_plan_states_each_store_rate() -> None:
    cfg = load_config(None, "sandbox").config
    notes = {c.operation: c.note for c in canaries(Ctx(cfg, "123456789012")) if c.mutating}
    assert "10/s" in notes["PutItem"] and "1/s" in notes["PutObject"]
    assert "20/s" in notes["CREATE TABLE IF NOT EXISTS / INSERT canary rows"]


def test_a_budget_of_zero_or_cognito_needs_no_resolution() -> None:
    """A zero budget fails any loss whatever the rate; Cognito has no canaries."""
    cfg = load_config(None, "sandbox", ["budgets.rpo_s.dynamodb=0", "budgets.rpo_s.cognito=0.01"]).config
    assert cfg.budgets.rpo_s["dynamodb"] == 0 and cfg.budgets.rpo_s["cognito"] == 0.01


def test_a_later_scenario_writes_sequence_numbers_no_earlier_one_used() -> None:
    """A scenario's rows may still be in a replica when the next one starts (its delete in flight):
    the next one's writers go on from the last number used, so such a row is never read as one of
    its own writes (it was: 32 writes "reported failed, present in DR" in the aws-path rehearsal)."""
    first = _traffic()
    drill = first.drill
    assert {w.last_seq + 1 for w in first.writers.values()} == {1}
    taken = {"rds": 3, "dynamodb": 7, "s3": 5}  # the numbers each writer's thread took
    for w in first.writers.values():
        w._seq = taken[w.store]
    first.stop_canaries()
    assert drill.canary_seq == 7
    second = Traffic(drill)
    assert {w.last_seq + 1 for w in second.writers.values()} == {8}


def test_the_wait_for_replication_counts_only_this_traffic_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows an earlier scenario left in the DR copy do not show that this traffic replicates."""
    from drill.core.errors import ActionFailed
    from drill.engine import traffic as engine_traffic
    from drill.engine.traffic import wait_replicated

    monkeypatch.setattr(engine_traffic, "MIN_HISTORY_S", 0.0)

    class Copy:
        def __init__(self, rows: set[int]):
            self.rows = rows

        def surviving(self, role: str) -> set[int]:
            return self.rows

    drill: Any = SimpleNamespace(cfg=SimpleNamespace(measure=SimpleNamespace(action_deadline_s=0.2)), interval=0.01)
    traffic: Any = SimpleNamespace(stores={"rds": Copy({1, 2, 3})}, writers={"rds": SimpleNamespace(first_seq=4)})
    with pytest.raises(ActionFailed, match="replication is not delivering"):
        wait_replicated(drill, traffic)
    traffic.stores["rds"].rows.add(4)
    wait_replicated(drill, traffic)
