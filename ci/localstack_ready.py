"""Readiness check for a LocalStack the tests will use: exercise, once, each service the drill
routes to it, the way the drill and the twin's provisioner use them (a table with a stream and a
replica in a second region, a bucket with versioning and replication, a Route 53 health check, a
secret with a replica, SNS, CloudWatch, KMS, ACM). A service that installs a package at first use
(DynamoDB Streams: kinesis-local; DynamoDB: DynamoDB Local) fails here, with its name, rather than
in the middle of a test. Everything it creates is removed again.

Usage: python3 ci/localstack_ready.py [ENDPOINT]   (default http://127.0.0.1:4566); exit 1 on failure.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

PRIMARY, DR = "eu-west-1", "eu-central-1"


def client(endpoint: str, service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint, aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 2}, read_timeout=120))


def wait(what: str, predicate: Callable[[], bool], deadline_s: float = 120) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"{what}: not within {deadline_s:.0f} s")
        time.sleep(0.5)


def dynamodb(ep: str, name: str) -> None:
    ddb = client(ep, "dynamodb", PRIMARY)
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    try:
        wait("table ACTIVE", lambda: ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE")
        ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True,
                                                              "StreamViewType": "NEW_AND_OLD_IMAGES"})
        ddb.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": DR}}])
        ddb.put_item(TableName=name, Item={"k": {"S": "ready"}})
        replica = client(ep, "dynamodb", DR)
        wait("item in the replica", lambda: "Item" in replica.get_item(TableName=name, Key={"k": {"S": "ready"}}))
        arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
        streams = client(ep, "dynamodbstreams", PRIMARY)
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        assert shards, "the stream has no shard"
    finally:
        try:
            ddb.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": DR}}])
        except Exception:
            pass
        ddb.delete_table(TableName=name)


def s3(ep: str, name: str) -> None:
    src, dst = client(ep, "s3", PRIMARY), client(ep, "s3", DR)
    for c, bucket, region in ((src, name, PRIMARY), (dst, name + "-dr", DR)):
        c.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    try:
        src.put_bucket_replication(Bucket=name, ReplicationConfiguration={
            "Role": "arn:aws:iam::000000000000:role/ready", "Rules": [{
                "ID": "ready", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Enabled"},
                "Destination": {"Bucket": f"arn:aws:s3:::{name}-dr"}}]})
        assert src.get_bucket_replication(Bucket=name)["ReplicationConfiguration"]["Rules"]
        src.put_object(Bucket=name, Key="ready", Body=b"ready")
    finally:
        for c, bucket in ((src, name), (dst, name + "-dr")):
            for page in c.get_paginator("list_object_versions").paginate(Bucket=bucket):
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    c.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
            c.delete_bucket(Bucket=bucket)


def route53(ep: str, name: str) -> None:
    r53 = client(ep, "route53", "us-east-1")
    hc = r53.create_health_check(CallerReference=name, HealthCheckConfig={
        "Type": "HTTP", "FullyQualifiedDomainName": "ready.example.com", "Port": 80, "ResourcePath": "/health",
        "RequestInterval": 30, "FailureThreshold": 3})["HealthCheck"]["Id"]
    try:
        r53.get_health_check_status(HealthCheckId=hc)
        zone = r53.create_hosted_zone(Name=f"{name}.example.com", CallerReference=name)["HostedZone"]["Id"]
        r53.delete_hosted_zone(Id=zone)
    finally:
        r53.delete_health_check(HealthCheckId=hc)


def secretsmanager(ep: str, name: str) -> None:
    sm = client(ep, "secretsmanager", PRIMARY)
    sm.create_secret(Name=name, SecretString='{"value": "ready"}', AddReplicaRegions=[{"Region": DR}])
    try:
        client(ep, "secretsmanager", DR).describe_secret(SecretId=name)
    finally:
        sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[DR])
        sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def others(ep: str, name: str) -> None:
    sns = client(ep, "sns", PRIMARY)
    topic = sns.create_topic(Name=name)["TopicArn"]
    cw = client(ep, "cloudwatch", PRIMARY)
    cw.put_metric_alarm(AlarmName=name, Namespace="Ready", MetricName="M", Statistic="Average", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                        AlarmActions=[topic])
    cw.delete_alarms(AlarmNames=[name])
    sns.delete_topic(TopicArn=topic)
    kms = client(ep, "kms", PRIMARY)
    key = kms.create_key(Description=name)["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    acm = client(ep, "acm", PRIMARY)
    cert = acm.request_certificate(DomainName=f"{name}.example.com", ValidationMethod="DNS")["CertificateArn"]
    acm.delete_certificate(CertificateArn=cert)


def main() -> int:
    endpoint = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4566"
    name = "drill-ready-" + uuid.uuid4().hex[:8]
    failed = []
    for check in (dynamodb, s3, route53, secretsmanager, others):
        start = time.monotonic()
        try:
            check(endpoint, name)
            print(f"localstack ready: {check.__name__} ok ({time.monotonic() - start:.1f} s)")
        except Exception as exc:
            failed.append(check.__name__)
            print(f"localstack ready: {check.__name__} FAILED: {type(exc).__name__}: {exc}"[:400], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
