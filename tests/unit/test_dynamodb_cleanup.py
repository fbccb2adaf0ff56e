"""The drill's DynamoDB cleanup removes its canary items 25 a BatchWriteItem call, past one call,
sends again what the service left unprocessed, and stops at its deadline (moto in process)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from drill.core.aws import dynamodb_delete_keys
from drill.core.errors import DeadlineExceeded


@pytest.fixture()
def ddb(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="chats", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}])
        yield client


def _key(pk: str, i: int) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": f"{i:09d}"}}


def _left(ddb: Any, pk: str) -> int:
    return sum(page["Count"] for page in ddb.get_paginator("query").paginate(
        TableName="chats", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}}))


def test_every_canary_item_goes_in_batches_and_nothing_else(ddb: Any) -> None:
    for i in range(60):
        ddb.put_item(TableName="chats", Item=_key("drill-canary#d1", i))
    ddb.put_item(TableName="chats", Item=_key("room-1", 1))
    calls: list[int] = []
    real = ddb.batch_write_item

    def counted(**kwargs: Any) -> Any:
        calls.append(len(kwargs["RequestItems"]["chats"]))
        return real(**kwargs)

    ddb.batch_write_item = counted
    dynamodb_delete_keys(ddb, "chats", [_key("drill-canary#d1", i) for i in range(60)])
    assert calls == [25, 25, 10]
    assert _left(ddb, "drill-canary#d1") == 0
    assert _left(ddb, "room-1") == 1


def test_unprocessed_items_are_sent_again(ddb: Any) -> None:
    for i in range(30):
        ddb.put_item(TableName="chats", Item=_key("drill-canary#d1", i))
    real = ddb.batch_write_item
    throttled = [2]  # the first two calls: the service processes all but the last three requests

    def throttling(**kwargs: Any) -> Any:
        batch = kwargs["RequestItems"]["chats"]
        if throttled[0] and len(batch) > 3:
            throttled[0] -= 1
            real(RequestItems={"chats": batch[:-3]})
            return {"UnprocessedItems": {"chats": batch[-3:]}}
        return real(**kwargs)

    ddb.batch_write_item = throttling
    dynamodb_delete_keys(ddb, "chats", [_key("drill-canary#d1", i) for i in range(30)])
    assert _left(ddb, "drill-canary#d1") == 0


def test_a_throttled_batch_is_sent_again(ddb: Any) -> None:
    from botocore.exceptions import ClientError

    for i in range(5):
        ddb.put_item(TableName="chats", Item=_key("drill-canary#d1", i))
    real, refused = ddb.batch_write_item, [1]

    def throttling(**kwargs: Any) -> Any:
        if refused[0]:
            refused[0] -= 1
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                              "BatchWriteItem")
        return real(**kwargs)

    ddb.batch_write_item = throttling
    dynamodb_delete_keys(ddb, "chats", [_key("drill-canary#d1", i) for i in range(5)])
    assert _left(ddb, "drill-canary#d1") == 0


def test_a_key_given_twice_is_sent_once(ddb: Any) -> None:
    """DynamoDB refuses a batch that names a key twice (moto too)."""
    ddb.put_item(TableName="chats", Item=_key("drill-canary#d1", 1))
    dynamodb_delete_keys(ddb, "chats", [_key("drill-canary#d1", 1), _key("drill-canary#d1", 1)])
    assert _left(ddb, "drill-canary#d1") == 0


def test_slow_progress_is_not_a_stall(ddb: Any) -> None:
    """The deadline counts time without an item removed, not the whole cleanup: a service that
    removes one item a call, for longer in all than ``stall_s``, still gets every item removed."""
    import time

    for i in range(8):
        ddb.put_item(TableName="chats", Item=_key("drill-canary#d1", i))
    real = ddb.batch_write_item

    def one_a_call(**kwargs: Any) -> Any:
        batch = kwargs["RequestItems"]["chats"]
        time.sleep(0.05)
        real(RequestItems={"chats": batch[:1]})
        return {"UnprocessedItems": {"chats": batch[1:]}} if len(batch) > 1 else {}

    ddb.batch_write_item = one_a_call
    started = time.monotonic()
    dynamodb_delete_keys(ddb, "chats", [_key("drill-canary#d1", i) for i in range(8)], stall_s=0.2, min_rate=1)
    assert time.monotonic() - started > 0.2  # longer than stall_s in all
    assert _left(ddb, "drill-canary#d1") == 0


def test_progress_now_and_then_still_ends_at_the_cleanups_cap(ddb: Any) -> None:
    """A service that removes one item a call keeps the stall deadline alive; the cap on the whole
    cleanup (stall_s plus the keys at min_rate items a second) ends it."""
    for i in range(60):
        ddb.put_item(TableName="chats", Item=_key("drill-canary#d1", i))
    real, sent = ddb.batch_write_item, [0]

    def one_a_call(**kwargs: Any) -> Any:
        import time

        sent[0] += 1
        assert sent[0] < 30, "still sending after 30 calls: no cap"
        batch = kwargs["RequestItems"]["chats"]
        time.sleep(0.02)
        real(RequestItems={"chats": batch[:1]})
        return {"UnprocessedItems": {"chats": batch[1:]}} if len(batch) > 1 else {}

    ddb.batch_write_item = one_a_call
    with pytest.raises(DeadlineExceeded, match=r"items not removed within the cleanup's cap of 0.2 s \(600 items"):
        dynamodb_delete_keys(ddb, "chats", [_key("drill-canary#d1", i) for i in range(60)], stall_s=0.1,
                             min_rate=600)
    assert 0 < _left(ddb, "drill-canary#d1") < 60


def test_the_stall_deadline_is_not_given_up_a_pause_early(ddb: Any) -> None:
    """A service that refuses everything until just before ``stall_s`` and then takes the batch:
    the cleanup keeps trying until the deadline itself (it once gave up when the next pause would
    have crossed it, about a pause early)."""
    import time

    ddb.put_item(TableName="chats", Item=_key("drill-canary#d1", 1))
    real, opens = ddb.batch_write_item, time.monotonic() + 0.28

    def late(**kwargs: Any) -> Any:
        if time.monotonic() < opens:
            return {"UnprocessedItems": kwargs["RequestItems"]}
        return real(**kwargs)

    ddb.batch_write_item = late
    dynamodb_delete_keys(ddb, "chats", [_key("drill-canary#d1", 1)], stall_s=0.3)
    assert _left(ddb, "drill-canary#d1") == 0


def test_a_service_that_never_processes_them_ends_at_the_deadline(ddb: Any) -> None:
    ddb.put_item(TableName="chats", Item=_key("drill-canary#d1", 1))
    sent = [0]

    def never(**kwargs: Any) -> Any:
        sent[0] += 1
        assert sent[0] < 50, "still sending after 50 calls: no deadline"
        return {"UnprocessedItems": kwargs["RequestItems"]}

    ddb.batch_write_item = never
    with pytest.raises(DeadlineExceeded, match="1 of 1 items not removed, none removed for 0.3 s"):
        dynamodb_delete_keys(ddb, "chats", [_key("drill-canary#d1", 1)], stall_s=0.3)


def _create_policy_tables(client: Any, tables: Any) -> None:
    """The policy's global tables, as the account has them (hash key, and range key where set)."""
    for t in tables:
        keys = [(t.hash_key, "HASH")] + ([(t.range_key, "RANGE")] if t.range_key else [])
        client.create_table(TableName=t.name, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": n, "KeyType": k} for n, k in keys],
                            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n, _ in keys])


