"""Every fault of the catalog, through `drill fault`, against the twin: while it holds, its effect
is seen through what an account shows (AWS APIs, Kubernetes, DNS and HTTP); however the command
ends (the hold running out, Ctrl-C, SIGTERM, SIGHUP, a hard kill followed by `drill rollback`), the
fault is undone and the twin is back in steady state, the world as it was found."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pymysql
import pytest
from kubernetes import client as k8s
from kubernetes import config as kconfig

from drill.faults.registry import catalog
from tests.conftest import CFG, client, drill, events_of, start_drill, wait_journal, world

PARAMS = {"pod_kill": ["--param", f"deployment={CFG.workloads[0].deployment}"],
          "replication_lag": ["--param", "delay_s=2.5"], "node_group_zero": ["--param", "role=dr"]}
ENDINGS = ["hold", "SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"]


def _primary_lb_answers(env: dict[str, str]) -> bool:
    """An HTTP answer from the primary region's first load balancer, found by its DNS name."""
    import dns.resolver

    lbs = client(env, "elbv2", CFG.regions.primary.name).describe_load_balancers()["LoadBalancers"]
    res = dns.resolver.Resolver(configure=False)
    host, port = env["DRILL_RESOLVER"].split(":")
    res.nameservers, res.port = [host], int(port)
    address = res.resolve(lbs[0]["DNSName"], "A")[0].to_text()
    req = urllib.request.Request(f"http://{address}:{CFG.endpoints.port or 18080}{CFG.route53.health_check.path}",
                                 headers={"Host": f"api.{CFG.route53.zone}"})
    try:
        with urllib.request.urlopen(req, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _db_login(env: dict[str, str], role: str) -> bool:
    side = CFG.side(role)
    login = json.loads(client(env, "secretsmanager", side.region).get_secret_value(
        SecretId=CFG.rds.login_secret)["SecretString"])
    ep = client(env, "rds", side.region).describe_db_instances(
        DBInstanceIdentifier=side.db.id)["DBInstances"][0]["Endpoint"]
    try:
        pymysql.connect(host=ep["Address"], port=ep["Port"], user=login["username"], password=login["password"],
                        connect_timeout=2, read_timeout=2).close()
        return True
    except pymysql.MySQLError:
        return False


def _health_checks(env: dict[str, str]) -> list[dict[str, Any]]:
    r53 = client(env, "route53", "us-east-1")
    return [h["HealthCheckConfig"] for h in r53.list_health_checks()["HealthChecks"]]


def _replicates(env: dict[str, str], store: str, within_s: float) -> bool:
    key = f"fault-test-{uuid.uuid4().hex[:8]}"
    p, d = CFG.regions.primary.name, CFG.regions.dr.name
    if store == "dynamodb":
        table = CFG.dynamodb.tables[1]
        client(env, "dynamodb", p).put_item(TableName=table.name, Item={table.hash_key: {"S": key}})
        get = lambda: "Item" in client(env, "dynamodb", d).get_item(  # noqa: E731
            TableName=table.name, Key={table.hash_key: {"S": key}})
    else:
        pair = CFG.s3.buckets[2]
        client(env, "s3", p).put_object(Bucket=pair.name, Key=key, Body=b"x")
        get = lambda: client(env, "s3", d).list_objects_v2(Bucket=pair.dr, Prefix=key).get("KeyCount", 0) > 0  # noqa: E731
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if get():
            return True
        time.sleep(0.2)
    return False


def _pods(env: dict[str, str], role: str, deployment: str) -> set[str]:
    api = k8s.CoreV1Api(kconfig.new_client_from_config(env["KUBECONFIG"], context=CFG.side(role).cluster.cluster))
    return {p.metadata.name for p in api.list_namespaced_pod(CFG.app_namespace, label_selector=f"app={deployment}").items}


def in_effect(name: str, env: dict[str, str], twin: Any, before: dict[str, Any]) -> bool:
    """Whether the fault's effect shows, read as an operator would."""
    if name == "region_outage":
        return not _primary_lb_answers(env)
    if name in ("dynamodb_replication_paused", "s3_replication_paused"):
        store = name.split("_")[0]
        return not _replicates(env, store, 4.0 if store == "dynamodb" else 6.0)
    if name == "health_endpoint_failing":
        return all(h["ResourcePath"] != CFG.route53.health_check.path for h in _health_checks(env))
    if name == "health_check_inverted":
        return all(h.get("Inverted") for h in _health_checks(env))
    if name == "health_check_disabled":
        return all(h.get("Disabled") for h in _health_checks(env))
    if name == "node_group_zero":
        cl = CFG.eks.dr
        ng = client(env, "eks", CFG.regions.dr.name).describe_nodegroup(clusterName=cl.cluster,
                                                                        nodegroupName=cl.node_group)
        return ng["nodegroup"]["scalingConfig"]["desiredSize"] == 0
    if name == "pod_kill":
        return not (before["pods"] <= _pods(env, "primary", CFG.workloads[0].deployment))
    if name == "front_origin_denied":
        s3 = client(env, "s3", CFG.regions.primary.name)
        try:
            return '"Deny"' in s3.get_bucket_policy(Bucket=CFG.cloudfront.origin_bucket)["Policy"]
        except s3.exceptions.ClientError:
            return False  # NoSuchBucketPolicy
    if name == "replication_stopped":
        return not twin.replication()["rds"]["sql_running"]
    if name == "replication_lag":
        return abs(twin.replication()["rds"]["link_delay_s"] - 2.5) < 1e-6
    if name == "primary_db_crash":
        return not _db_login(env, "primary")
    raise AssertionError(f"no effect check for fault {name}: add one here")


@pytest.mark.parametrize("name", sorted(catalog()))
def test_fault_shows_and_is_undone(name: str, steady: dict[str, Any], account: dict[str, str], twin: Any,
                                   sandbox_env: dict[str, str], tmp_path: Path) -> None:
    ending = ENDINGS[sorted(catalog()).index(name) % len(ENDINGS)]
    before = {"pods": _pods(account, "primary", CFG.workloads[0].deployment)}
    hold = "6" if ending == "hold" else "120"
    proc = start_drill(["fault", name, "--hold", hold, "--reports", str(tmp_path), *PARAMS.get(name, [])], sandbox_env)
    folder = wait_journal(tmp_path, proc, lambda e: e.event == "fault_injected", f"{name} injected", timeout=90)
    seen = in_effect(name, account, twin, before)
    if ending == "hold":
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
    elif ending == "SIGKILL":
        proc.kill()
        proc.communicate(timeout=30)
        assert in_effect(name, account, twin, before), f"{name}: a hard kill must leave the fault in place"
        res = drill("rollback", "--reports", str(tmp_path), env=sandbox_env, timeout=240)
        assert res.returncode == 0 and f"undone: {name}-1" in res.stdout, res.stdout + res.stderr
        again = drill("rollback", "--reports", str(tmp_path), env=sandbox_env)
        assert again.returncode == 0 and "nothing to roll back" in again.stdout, again.stdout + again.stderr
    else:
        proc.send_signal(getattr(signal, ending))
        if ending == "SIGINT":  # an impatient second Ctrl-C while the undo runs must not skip it
            time.sleep(0.2)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 130, out
    assert seen, f"{name}: its effect did not show while it held"
    events = events_of(folder)
    assert any(e.event == "fault_reverted" for e in events), [e.event for e in events]
    assert events[-1].event == "drill_finished", events[-1]
    if name != "pod_kill":  # new pods are the undo of a pod kill
        assert not in_effect(name, account, twin, before), f"{name}: still in effect after the undo"
    deadline = time.monotonic() + 30  # replication reconnects after a database comes back
    while not (status := twin.status())["healthy"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status["healthy"], {k: v for k, v in status["parts"].items() if not v["healthy"]}
    assert world(account) == steady
