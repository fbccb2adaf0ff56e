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


def test_a_service_that_never_processes_them_ends_at_the_deadline(ddb: Any) -> None:
    ddb.put_item(TableName="chats", Item=_key("drill-canary#d1", 1))
    ddb.batch_write_item = lambda **kwargs: {"UnprocessedItems": kwargs["RequestItems"]}
    with pytest.raises(DeadlineExceeded, match="1 of 1 canary items not removed"):
        dynamodb_delete_keys(ddb, "chats", [_key("drill-canary#d1", 1)], deadline_s=0.3)
