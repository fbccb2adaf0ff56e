"""The localstack target against a real LocalStack (``tox -e localstack``; .ci/run starts one).

Selected with ``-m localstack``; the default run deselects them (pytest.ini). Without a LocalStack
answering they fail, they do not skip: CI must show them pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from drill.config import load_config
from drill.targets import detect_localstack

pytestmark = pytest.mark.localstack
REPO = Path(__file__).resolve().parents[1]


def _drill(*args: str, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drill", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def ls_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = dict(os.environ)
    env["DRILL_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("ls-runtime") / "sandbox")
    return env


def _localstack(service: str, region: str) -> Any:
    routing = detect_localstack(load_config(None, "localstack").config)
    return boto3.client(service, region_name=region, endpoint_url=routing["url"],
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_detection_routes_what_localstack_offers_and_names_the_rest() -> None:
    routing = detect_localstack(load_config(None, "localstack").config)
    assert routing["version"], routing
    assert {"s3", "route53", "dynamodb", "secretsmanager", "sns", "cloudwatch"} <= set(routing["services"])
    assert "monitoring" in routing["signing"]  # CloudWatch signs as "monitoring"
    to_emulator = " ".join(routing["to_emulator"])
    for svc in ("rds", "eks", "ecr", "cloudfront", "cognito-idp"):
        assert f"{svc} (not in open-source LocalStack)" in to_emulator


def test_unreachable_localstack_is_bad_input(ls_env: dict[str, str]) -> None:
    proc = _drill("run", "--target", "localstack", "--set", "localstack.endpoint=http://127.0.0.1:9",
                  env=ls_env, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "no LocalStack answering at http://127.0.0.1:9" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_every_feature_passes_on_localstack(ls_env: dict[str, str], tmp_path: Path) -> None:
    proc = _drill("run", "--target", "localstack", "--cadence", "all", "--reports", str(tmp_path), env=ls_env)
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = Path(proc.stdout.strip().splitlines()[-1].split("report: ", 1)[1])
    result = json.loads((report.parent / "result.json").read_text())
    assert result["target"] == "localstack"
    assert result["scenarios"] and all(s["status"] == "passed" for s in result["scenarios"])
    emulated = result["emulated"]
    assert "LocalStack 2026.3.0" in emulated["aws (LocalStack)"]
    assert "rds (not in open-source LocalStack)" in emulated["aws (sandbox emulator)"]
    assert any("S3 cross-region replication" in v for v in emulated.values())
    assert any("Route 53 health-check evaluation" in v for v in emulated.values())
    # every change made through the AWS API was in `drill plan` for this cadence
    from drill.plan import build, uncovered

    events = [json.loads(line) for line in (report.parent / "journal.jsonl").read_text().splitlines()]
    assert uncovered(build(load_config(None, "localstack").config, "all", "localstack"), events) == []
    md = (report.parent / "report.md").read_text()
    assert "aws (LocalStack): LocalStack 2026.3.0" in md
    # the failback returned every DR write, through LocalStack's S3 and DynamoDB
    rpo = result["failback"]["rpo"]
    assert set(rpo) == {"rds", "dynamodb", "s3"}, rpo
    assert all(r["acked"] > 0 and r["lost"] == 0 for r in rpo.values()), rpo


def test_the_drill_s_resources_live_in_localstack(ls_env: dict[str, str]) -> None:
    """After a drill the policy's resources are in LocalStack itself, asked directly (not via the twin)."""
    cfg = load_config(None, "localstack").config
    # someone else's resources on the same LocalStack: the twin neither removes nor probes them
    other = _localstack("s3", "us-east-1")
    other.create_bucket(Bucket="someone-elses-bucket")
    foreign = _localstack("route53", "us-east-1").create_health_check(
        CallerReference=f"someone-else-{os.getpid()}", HealthCheckConfig={
            "Type": "HTTP", "FullyQualifiedDomainName": "unrelated.example", "ResourcePath": "/", "Port": 80,
            "RequestInterval": 30, "FailureThreshold": 1})["HealthCheck"]["Id"]
    up = _drill("sandbox", "up", "--target", "localstack", env=ls_env, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        other.head_bucket(Bucket="someone-elses-bucket")
        ids = [h["Id"] for h in _localstack("route53", "us-east-1").list_health_checks()["HealthChecks"]]
        assert foreign in ids
        time.sleep(2)  # several checker rounds: the foreign check would have failed by now
        parts = json.loads(_drill("sandbox", "status", "--json", env=ls_env, timeout=30).stdout)["parts"]
        assert parts["slack"]["detail"] == "0 messages", parts["slack"]
        assert parts["healthchecker"]["detail"].startswith(f"{len(cfg.albs)} checks"), parts["healthchecker"]
        primary, dr = cfg.regions.primary.name, cfg.regions.dr.name
        buckets = {b["Name"] for b in _localstack("s3", primary).list_buckets()["Buckets"]}
        assert {p.name for p in cfg.s3.buckets} | {p.dr for p in cfg.s3.buckets} <= buckets
        table = cfg.dynamodb.tables[0].name
        desc = _localstack("dynamodb", primary).describe_table(TableName=table)["Table"]
        assert [r["RegionName"] for r in desc["Replicas"]] == [dr]
        # a write in Seoul reads back in Tokyo: LocalStack's own global tables (DynamoDB Local)
        key = {cfg.dynamodb.tables[0].hash_key: {"S": "ls-probe"}}
        if cfg.dynamodb.tables[0].range_key:
            key[cfg.dynamodb.tables[0].range_key] = {"S": "0"}
        _localstack("dynamodb", primary).put_item(TableName=table, Item=key)
        assert _localstack("dynamodb", dr).get_item(TableName=table, Key=key).get("Item") == key
        zones = [z["Name"] for z in _localstack("route53", "us-east-1").list_hosted_zones()["HostedZones"]]
        assert zones.count(cfg.route53.zone.rstrip(".") + ".") == 1  # a second `up` cleared the first
        names = {s["Name"] for s in _localstack("secretsmanager", dr).list_secrets()["SecretList"]}
        assert {s.name for s in cfg.secrets} <= names  # replicas in Tokyo
        alarms = {a["AlarmName"] for a in _localstack("cloudwatch", primary).describe_alarms()["MetricAlarms"]}
        assert {a.name for a in cfg.monitoring.alarms} <= alarms
        # RDS is not LocalStack's: the twin's emulator answers it, through the same endpoint
        state = json.loads(_drill("sandbox", "status", "--json", env=ls_env, timeout=30).stdout)
        assert state["aws_routing"]["localstack"] and "rds" not in state["aws_routing"]["to_localstack"]
        rds = boto3.client("rds", region_name=primary, endpoint_url=state["aws_endpoint"],
                           aws_access_key_id="test", aws_secret_access_key="test")
        assert rds.describe_db_instances(DBInstanceIdentifier=cfg.rds.primary.id)["DBInstances"]
        # the readiness audit reads the same posture out of LocalStack and the emulator: no gap
        audit = _drill("audit", "--target", "localstack", "--json", env=ls_env, timeout=120)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert json.loads(audit.stdout)["gaps"] == 0
    finally:
        _drill("sandbox", "down", env=ls_env, timeout=60)


def test_a_killed_fault_on_localstack_is_finished_by_drill_rollback(ls_env: dict[str, str], tmp_path: Path) -> None:
    import signal

    from drill.journal import read_journal

    up = _drill("sandbox", "up", "--target", "localstack", env=ls_env, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        proc = subprocess.Popen([sys.executable, "-m", "drill", "fault", "region_outage", "--target", "localstack",
                                 "--hold", "120", "--reports", str(tmp_path)], cwd=REPO, env=ls_env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        end = time.monotonic() + 60
        journal = None
        while journal is None and time.monotonic() < end:
            for j in tmp_path.glob("*/journal.jsonl"):
                if any(e.event == "fault_injected" for e in read_journal(j)):
                    journal = j
            time.sleep(0.1)
        assert journal is not None, proc.stdout.read() if proc.stdout else ""
        # while the outage holds, Seoul's S3 in LocalStack is cut off at the twin's front
        state = json.loads(_drill("sandbox", "status", "--json", env=ls_env, timeout=30).stdout)
        cfg = load_config(None, "localstack").config
        s3 = boto3.client("s3", region_name=cfg.regions.primary.name, endpoint_url=state["aws_endpoint"],
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=BotoConfig(retries={"max_attempts": 1}))
        with pytest.raises(Exception, match="ServiceUnavailable|503"):
            s3.head_bucket(Bucket=cfg.s3.buckets[0].name)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        res = _drill("rollback", "--reports", str(tmp_path), env=ls_env, timeout=180)
        assert res.returncode == 0 and "undone: region_outage-1" in res.stdout, res.stdout + res.stderr
        s3.head_bucket(Bucket=cfg.s3.buckets[0].name)  # answered again, by LocalStack
        status = json.loads(_drill("sandbox", "status", "--json", env=ls_env, timeout=30).stdout)
        assert status["healthy"], status["parts"]
    finally:
        _drill("sandbox", "down", env=ls_env, timeout=60)
