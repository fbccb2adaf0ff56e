"""Helpers of the tests that drive the CLI against a twin.

The twin of the session (``sandbox_env``) is started by the root conftest.py, shared with the
features; ``twin`` is its control client (the twin-only knobs), ``account`` what ``drill sandbox
env`` gives, which is only what an account would (endpoint, credentials, kubeconfig, resolver).
``world`` reads the account-level state a drill must leave as it found it, through boto3 alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from conftest import REPO, loaded_config
from conftest import run_drill_cli as drill
from drill.core.journal import iter_journal

__all__ = ["drill", "REPO"]
CFG = loaded_config().config


def sandbox_sets() -> list[str]:
    """The sandbox profile's short clocks as ``--set`` arguments (for --target aws against the twin)."""
    values = yaml.safe_load((REPO / "config" / "profiles" / "sandbox.yaml").read_text()) or {}
    out: list[str] = []
    for key, value in values.items():
        out += ["--set", f"{key}={value}"]
    return out


def account_env(runtime_env: dict[str, str]) -> dict[str, str]:
    """``eval $(drill sandbox env)``: only what an account gives a drill."""
    res = drill("sandbox", "env", env=runtime_env, check=True)
    env = dict(runtime_env)
    for line in res.stdout.splitlines():
        assert line.startswith("export "), line
        key, _, value = line[len("export "):].partition("=")
        env[key] = value
    assert set(env) - set(runtime_env) <= {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                            "AWS_DEFAULT_REGION", "KUBECONFIG", "DRILL_RESOLVER",
                                            "AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE"}, env
    return env


@pytest.fixture(scope="session")
def twin(sandbox_env: dict[str, str]) -> Any:
    from sandbox.client import attach

    t = attach()
    assert t is not None, "the session's twin is not running"
    return t


@pytest.fixture(scope="session")
def account(sandbox_env: dict[str, str]) -> dict[str, str]:
    return account_env(sandbox_env)


def client(env: dict[str, str], service: str, region: str | None = None) -> Any:
    return boto3.client(service, region_name=region or env["AWS_DEFAULT_REGION"], endpoint_url=env["AWS_ENDPOINT_URL"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def world(env: dict[str, str], cfg: Any = CFG) -> dict[str, Any]:
    """What a drill must leave as it found it: the Route 53 records, each database's role and the
    node groups' scaling, read through the AWS API as on an account."""
    r53 = client(env, "route53", "us-east-1")
    zone = next(z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == cfg.route53.zone)
    records = []
    for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone["Id"]):
        for rr in page["ResourceRecordSets"]:
            if rr["Type"] in ("A", "CNAME", "AAAA"):
                records.append(json.dumps(rr, sort_keys=True, default=str))
    dbs = {}
    for role in ("primary", "dr"):
        side = cfg.side(role)
        inst = client(env, "rds", side.region).describe_db_instances(DBInstanceIdentifier=side.db.id)["DBInstances"][0]
        dbs[role] = {"status": inst["DBInstanceStatus"], "source": inst.get("ReadReplicaSourceDBInstanceIdentifier"),
                     "replicas": sorted(inst.get("ReadReplicaDBInstanceIdentifiers", [])),
                     "class": inst["DBInstanceClass"], "multi_az": inst["MultiAZ"],
                     "retention": inst["BackupRetentionPeriod"]}
    groups = {}
    for role in ("primary", "dr"):
        cl = cfg.side(role).cluster
        ng = client(env, "eks", cfg.side(role).region).describe_nodegroup(clusterName=cl.cluster,
                                                                           nodegroupName=cl.node_group)
        groups[role] = ng["nodegroup"]["scalingConfig"]
    return {"records": sorted(records), "databases": dbs, "node_groups": groups}


def events_of(drill_dir: Path) -> list[Any]:
    return list(iter_journal(drill_dir / "journal.jsonl"))


def only_drill(reports: Path) -> Path:
    dirs = [d for d in reports.iterdir() if d.is_dir() and (d / "journal.jsonl").exists()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def start_drill(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "drill", *args], cwd=REPO, env=dict(os.environ, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_journal(reports: Path, proc: subprocess.Popen[str], until: Callable[[Any], bool], what: str,
                 timeout: float = 180) -> Path:
    """Wait until an event of the drill's journal satisfies ``until``; returns the drill's folder."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for journal in reports.glob("*/journal.jsonl"):
            try:
                if any(until(e) for e in iter_journal(journal)):
                    return journal.parent
            except Exception:  # a line being written
                pass
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"the drill ended before {what}: {out[-3000:]}")
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def steady(twin: Any, account: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The twin reset to steady state before the test; yields the world as found."""
    res = twin.reset()
    assert res["healthy"], res
    yield world(account)


def leftovers(env: dict[str, str], drill_id: str, cfg: Any = CFG) -> list[str]:
    """What a drill left of its data, read through the account's APIs: any version or delete marker
    of its canary and probe objects in the policy's buckets (replication needs versioning, where a
    plain delete only hides an object), any canary item in a global table, in both regions, and
    any version of the drill's lock."""
    left: list[str] = []
    for role in ("primary", "dr"):
        side = cfg.side(role)
        s3 = client(env, "s3", side.region)
        for bucket in side.buckets:
            for prefix in (f"drill-canary/{drill_id}/", f"drill-probe/{drill_id}/"):
                for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
                    left += [f"s3://{bucket}/{v['Key']} {kind}" for kind in ("Versions", "DeleteMarkers")
                             for v in page.get(kind, [])]
        ddb = client(env, "dynamodb", side.region)
        for table in cfg.dynamodb.tables:
            for page in ddb.get_paginator("scan").paginate(TableName=table.name):
                left += [f"{side.region} {table.name} {item[table.hash_key]['S']}" for item in page["Items"]
                         if item[table.hash_key].get("S", "").startswith(f"drill-canary#{drill_id}")]
    # the lock: each renewal (every 20 s) wrote a version of it; its release removes them all
    lock_bucket = cfg.lock.bucket or cfg.side("primary").buckets[0]
    s3 = client(env, "s3", cfg.side("primary").region)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=lock_bucket, Prefix=cfg.lock.key):
        left += [f"s3://{lock_bucket}/{v['Key']} {kind}" for kind in ("Versions", "DeleteMarkers")
                 for v in page.get(kind, []) if v["Key"] == cfg.lock.key]
    return left
