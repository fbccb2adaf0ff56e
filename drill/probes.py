"""Probes: read-only observations of the target, each with a timeout."""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Any

from drill.targets import Target


def http_get(target: Target, host: str, path: str, timeout: float = 3.0) -> tuple[int, str]:
    """GET through the user-facing entry point; returns (status, serving region) or (0, '') on error."""
    base, host_header = target.edge()
    url = urllib.parse.urlsplit(base if host_header else f"https://{host}")
    conn_cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(url.hostname or "", url.port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host} if host_header else {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Drill-Region") or ""
    except OSError:
        return 0, ""
    finally:
        conn.close()


def health_check_ids(target: Target) -> list[str]:
    """The policy's health checks: those the failover records of the policy's zone use (an
    account may hold others, which are none of the drill's business)."""
    from drill.actions import _zone_id

    r53 = target.client("route53", "us-east-1", journaled=False)
    ids: list[str] = []
    for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=_zone_id(target)):
        for rec in page["ResourceRecordSets"]:
            if rec.get("HealthCheckId") and rec["HealthCheckId"] not in ids:
                ids.append(rec["HealthCheckId"])
    return ids


def health_checks(target: Target) -> list[dict[str, Any]]:
    r53 = target.client("route53", "us-east-1", journaled=False)
    return [r53.get_health_check(HealthCheckId=i)["HealthCheck"] for i in health_check_ids(target)]


def health_check_failing(target: Target, hc_id: str) -> bool:
    """What Route 53 reports: failing when its checkers' observations are failures."""
    r53 = target.client("route53", "us-east-1", journaled=False)
    obs = r53.get_health_check_status(HealthCheckId=hc_id)["HealthCheckObservations"]
    fails = [o for o in obs if not o["StatusReport"]["Status"].startswith("Success")]
    return len(fails) * 2 > len(obs)


def replica_lag_s(target: Target) -> float | None:
    """Seconds_Behind_Master of the DR replica, as the RDS ReplicaLag metric reports it."""
    import pymysql

    host, port = target.db_endpoint("dr")
    user, password = target.db_login()
    try:
        with pymysql.connect(host=host, port=port, user=user, password=password, connect_timeout=3,
                             read_timeout=3) as conn, conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SELECT @@read_only AS ro")
            if not (cur.fetchone() or {}).get("ro"):
                return None
    except pymysql.MySQLError:
        return None
    if hasattr(target, "control"):
        status: dict[str, Any] = target.control("GET", "/replication")["rds"]
        lag = status.get("seconds_behind")
        return float(lag) if lag is not None else None
    return None


def deployments_ready(target: Target, role: str, namespace: str) -> dict[str, tuple[int, int]]:
    """deployment -> (available, desired) in the role's cluster."""
    from kubernetes import client

    apps = client.AppsV1Api(target.kube(role))
    out: dict[str, tuple[int, int]] = {}
    for dep in apps.list_namespaced_deployment(namespace, _request_timeout=5).items:
        if dep.metadata is None or dep.metadata.name is None:
            continue
        available = dep.status.available_replicas if dep.status is not None else 0
        desired = dep.spec.replicas if dep.spec is not None else 0
        out[dep.metadata.name] = (int(available or 0), int(desired or 0))
    return out


def ready_nodes(target: Target, role: str) -> int:
    from kubernetes import client

    core = client.CoreV1Api(target.kube(role))
    count = 0
    for node in core.list_node(_request_timeout=5).items:
        conditions = (node.status.conditions if node.status is not None else None) or []
        count += int(any(c.type == "Ready" and c.status == "True" for c in conditions))
    return count
