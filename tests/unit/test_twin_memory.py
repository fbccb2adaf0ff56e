"""The twin frees what the account no longer holds: moto kept every model object it ever made (an
S3 object version deleted long ago, each copy of an item a Scan answered with), so a long drill
grew the twin while storing nothing (bench/soak.py). Counted with the collector, in process."""

from __future__ import annotations

import gc
from typing import Any

import boto3
import pytest
from moto import mock_aws

from drill.core.aws import s3_delete_versions
from sandbox.aws import ext


def _alive(cls: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is cls)


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ext.install()
    with mock_aws():
        yield


def test_deleted_object_versions_are_freed(aws: Any) -> None:
    from moto.s3.models import FakeKey

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="canaries")
    s3.put_bucket_versioning(Bucket="canaries", VersioningConfiguration={"Status": "Enabled"})
    before = _alive(FakeKey)
    for i in range(50):
        s3.put_object(Bucket="canaries", Key=f"drill-canary/{i:09d}", Body=b"1")
    assert _alive(FakeKey) == before + 50
    assert len(s3_delete_versions(s3, "canaries", "drill-canary/")) == 50
    assert _alive(FakeKey) == before


def test_items_a_scan_answered_with_are_freed(aws: Any) -> None:
    from moto.dynamodb.models.dynamo_type import Item

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(TableName="canaries", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    before = _alive(Item)
    for i in range(20):
        ddb.put_item(TableName="canaries", Item={"k": {"S": f"{i:09d}"}})
    for _ in range(10):
        assert len(ddb.scan(TableName="canaries")["Items"]) == 20
    assert _alive(Item) == before + 20