def test_the_store_removes_its_canaries_from_every_table_of_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the drill's own store: its items, spread over each global table, go; other items stay."""
    from types import SimpleNamespace

    from drill.core.config import load_config
    from drill.traffic.stores import DynamoStore

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    cfg = load_config(None, "sandbox").config
    tables = cfg.dynamodb.tables
    assert len(tables) >= 2, "the sandbox policy spreads canaries over two tables or more"
    region = cfg.side("primary").region
    with mock_aws():
        client = boto3.client("dynamodb", region_name=region)
        _create_policy_tables(client, tables)
        for t in tables:
            other = {t.hash_key: {"S": "room-1"}} | ({t.range_key: {"S": "1"}} if t.range_key else {})
            client.put_item(TableName=t.name, Item=other)
        target = SimpleNamespace(cfg=cfg, client=lambda *_, **__: client)
        store = DynamoStore(target, "d1")  # type: ignore[arg-type]
        for seq in range(1, 61):
            store.write(seq, "primary")
        assert store.surviving("primary") == set(range(1, 61))
        import drill.core.aws

        paced: list[float] = []
        real = drill.core.aws.dynamodb_delete_keys

        def recording(*args: Any, **kwargs: Any) -> Any:
            paced.append(kwargs["min_rate"])
            return real(*args, **kwargs)

        monkeypatch.setattr(drill.core.aws, "dynamodb_delete_keys", recording)
        assert store.delete_all("primary") == set(range(1, 61))
        assert store.surviving("primary") == set()
        assert all(client.scan(TableName=t.name)["Count"] == 1 for t in tables)  # the application's item stays
        # its cap paced on the rate the store's canaries wrote each table at (10/s over the tables)
        assert paced == [cfg.measure.canary_rate("dynamodb") / len(tables)] * len(tables) == [5.0] * len(tables)


