"""The drill's S3 cleanup removes every version and delete marker under its prefix, past the
1,000 a listing page and a DeleteObjects call hold, and nothing outside the prefix (moto in process)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from drill.core.aws import s3_delete_versions


@pytest.fixture()
def s3(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="canaries")
        client.put_bucket_versioning(Bucket="canaries", VersioningConfiguration={"Status": "Enabled"})
        yield client


def _versions(s3: Any, prefix: str) -> int:
    return sum(len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
               for page in s3.get_paginator("list_object_versions").paginate(Bucket="canaries", Prefix=prefix))


def test_every_version_and_marker_under_the_prefix_goes_and_nothing_else(s3: Any) -> None:
    for i in range(700):
        s3.put_object(Bucket="canaries", Key=f"drill-canary/d1/{i:09d}", Body=b"1")
    for i in range(0, 699, 3):  # a second version, and a plain delete's marker: 1,166 versions and markers in all
        s3.put_object(Bucket="canaries", Key=f"drill-canary/d1/{i:09d}", Body=b"2")
        s3.delete_object(Bucket="canaries", Key=f"drill-canary/d1/{i + 1:09d}")
    s3.put_object(Bucket="canaries", Key="drill-canary/d2/000000001", Body=b"other drill")
    assert _versions(s3, "drill-canary/d1/") == 1166  # past one page and one DeleteObjects call
    keys = s3_delete_versions(s3, "canaries", "drill-canary/d1/")
    assert len(keys) == 700
    assert _versions(s3, "drill-canary/d1/") == 0
    assert _versions(s3, "drill-canary/d2/") == 1
