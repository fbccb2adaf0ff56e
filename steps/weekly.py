"""Steps of the weekly data consistency check: probes that must arrive, and every store compared."""

from __future__ import annotations

from typing import Any

from drill.engine.api import (
    Drill,
    calls,
    compare,
    front_end_status,
    inject,
    parsers,
    probe_buckets,
    probe_database,
    probe_tables,
    replication_caught_up,
    then,
    when,
)


def _late(results: list[dict[str, Any]], budget: float | None) -> list[str]:
    return [f"{r['probe']}: " + ("never seen" if r["seen_after_s"] is None else f"{r['seen_after_s']:.2f} s")
            for r in results if r["seen_after_s"] is None or (budget is not None and r["seen_after_s"] > budget)]


@then("a probe write to each global table in each region shows in the other region within the DynamoDB RPO budget",
      calls=calls.probes)
def _(drill: Drill) -> None:
    budget = drill.cfg.budgets.rpo_s.get("dynamodb")
    late = _late(probe_tables(drill), budget)
    assert not late, f"budget {budget} s: " + "; ".join(late)


@then("a probe object in each bucket pair arrives in its DR bucket within the S3 RPO budget", calls=calls.probes)
def _(drill: Drill) -> None:
    budget = drill.cfg.budgets.rpo_s.get("s3")
    late = _late(probe_buckets(drill), budget)
    assert not late, f"budget {budget} s: " + "; ".join(late)


@then("a probe row arrives in the DR database within the RDS RPO budget", calls=calls.probes)
def _(drill: Drill) -> None:
    budget = drill.cfg.budgets.rpo_s.get("rds")
    late = _late([probe_database(drill)], budget)
    assert not late, f"budget {budget} s: " + "; ".join(late)


@when("replication has caught up", calls=calls.steady)
def _(drill: Drill) -> None:
    replication_caught_up(drill)


@then(parsers.parse("the {store} copies match"), calls=calls.compare)
def _(drill: Drill, store: str) -> None:
    diffs = compare(drill, store)
    assert not diffs, f"{len(diffs)} differences: " + "; ".join(diffs[:10])


@then("CloudFront's default behaviour uses the origin group with the DR origin", calls=calls.cloudfront)
def _(drill: Drill) -> None:
    diffs = compare(drill, "cloudfront")
    assert not diffs, "; ".join(diffs)


@when("the primary origin refuses reads", fault="front_origin_denied")
def _(drill: Drill) -> None:
    inject(drill, "front_origin_denied")


@then("the front end is still served", calls=calls.cloudfront)
def _(drill: Drill) -> None:
    status = front_end_status(drill)
    assert status == 200, f"the front end answered HTTP {status} while its primary origin refuses reads"