def test_a_cleanup_after_the_tables_order_changed_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cleanup deletes each item by the key it was found under: a later cleanup (drill rollback
    after an upgrade, a config whose tables were reordered) still removes every item (with keys
    computed from the sequence numbers, each item would be looked for in the other table)."""
    from types import SimpleNamespace

    from drill.core.config import load_config
    from drill.traffic.stores import DynamoStore

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    cfg = load_config(None, "sandbox").config
    reordered = cfg.model_copy(deep=True)
    reordered.dynamodb.tables.reverse()
    assert [t.name for t in reordered.dynamodb.tables] != [t.name for t in cfg.dynamodb.tables]
    with mock_aws():
        client = boto3.client("dynamodb", region_name=cfg.side("primary").region)
        _create_policy_tables(client, cfg.dynamodb.tables)
        writer = DynamoStore(SimpleNamespace(cfg=cfg, client=lambda *_, **__: client), "d1")  # type: ignore[arg-type]
        for seq in range(1, 41):
            writer.write(seq, "primary")
        later = DynamoStore(SimpleNamespace(cfg=reordered, client=lambda *_, **__: client), "d1")  # type: ignore[arg-type]
        assert later.delete_all("primary") == set(range(1, 41))
        assert all(client.scan(TableName=t.name)["Count"] == 0 for t in cfg.dynamodb.tables)


def test_a_table_whose_cleanup_fails_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused cleanup in the first table is raised, after the other tables' items are gone."""
    from types import SimpleNamespace

    from botocore.exceptions import ClientError

    from drill.core.config import load_config
    from drill.traffic.stores import DynamoStore

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    cfg = load_config(None, "sandbox").config
    first, *rest = cfg.dynamodb.tables
    with mock_aws():
        client = boto3.client("dynamodb", region_name=cfg.side("primary").region)
        _create_policy_tables(client, cfg.dynamodb.tables)
        store = DynamoStore(SimpleNamespace(cfg=cfg, client=lambda *_, **__: client), "d1")  # type: ignore[arg-type]
        for seq in range(1, 41):
            store.write(seq, "primary")
        real = client.batch_write_item

        def refusing(**kwargs: Any) -> Any:
            if first.name in kwargs["RequestItems"]:
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "BatchWriteItem")
            return real(**kwargs)

        client.batch_write_item = refusing
        with pytest.raises(ClientError, match="AccessDenied"):
            store.delete_all("primary")
        assert client.scan(TableName=first.name)["Count"] > 0
        assert all(client.scan(TableName=t.name)["Count"] == 0 for t in rest)


def test_a_batch_is_journaled_with_its_table_and_refused_to_a_command_that_only_reads() -> None:
    """The journal names the table a BatchWriteItem writes: the IAM check of every call made holds
    it against the table's ARN (without it, the ARN is ``*`` and the check fails)."""
    from types import SimpleNamespace

    from drill.core.config import load_config
    from drill.core.errors import ReadOnlyViolation
    from drill.core.redact import Redactor
    from drill.plan.arns import arn_of
    from drill.targets.base import Target

    written: list[dict[str, Any]] = []
    journal = SimpleNamespace(redactor=Redactor(), write=lambda event, durable=False, **rec: written.append(rec))
    model = SimpleNamespace(name="BatchWriteItem", service_model=SimpleNamespace(service_name="dynamodb"))
    params = {"RequestItems": {"chats": [{"DeleteRequest": {"Key": _key("drill-canary#d1", i)}} for i in range(3)]}}
    loaded = load_config(None, "sandbox")
    Target(loaded, journal=journal)._before_call(model, params, {"client_region": "ap-northeast-2"})  # type: ignore[arg-type]
    assert written[0]["resources"] == {"TableName": "chats", "Requests": 3}
    assert arn_of(written[0], "123456789012") == "arn:aws:dynamodb:ap-northeast-2:123456789012:table/chats"
    with pytest.raises(ReadOnlyViolation, match="BatchWriteItem"):
        Target(loaded, read_only=True)._before_call(model, params)  # type: ignore[arg-type]
