"""The drill's IAM policy lets it remove only what it wrote. Its canary and probe cleanup removes
object versions for good (s3:DeleteObjectVersion), so the grant must stop at the drill's own
prefixes and the lock key: on ``bucket/*`` the drill's role could erase the application's objects
in both regions, with no delete marker to undo it. The recorder names a DeleteObjects' objects by
the prefix they share, so the aws-path test holds each real call against this scope."""

from __future__ import annotations

from typing import Any

import pytest

from drill.core.aws import CANARY_PREFIX, PROBE_PREFIX
from drill.core.config import load_config
from drill.plan.arns import arn_of
from drill.plan.catalogue import build
from drill.plan.iam import grants, iam_policy
from drill.targets.factory import capabilities_of

LOADED = load_config(None, "sandbox")
CFG = LOADED.config


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    return iam_policy(build(LOADED, "all", "aws", capabilities_of("aws")))


def _buckets() -> list[tuple[str, str]]:
    return [(role, b) for role in ("primary", "dr") for b in CFG.side(role).buckets]


def test_the_drill_may_remove_every_version_of_its_own_objects(policy: dict[str, Any]) -> None:
    for _, bucket in _buckets():
        for key in (f"{CANARY_PREFIX}d-20261129/000000001", f"{PROBE_PREFIX}before/1a2b3c4d"):
            for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
                assert grants(policy, action, f"arn:aws:s3:::{bucket}/{key}"), (action, bucket, key)
    lock = f"arn:aws:s3:::{CFG.lock.bucket or CFG.side('primary').buckets[0]}/{CFG.lock.key}"
    assert grants(policy, "s3:DeleteObjectVersion", lock) and grants(policy, "s3:PutObject", lock)


def test_the_applications_objects_cannot_be_removed_or_overwritten(policy: dict[str, Any]) -> None:
    for role, bucket in _buckets():
        for key in ("orders/2026/11/29/42.json", "drill-canaryX", "index.html"):
            arn = f"arn:aws:s3:::{bucket}/{key}"
            assert not grants(policy, "s3:DeleteObjectVersion", arn), arn
            assert not grants(policy, "s3:DeleteObject", arn), arn
            if role == "dr":  # the failback copies DR's objects back over the primary's (CopyObject)
                assert not grants(policy, "s3:PutObject", arn), arn


def test_a_recorded_delete_is_judged_by_every_object_it_named(policy: dict[str, Any]) -> None:
    bucket = CFG.side("primary").buckets[0]

    def granted(**resources: Any) -> bool:
        rec = {"service": "s3", "operation": "DeleteObjects", "region": CFG.side("primary").region,
               "resources": {"Bucket": bucket, **resources}}
        return grants(policy, "s3:DeleteObjectVersion", arn_of(rec, CFG.allowed_accounts()[0]))

    assert granted(KeyPrefix=f"{CANARY_PREFIX}d1/00000", Objects=1000)
    assert granted(Key=CFG.lock.key, Objects=3)
    assert not granted(KeyPrefix="", Objects=2)  # a canary and an application object in one call
    assert not granted(KeyPrefix="drill-", Objects=2)  # a canary and a probe: wider than either grant
