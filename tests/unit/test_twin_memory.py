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


def test_listing_versions_reads_only_the_prefix_and_no_body(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """ListObjectVersions answers as S3 does (every version under the prefix once across pages,
    IsLatest on the newest, delete markers) without copying any object: moto deep-copied every
    version of every key in the bucket on each call, reading each body into a new file."""
    from moto.s3.models import FakeKey

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="versions")
    s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Enabled"})
    want: dict[tuple[str, str], bool] = {}
    for i in range(7):
        key = f"drill-canary/x/{i:09d}"
        old = s3.put_object(Bucket="versions", Key=key, Body=b"old")["VersionId"]
        new = s3.put_object(Bucket="versions", Key=key, Body=b"new")["VersionId"]
        want.update({(key, old): False, (key, new): True})
    for i in range(30):
        s3.put_object(Bucket="versions", Key=f"users/{i}", Body=b"data" * 100)  # not under the prefix
    marker = s3.delete_object(Bucket="versions", Key="drill-canary/x/000000003")["VersionId"]
    want = {k: (v and k[0] != "drill-canary/x/000000003") for k, v in want.items()}
    copies: list[str] = []
    original = FakeKey.__getstate__
    monkeypatch.setattr(FakeKey, "__getstate__", lambda self: copies.append(self.name) or original(self))
    got: dict[tuple[str, str], bool] = {}
    markers: dict[tuple[str, str], bool] = {}
    pages = s3.get_paginator("list_object_versions").paginate(Bucket="versions", Prefix="drill-canary/",
                                                              PaginationConfig={"PageSize": 3})
    for page in pages:
        for v in page.get("Versions", []):
            assert (v["Key"], v["VersionId"]) not in got, f"listed twice: {v['Key']} {v['VersionId']}"
            got[(v["Key"], v["VersionId"])] = v["IsLatest"]
            assert v["Size"] == 3 and v["ETag"].strip('"') in {"149603e6c03516362a8da23f624db945",
                                                               "22af645d1859cb5ca6da0c484f1f37ea"}
        markers.update({(m["Key"], m["VersionId"]): m["IsLatest"] for m in page.get("DeleteMarkers", [])})
    assert got == want
    assert markers == {("drill-canary/x/000000003", marker): True}
    assert copies == []
    # the views are freed with the answer (reference counts), not left to the collector's full pass
    gc.disable()
    try:
        s3.list_object_versions(Bucket="versions", Prefix="drill-canary/")
        assert sum(1 for o in gc.get_objects() if type(o).__name__ == "_KeyView") == 0
    finally:
        gc.enable()
    assert s3.get_object(Bucket="versions", Key="drill-canary/x/000000001")["Body"].read() == b"new"  # bodies intact


def test_a_replaced_replication_link_leaves_no_thread() -> None:
    """The RDS replica's link is replaced at each promotion and failback; a closed link's accept
    thread stayed blocked in accept() (closing a listening socket does not wake it on Linux): the
    twin's threads grew by four a drill (17 -> 36 over three)."""
    import socket

    from sandbox.rds.link import DelayLink

    with socket.socket() as target:
        target.bind(("127.0.0.1", 0))
        target.listen(1)
        links = [DelayLink(target.getsockname(), 0.0) for _ in range(3)]
        for link in links:
            link.close()
        for link in links:
            link._acceptor.join(timeout=5)
        left = [link.port for link in links if link._acceptor.is_alive()]
        assert left == [], f"accept threads still running for closed links on ports {left}"
