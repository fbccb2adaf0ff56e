"""The running twin, through the clients a user would use: boto3, the AWS CLI, kubectl,
the official kubernetes client, MySQL, HTTP through the edge."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pymysql
import pytest

from drill.config import load_config
from sandbox.state import control
from tests.conftest import drill

CFG = load_config(profile="sandbox").config


def edge_get(state: dict[str, Any], host: str, path: str = "/health") -> tuple[int, str]:
    req = urllib.request.Request(state["edge_url"] + path, headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers["X-Drill-Region"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("X-Drill-Region", "")


def wait_for(predicate: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def secrets(state: dict[str, Any]) -> dict[str, Any]:
    return json.loads((Path(state["runtime_dir"]) / "secrets.json").read_text())


def test_status_json_has_the_documented_shape(sandbox: dict[str, Any]) -> None:
    assert sandbox["healthy"] is True
    for key in ("parts", "aws_endpoint", "edge_url", "kubeconfig", "mysql", "slack_sink"):
        assert sandbox[key], key
    assert set(sandbox["mysql"]) == {"primary", "replica"}
    assert all(set(m) == {"host", "port"} for m in sandbox["mysql"].values())
    assert {"aws", "rds", "k8s_primary", "k8s_dr", "services_primary", "services_dr", "edge",
            "healthchecker", "replication_dynamodb", "replication_s3", "slack"} <= set(sandbox["parts"])
    assert all(p["healthy"] for p in sandbox["parts"].values())
    assert sandbox["applied"]["profile"] == "sandbox"


def test_row_written_in_seoul_shows_in_tokyo_and_delay_is_honoured(sandbox: dict[str, Any]) -> None:
    pw = secrets(sandbox)["app_password"]
    conns = {role: pymysql.connect(host=m["host"], port=m["port"], user="app", password=pw,
                                   database=CFG.rds.database, autocommit=True)
             for role, m in (("primary", sandbox["mysql"]["primary"]), ("dr", sandbox["mysql"]["replica"]))}

    def write_and_time(name: str) -> float:
        with conns["primary"].cursor() as cur:
            cur.execute("INSERT INTO projects (name, owner, region, created_at) VALUES (%s,'t','s',NOW(6))", (name,))
        start = time.monotonic()

        def seen() -> bool:
            with conns["dr"].cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM projects WHERE name=%s", (name,))
                return bool(cur.fetchone()[0])

        wait_for(seen, 20, f"row {name} in Tokyo")
        return time.monotonic() - start

    assert write_and_time("no-delay") < 0.5
    control(sandbox, "POST", "/replication/rds", {"delay_s": 1.5})
    try:
        lag = write_and_time("delayed")
    finally:
        control(sandbox, "POST", "/replication/rds", {"delay_s": 0})
    assert 1.45 <= lag <= 1.8, lag
    with pytest.raises(pymysql.err.OperationalError, match="read-only|read_only"):
        with conns["dr"].cursor() as cur:
            cur.execute("INSERT INTO projects (name, owner, region, created_at) VALUES ('x','t','t',NOW(6))")


def test_edge_flips_to_tokyo_when_seoul_health_check_fails_and_back(sandbox: dict[str, Any]) -> None:
    hosts = [CFG.fqdn(h) for h in ("api", "grafana")]
    assert all(edge_get(sandbox, h)[1] == CFG.regions.primary.name for h in hosts)
    hc = CFG.route53.health_check
    control(sandbox, "POST", "/services", {"role": "primary", "services": "all", "mode": "down"})
    try:
        took = wait_for(lambda: all(edge_get(sandbox, h) == (200, CFG.regions.dr.name) for h in hosts),
                        20, "edge to answer from Tokyo")
        # interval x threshold, plus the resolver TTL and a pod-readiness tick
        assert took <= hc.interval_s * (hc.failure_threshold + 1) + CFG.route53.ttl_s + 1.0
    finally:
        control(sandbox, "POST", "/services", {"role": "primary", "services": "all", "mode": "ok"})
    wait_for(lambda: all(edge_get(sandbox, h) == (200, CFG.regions.primary.name) for h in hosts), 20,
             "edge back to Seoul")
    slack = control(sandbox, "GET", "/slack")
    texts = [m["payload"]["text"] for m in slack if m["channel"] == hc.alert_channel]
    assert any("[ALARM]" in t for t in texts) and any("[OK]" in t for t in texts)


def test_dynamodb_and_s3_replicate_through_the_api(sandbox: dict[str, Any]) -> None:
    import boto3

    def client(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=sandbox["aws_endpoint"],
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    seoul, tokyo = CFG.regions.primary.name, CFG.regions.dr.name
    client("dynamodb", seoul).put_item(TableName="chat_rooms_ddb", Item={"room_id": {"S": "t-repl"}})
    wait_for(lambda: "Item" in client("dynamodb", tokyo).get_item(
        TableName="chat_rooms_ddb", Key={"room_id": {"S": "t-repl"}}), 10, "DynamoDB item in Tokyo")
    # and the other way (global tables are multi-writer)
    client("dynamodb", tokyo).put_item(TableName="chat_rooms_ddb", Item={"room_id": {"S": "t-back"}})
    wait_for(lambda: "Item" in client("dynamodb", seoul).get_item(
        TableName="chat_rooms_ddb", Key={"room_id": {"S": "t-back"}}), 10, "DynamoDB item in Seoul")
    pair = CFG.s3.buckets[1]
    client("s3", seoul).put_object(Bucket=pair.name, Key="t/obj", Body=b"payload")
    start = time.monotonic()
    wait_for(lambda: client("s3", tokyo).list_objects_v2(Bucket=pair.dr, Prefix="t/obj").get("KeyCount", 0) == 1,
             20, "S3 object in the DR bucket")
    assert time.monotonic() - start >= CFG.sandbox.s3.replication_delay_s - 0.1


def test_kubernetes_client_sees_both_clusters(sandbox: dict[str, Any]) -> None:
    from kubernetes import client, config

    for role in ("primary", "dr"):
        cl = CFG.cluster(role)
        api = config.new_client_from_config(config_file=sandbox["kubeconfig"], context=cl.cluster)
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        deps = {d.metadata.name: d for d in apps.list_namespaced_deployment(CFG.app_namespace).items}
        assert {w.deployment for w in CFG.workloads} <= set(deps)
        want = CFG.workloads[0].replicas if role == "primary" else min(CFG.workloads[0].replicas,
                                                                       CFG.eks.standby_replicas)
        assert deps[CFG.workloads[0].deployment].status.available_replicas == want
        pods = core.list_namespaced_pod(CFG.app_namespace, label_selector=f"app={CFG.workloads[0].deployment}")
        assert len(pods.items) == want and all(p.status.phase == "Running" for p in pods.items)
        assert len(core.list_node().items) == cl.nodes


def test_scaling_the_node_group_through_eks_adds_nodes(sandbox: dict[str, Any]) -> None:
    import boto3
    from kubernetes import client, config

    eks = boto3.client("eks", region_name=CFG.regions.dr.name, endpoint_url=sandbox["aws_endpoint"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    core = client.CoreV1Api(config.new_client_from_config(config_file=sandbox["kubeconfig"],
                                                          context=CFG.eks.dr.cluster))
    dr = CFG.eks.dr
    eks.update_nodegroup_config(clusterName=dr.cluster, nodegroupName=dr.node_group,
                                scalingConfig={"minSize": dr.min_nodes, "maxSize": dr.max_nodes, "desiredSize": 3})
    try:
        wait_for(lambda: sum(1 for n in core.list_node().items
                             if n.status.conditions[0].status == "True") == 3, 15, "third DR node Ready")
    finally:
        eks.update_nodegroup_config(clusterName=dr.cluster, nodegroupName=dr.node_group,
                                    scalingConfig={"minSize": dr.min_nodes, "maxSize": dr.max_nodes,
                                                   "desiredSize": dr.nodes})
    wait_for(lambda: len(core.list_node().items) == dr.nodes, 15, "DR back to standby nodes")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_lists_deployments_and_pods(sandbox: dict[str, Any]) -> None:
    res = subprocess.run(["kubectl", "--kubeconfig", sandbox["kubeconfig"], "--context", CFG.eks.dr.cluster,
                          "get", "deploy,pods", "-A"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "deployment.apps/auth-deployment" in res.stdout and "pod/auth-deployment-" in res.stdout
    assert "NAMESPACE" in res.stdout and "kube-system" in res.stdout


def test_aws_cli_sees_the_sandbox_resources(sandbox: dict[str, Any], sandbox_env: dict[str, str]) -> None:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("AWS CLI not installed")
    exports = drill("sandbox", "env", env=sandbox_env, check=True).stdout
    env = dict(os.environ)
    for line in exports.splitlines():
        key, value = line.removeprefix("export ").split("=", 1)
        env[key] = value
    out = subprocess.run([aws, "rds", "describe-db-instances", "--region", CFG.regions.dr.name, "--output", "json"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    inst = json.loads(out.stdout)["DBInstances"][0]
    assert inst["DBInstanceIdentifier"] == CFG.rds.replica.id
    assert inst["Endpoint"]["Port"] == sandbox["mysql"]["replica"]["port"]
    hcs = subprocess.run([aws, "route53", "list-health-checks", "--output", "json"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert hcs.returncode == 0 and json.loads(hcs.stdout)["HealthChecks"][0]["HealthCheckConfig"]["ResourcePath"] == "/health"


def test_bad_inputs_exit_2_with_one_line(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    env = {"DRILL_RUNTIME_DIR": str(tmp_path / "other")}
    res = drill("sandbox", "up", "--set", f"sandbox.mariadb_bin_dir={tmp_path}", env=env)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "MariaDB server binaries not found" in res.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = drill("sandbox", "up", "--set", f"sandbox.ports.edge={port}", env=env)
    assert res.returncode == 2 and f"sandbox.ports.edge: port {port}" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = drill("sandbox", "up", "--set", "sandbox.posturr=as-is", env=env)
    assert res.returncode == 2 and "did you mean 'posture'" in res.stderr
    assert not (tmp_path / "other").exists(), "a refused start must leave nothing behind"
