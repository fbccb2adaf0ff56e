"""The provisioner in both postures, checked by ordinary boto3 reads (moto in-process)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from drill.config import load_config
from sandbox import moto_ext
from sandbox.provision import Inventory, provision

CFG = load_config(profile="sandbox").config
SEOUL, TOKYO = CFG.regions.primary.name, CFG.regions.dr.name


@pytest.fixture(params=["policy", "as-is"])
def provisioned(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Inventory, Any]]:
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(k, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", CFG.sandbox.account_id)
    moto_ext.install()
    with mock_aws():
        @cache
        def client(service: str, region: str) -> Any:
            return boto3.client(service, region_name=region)

        inv = provision(CFG, client, request.param)
        yield request.param, inv, client


def test_common_resources_exist_in_both_postures(provisioned: tuple[str, Inventory, Any]) -> None:
    posture, inv, client = provisioned
    assert inv.account_id == os.environ["MOTO_ACCOUNT_ID"]
    replica = client("rds", TOKYO).describe_db_instances(DBInstanceIdentifier=CFG.rds.replica.id)["DBInstances"][0]
    assert replica["ReadReplicaSourceDBInstanceIdentifier"].endswith(":db:" + CFG.rds.primary.id)
    assert client("eks", TOKYO).describe_nodegroup(
        clusterName=CFG.eks.dr.cluster, nodegroupName=CFG.eks.dr.node_group)["nodegroup"]["scalingConfig"] == {
        "minSize": 2, "maxSize": 4, "desiredSize": 2}
    for pair in CFG.s3.buckets:
        rules = client("s3", SEOUL).get_bucket_replication(Bucket=pair.name)["ReplicationConfiguration"]["Rules"]
        assert rules[0]["Destination"]["Bucket"] == f"arn:aws:s3:::{pair.dr}"
    names = {s["Name"] for s in client("secretsmanager", TOKYO).list_secrets()["SecretList"]}
    assert {s.name for s in CFG.secrets} <= names
    alarms = {a["AlarmName"] for a in client("cloudwatch", TOKYO).describe_alarms()["MetricAlarms"]}
    assert alarms == {a.name for a in CFG.monitoring.alarms}
    assert client("acm", TOKYO).list_certificates()["CertificateSummaryList"][0]["DomainName"] == "*.portforge.org"
    pools = client("cognito-idp", TOKYO).list_user_pools(MaxResults=10)["UserPools"]
    assert [p["Name"] for p in pools] == [CFG.cognito.dr.pool_name]


def test_known_gaps_follow_the_posture(provisioned: tuple[str, Inventory, Any]) -> None:
    posture, inv, client = provisioned
    fixed = posture == "policy"
    table = client("dynamodb", SEOUL).describe_table(TableName="team_chats_ddb")["Table"]
    assert bool(table.get("StreamSpecification", {}).get("StreamEnabled")) is fixed
    assert (table.get("Replicas") == [{"RegionName": TOKYO, "ReplicaStatus": "ACTIVE"}]) is fixed
    r53 = client("route53", "us-east-1")
    assert (len(r53.list_health_checks()["HealthChecks"]) == len(CFG.albs)) is fixed
    if not fixed:
        assert r53.list_health_checks()["HealthChecks"] == []
    records = r53.list_resource_record_sets(HostedZoneId=inv.zone_id)["ResourceRecordSets"]
    api = [r for r in records if r["Name"] == "api.portforge.org."]
    assert ({r.get("Failover") for r in api} == {"PRIMARY", "SECONDARY"}) is fixed
    dist = client("cloudfront", "us-east-1").get_distribution(Id=inv.distribution_id)["Distribution"]
    assert (dist["DistributionConfig"]["OriginGroups"]["Quantity"] == 1) is fixed
    ecr = client("ecr", SEOUL).describe_registry()["replicationConfiguration"]["rules"]
    assert bool(ecr) is fixed
    assert sorted(inv.skipped) == ([] if fixed else sorted(g.key for g in CFG.known_gaps))
