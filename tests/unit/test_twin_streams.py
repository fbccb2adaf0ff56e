"""The twin's DynamoDB streams keep a bounded number of records per shard, as AWS keeps 24 hours:
every record still reaches replication, sequence numbers stay the ones already handed out, and a
trimmed position reads as AWS's TrimmedDataAccessException. (Read through the shard: moto's
in-process mock does not route the dynamodbstreams API; the twin serves it.)"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from sandbox.aws import ext, ext_stores
from sandbox.events import EVENTS


@pytest.fixture()
def streams(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(ext_stores, "STREAM_KEEP", 5)
    ext.install()
    fired: list[dict[str, Any]] = []

    def listener(region: str, table: str, record: dict[str, Any]) -> None:
        fired.append(record)

    EVENTS.stream_record.add_listener(listener)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="ap-northeast-2")
        ddb.create_table(TableName="canaries", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        yield ddb, fired
    EVENTS.stream_record.remove_listener(listener)


def _shard() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    account = boto3.client("sts", region_name="ap-northeast-2").get_caller_identity()["Account"]
    return dynamodb_backends[account]["ap-northeast-2"].tables["canaries"].stream_shard


def test_a_shard_keeps_its_last_records_and_fires_every_one(streams: Any) -> None:
    ddb, fired = streams
    for i in range(12):
        ddb.put_item(TableName="canaries", Item={"k": {"S": f"item-{i:02d}"}})
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in fired] == [f"item-{i:02d}" for i in range(12)]
    shard = _shard()
    kept = shard.get(shard.starting_sequence_number, 100)  # what a TRIM_HORIZON iterator reads
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in kept] == [f"item-{i:02d}" for i in range(7, 12)]
    assert [r["dynamodb"]["SequenceNumber"] for r in kept] == [r["dynamodb"]["SequenceNumber"] for r in fired[7:]]


def test_a_trimmed_position_is_refused_as_aws_refuses_it(streams: Any) -> None:
    from moto.core.exceptions import JsonRESTError

    ddb, fired = streams
    ddb.put_item(TableName="canaries", Item={"k": {"S": "first"}})
    first = int(fired[0]["dynamodb"]["SequenceNumber"])
    assert _shard().get(first, 1)[0]["dynamodb"]["Keys"]["k"]["S"] == "first"
    for i in range(10):
        ddb.put_item(TableName="canaries", Item={"k": {"S": f"item-{i}"}})
    with pytest.raises(JsonRESTError) as err:
        _shard().get(first, 1)
    assert err.value.error_type == "TrimmedDataAccessException"
