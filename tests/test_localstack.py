"""The localstack target against a real LocalStack (tox env `localstack`, which installs, starts
and stops one with ci/localstack.sh). Selected with ``-m localstack``; the default run deselects
them (pytest.ini). Without a LocalStack answering they fail, they do not skip."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from conftest import run_drill_cli as drill
from drill.core.config import load_config
from drill.targets.localstack import detect_localstack
from tests.conftest import events_of, only_drill, start_drill, wait_journal

pytestmark = pytest.mark.localstack
CFG = load_config(None, "localstack").config


def _ls(service: str, region: str) -> Any:
    url = detect_localstack(CFG)["url"]
    return boto3.client(service, region_name=region, endpoint_url=url, aws_access_key_id="test",
                        aws_secret_access_key="test")


@pytest.fixture(scope="module")
def ls_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    base = tmp_path_factory.mktemp("ls-twin")
    base.chmod(0o700)
    env = {"DRILL_RUNTIME_DIR": str(base / "run")}
    foreign = _ls("s3", "us-east-1")
    foreign.create_bucket(Bucket="someone-elses-bucket")
    up = drill("sandbox", "up", "--target", "localstack", "--set", "sandbox.address_block='127.80'", env=env,
               timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    yield {**env, "DRILL_LS_SET": "sandbox.address_block='127.80'"}
    drill("sandbox", "down", env=env, timeout=60)


def test_detection_routes_what_localstack_offers_and_names_the_rest() -> None:
    routing = detect_localstack(CFG)
    assert routing["version"], routing
    assert {"s3", "route53", "dynamodb"} <= set(routing["services"])
    to_emulator = " ".join(routing["to_emulator"])
    for svc in ("rds", "eks", "ecr", "cloudfront", "cognito-idp", "fis", "secretsmanager", "cloudwatch", "sns"):
        assert f"{svc} (" in to_emulator, svc


def test_unreachable_localstack_is_bad_input(tmp_path: Path) -> None:
    res = drill("run", "--target", "localstack", "--set", "localstack.endpoint=http://127.0.0.1:9",
                env={"DRILL_RUNTIME_DIR": str(tmp_path / "run")}, timeout=60)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "no LocalStack answering at http://127.0.0.1:9" in res.stderr


def test_the_policy_s_resources_live_in_localstack(ls_env: dict[str, str]) -> None:
    primary, dr = CFG.regions.primary.name, CFG.regions.dr.name
    _ls("s3", "us-east-1").head_bucket(Bucket="someone-elses-bucket")  # another user's bucket is left alone
    buckets = {b["Name"] for b in _ls("s3", primary).list_buckets()["Buckets"]}
    assert {p.name for p in CFG.s3.buckets} | {p.dr for p in CFG.s3.buckets} <= buckets
    table = CFG.dynamodb.tables[0]
    desc = _ls("dynamodb", primary).describe_table(TableName=table.name)["Table"]
    assert [r["RegionName"] for r in desc["Replicas"]] == [dr]
    key = {table.hash_key: {"S": "ls-probe"}} | ({table.range_key: {"S": "0"}} if table.range_key else {})
    _ls("dynamodb", primary).put_item(TableName=table.name, Item=key)
    assert _ls("dynamodb", dr).get_item(TableName=table.name, Key=key).get("Item") == key
    audit = drill("audit", "--target", "localstack", "--json", "--set", ls_env["DRILL_LS_SET"], env=ls_env,
                  timeout=120)
    assert audit.returncode == 0 and json.loads(audit.stdout)["gaps"] == 0, audit.stdout[-2000:] + audit.stderr


def test_every_feature_passes_on_localstack(ls_env: dict[str, str], tmp_path: Path) -> None:
    res = drill("run", "--target", "localstack", "--cadence", "all", "--reports", str(tmp_path),
                "--set", ls_env["DRILL_LS_SET"], env=ls_env, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    result = json.loads((only_drill(tmp_path) / "result.json").read_text())
    assert result["target"] == "localstack" and {s["status"] for s in result["scenarios"]} == {"passed"}
    assert "LocalStack 2026.3.0" in result["emulated"]["aws (LocalStack)"]
    assert "rds (not in open-source LocalStack)" in result["emulated"]["aws (twin's emulator)"]
    rpo = result["failback"]["rpo"]
    assert set(rpo) == {"rds", "dynamodb", "s3"} and all(r["acked"] > 0 and r["lost"] == 0 for r in rpo.values())


def test_a_killed_fault_is_finished_by_drill_rollback(ls_env: dict[str, str], tmp_path: Path) -> None:
    r53 = _ls("route53", "us-east-1")
    proc = start_drill(["fault", "health_endpoint_failing", "--target", "localstack", "--hold", "120",
                        "--reports", str(tmp_path), "--set", ls_env["DRILL_LS_SET"]], {**os.environ, **ls_env})
    folder = wait_journal(tmp_path, proc, lambda e: e.event == "fault_injected", "the fault", timeout=90)
    paths = {h["HealthCheckConfig"]["ResourcePath"] for h in r53.list_health_checks()["HealthChecks"]}
    assert CFG.route53.health_check.path not in paths  # changed in LocalStack's own Route 53
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    res = drill("rollback", "--target", "localstack", "--reports", str(tmp_path), "--set", ls_env["DRILL_LS_SET"],
                env=ls_env, timeout=180)
    assert res.returncode == 0 and "undone: health_endpoint_failing-1" in res.stdout, res.stdout + res.stderr
    ours = [h for h in r53.list_health_checks()["HealthChecks"]
            if h["HealthCheckConfig"].get("FullyQualifiedDomainName", "").endswith(".elb.amazonaws.com")]
    assert ours and {h["HealthCheckConfig"]["ResourcePath"] for h in ours} == {CFG.route53.health_check.path}
    assert [e.event for e in events_of(folder)][-1] == "drill_finished"
    assert Path(folder, "report.html").exists()
