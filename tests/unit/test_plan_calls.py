"""The plan lists each call a step makes once: the library's parts share calls (a failover and its
canaries both read the database login and describe the DR instance), and an operator reading
`drill plan` before a drill on the account should not count the same call twice."""

from __future__ import annotations

from collections import Counter

from drill.core.config import load_config
from drill.plan.catalogue import build
from drill.targets.factory import capabilities_of

LOADED = load_config(None, "sandbox")


def _key(call: dict[str, object]) -> tuple[object, ...]:
    return (call["kind"], call["service"], call["operation"], call["region"], tuple(call["resources"]),  # type: ignore[arg-type]
            call["mutating"])


def test_every_step_lists_each_call_once() -> None:
    plan = build(LOADED, "all", "aws", capabilities_of("aws"))
    twice = [(st["step"], k[2], k[3]) for sc in plan["scenarios"] for st in sc["steps"]
             for k, n in Counter(_key(c) for c in st["calls"]).items() if n > 1]
    assert not twice, twice


def test_the_failback_setup_keeps_what_each_mention_says() -> None:
    """The failback's setup step is the failover plus canary writes in DR: the DR instance is
    described once, with the note one part gives it, the login read once with its note once; the
    canary rows name the DR instance they go to."""
    plan = build(LOADED, "quarterly", "aws", capabilities_of("aws"))
    steps = [st for sc in plan["scenarios"] for st in sc["steps"]
             if any(c["operation"] == "PromoteReadReplica" for c in st["calls"])
             and any(c["operation"] == "PutItem" for c in st["calls"])]
    assert steps, "no step both promotes the replica and writes canaries"
    calls = steps[0]["calls"]
    dr = LOADED.config.side("dr").region
    described = [c for c in calls if c["operation"] == "DescribeDBInstances" and c["region"] == dr]
    assert len(described) == 1 and described[0]["note"] == "endpoint"
    logins = [c for c in calls if c["operation"] == "GetSecretValue" and c["region"] == dr]
    assert [c["note"] for c in logins] == ["the database login"]  # named by both parts, said once
    rows = next(c for c in calls if c["kind"] == "mysql" and "canary rows" in c["operation"])
    assert any(LOADED.config.side("dr").db.id in r for r in rows["resources"]), rows


def test_mentions_of_one_call_merge_their_notes_and_other_calls_stay_apart() -> None:
    from drill.core.calls import aws
    from drill.plan.catalogue import unique

    calls = [aws("rds", "DescribeDBInstances", "r1", "db-a"), aws("rds", "DescribeDBInstances", "r1", "db-a", note="x"),
             aws("rds", "DescribeDBInstances", "r1", "db-a", note="y"), aws("rds", "DescribeDBInstances", "r1", "db-a", note="x"),
             aws("rds", "DescribeDBInstances", "r1", "db-b", note="z"), aws("rds", "DescribeDBInstances", "r2", "db-a"),
             aws("rds", "PromoteReadReplica", "r1", "db-a", True)]
    got = unique(calls)
    assert [(c.operation, c.region, c.resources, c.note) for c in got] == [
        ("DescribeDBInstances", "r1", ("db-a",), "x; y"), ("DescribeDBInstances", "r1", ("db-b",), "z"),
        ("DescribeDBInstances", "r2", ("db-a",), ""), ("PromoteReadReplica", "r1", ("db-a",), "")]
