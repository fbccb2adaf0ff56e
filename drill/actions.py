"""Runbook actions of the manual failover (policy section 5), each with a deadline.

Each action acts through the target's AWS and Kubernetes clients (journaled) and then waits
for the effect users depend on, so its phase ends when the effect is real, not when the API
call returned.
"""

from __future__ import annotations

from typing import Any

import pymysql

from drill import probes
from drill.config import Config
from drill.targets import Target, wait_until
from sandbox.provision import alb_dr_name


def alb_target(target: Target, alb_name: str, role: str) -> tuple[str, str]:
    """(DNS name, canonical hosted zone id) of a policy ALB in a region, from the ELB API."""
    name = alb_name if role == "primary" else alb_dr_name(alb_name)
    elb = target.client("elbv2", target.cfg.region_name(role), journaled=False)
    lb = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    return str(lb["DNSName"]), str(lb["CanonicalHostedZoneId"])


def promote_replica(target: Target, deadline_s: float) -> dict[str, Any]:
    """aws rds promote-read-replica, then wait until the instance is available and writable."""
    cfg = target.cfg
    rds = target.client("rds", cfg.regions.dr.name)
    rds.promote_read_replica(DBInstanceIdentifier=cfg.rds.replica.id)
    rds.get_waiter("db_instance_available").wait(
        DBInstanceIdentifier=cfg.rds.replica.id,
        WaiterConfig={"Delay": 1, "MaxAttempts": max(1, int(deadline_s))})
    host, port = target.db_endpoint("dr")
    user, password = target.db_login()

    def writable() -> bool:
        with pymysql.connect(host=host, port=port, user=user, password=password, connect_timeout=2,
                             read_timeout=2) as conn, conn.cursor() as cur:
            cur.execute("SELECT @@read_only")
            row = cur.fetchone()
            return row is not None and int(row[0]) == 0

    wait_until(writable, deadline_s, "promoted replica writable")
    desc = rds.describe_db_instances(DBInstanceIdentifier=cfg.rds.replica.id)["DBInstances"][0]
    return {"source_after": desc.get("ReadReplicaSourceDBInstanceIdentifier"), "endpoint": f"{host}:{port}"}


def switch_records(target: Target, to_role: str) -> list[str]:
    """Point every ALB record of the zone (the primary one of a failover pair) at ``to_role``'s ALB."""
    cfg = target.cfg
    r53 = target.client("route53", "us-east-1")
    zone_id = _zone_id(target)
    records = r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    changes: list[dict[str, Any]] = []
    changed: list[str] = []
    for rec in cfg.route53.records:
        if rec.target != "alb":
            continue
        host = rec.name[: -len(cfg.route53.zone) - 1]
        alb = cfg.alb_for_host(host).name
        dns, zone = alb_target(target, alb, to_role)
        fqdn = rec.name.rstrip(".") + "."
        for rrs in records:
            if rrs["Name"] != fqdn or rrs.get("Failover") == "SECONDARY" or rrs["Type"] != rec.type:
                continue
            new = dict(rrs)
            if "AliasTarget" in new:
                new["AliasTarget"] = {"HostedZoneId": zone, "DNSName": dns, "EvaluateTargetHealth": False}
            else:
                new["ResourceRecords"] = [{"Value": dns}]
            changes.append({"Action": "UPSERT", "ResourceRecordSet": new})
            changed.append(rec.name)
    if changes:
        r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
            "Comment": f"drill: switch to {to_role}", "Changes": changes})
    return changed


def _zone_id(target: Target) -> str:
    r53 = target.client("route53", "us-east-1", journaled=False)
    zone = target.cfg.route53.zone.rstrip(".") + "."
    for z in r53.list_hosted_zones()["HostedZones"]:
        if z["Name"] == zone:
            return str(z["Id"]).split("/")[-1]
    raise RuntimeError(f"hosted zone {target.cfg.route53.zone} not found")


def wait_edge_serves(target: Target, role: str, deadline_s: float, interval_s: float,
                     hosts: list[str] | None = None) -> dict[str, float]:
    """Wait until every routed hostname (or ``hosts``) answers from ``role``'s region; returns the wait per host."""
    cfg = target.cfg
    region = cfg.region_name(role)
    waits = {}
    for fqdn in hosts or [cfg.fqdn(h) for h in cfg.routed_hosts()]:
        waits[fqdn] = wait_until(lambda f=fqdn: probes.http_get(target, f, cfg.route53.health_check.path)[1] == region,
                                 deadline_s, f"{fqdn} served by {region}", interval_s)
    return waits


def scale_dr(target: Target, nodes: int, full: bool, deadline_s: float, interval_s: float) -> dict[str, Any]:
    """Scale the DR node group (EKS API) and deployments (Kubernetes API), then wait for Ready."""
    from kubernetes import client

    cfg: Config = target.cfg
    dr = cfg.eks.dr
    eks = target.client("eks", cfg.regions.dr.name)
    eks.update_nodegroup_config(clusterName=dr.cluster, nodegroupName=dr.node_group,
                                scalingConfig={"minSize": dr.min_nodes, "maxSize": dr.max_nodes,
                                               "desiredSize": nodes})
    apps = client.AppsV1Api(target.kube("dr"))
    want = {}
    for wl in cfg.workloads:
        replicas = wl.replicas if full else min(wl.replicas, cfg.eks.standby_replicas)
        want[wl.deployment] = replicas
        if target.journal is not None:
            target.journal.write("k8s_call", cluster=dr.cluster, operation="patch_namespaced_deployment_scale",
                                 deployment=wl.deployment, replicas=replicas)
        apps.patch_namespaced_deployment_scale(wl.deployment, cfg.app_namespace, {"spec": {"replicas": replicas}},
                                               _request_timeout=10)
    wait_until(lambda: probes.ready_nodes(target, "dr") == nodes, deadline_s, f"{nodes} DR nodes Ready", interval_s)

    def all_available() -> bool:
        ready = probes.deployments_ready(target, "dr", cfg.app_namespace)
        return all(ready.get(dep, (0, 0))[0] >= n for dep, n in want.items())

    wait_until(all_available, deadline_s, "DR deployments available", interval_s)
    return {"nodes": nodes, "deployments": want}


def verify_services(target: Target, role: str, deadline_s: float, interval_s: float) -> dict[str, int]:
    """Every service's health endpoint through the edge, answered by ``role``'s region."""
    cfg = target.cfg
    region = cfg.region_name(role)
    checks: list[tuple[str, str]] = []
    for wl in cfg.workloads:
        if wl.kind == "app" and wl.path:
            checks.append((cfg.fqdn("api"), f"{wl.path}/health"))
        elif wl.kind == "host" and wl.host:
            checks.append((cfg.fqdn(wl.host), cfg.route53.health_check.path))
    results: dict[str, int] = {}
    for host, path in checks:
        wait_until(lambda h=host, p=path: probes.http_get(target, h, p) == (200, region), deadline_s,
                   f"{host}{path} healthy from {region}", interval_s)
        results[f"{host}{path}"] = 200
    return results


# --------------------------------------------------------------------- failback (policy section 6)


def _instance(target: Target, role: str) -> dict[str, Any]:
    cfg = target.cfg
    inst_id = cfg.rds.primary.id if role == "primary" else cfg.rds.replica.id
    rds = target.client("rds", cfg.region_name(role), journaled=False)
    return dict(rds.describe_db_instances(DBInstanceIdentifier=inst_id)["DBInstances"][0])


def recreate_replica(target: Target, role: str, deadline_s: float) -> dict[str, Any]:
    """Replace ``role``'s (stale) instance with a new read replica of the other region's writer,
    under the policy's own instance id: delete, then create-db-instance-read-replica."""
    cfg = target.cfg
    source_role = "dr" if role == "primary" else "primary"
    inst = cfg.rds.primary if role == "primary" else cfg.rds.replica
    region = cfg.region_name(role)
    rds = target.client("rds", region)
    source_arn = _instance(target, source_role)["DBInstanceArn"]
    rds.delete_db_instance(DBInstanceIdentifier=inst.id, SkipFinalSnapshot=True)
    rds.create_db_instance_read_replica(DBInstanceIdentifier=inst.id, SourceDBInstanceIdentifier=source_arn,
                                        DBInstanceClass=cfg.rds.instance_class, MultiAZ=inst.multi_az,
                                        DBSubnetGroupName=inst.subnet_group,
                                        SourceRegion=cfg.region_name(source_role))
    rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=inst.id,
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": max(1, int(deadline_s))})
    return {"instance": inst.id, "region": region, "source": source_arn}


def promote_instance(target: Target, role: str, deadline_s: float) -> None:
    cfg = target.cfg
    inst_id = cfg.rds.primary.id if role == "primary" else cfg.rds.replica.id
    rds = target.client("rds", cfg.region_name(role))
    rds.promote_read_replica(DBInstanceIdentifier=inst_id)
    rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=inst_id,
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": max(1, int(deadline_s))})


def sync_s3_back(target: Target) -> dict[str, int]:
    """Copy every object of each DR bucket that the primary bucket lacks or holds differently
    (CRR copies only new objects; the policy's "sync data Tokyo -> Seoul" step is this copy),
    then turn on replication DR -> primary for what is written until the switch."""
    cfg = target.cfg
    s3p = target.client("s3", cfg.regions.primary.name)
    s3d = target.client("s3", cfg.regions.dr.name)
    copied: dict[str, int] = {}
    for pair in cfg.s3.buckets:
        role_arn = s3p.get_bucket_replication(Bucket=pair.name)["ReplicationConfiguration"]["Role"]
        s3d.put_bucket_replication(Bucket=pair.dr, ReplicationConfiguration={"Role": role_arn, "Rules": [{
            "ID": f"failback-{pair.dr}", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Enabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{pair.name}"}}]})
        have = {o["Key"]: o["ETag"] for page in s3p.get_paginator("list_objects_v2").paginate(Bucket=pair.name)
                for o in page.get("Contents", [])}
        n = 0
        for page in s3d.get_paginator("list_objects_v2").paginate(Bucket=pair.dr):
            for obj in page.get("Contents", []):
                if have.get(obj["Key"]) != obj["ETag"]:
                    body = s3d.get_object(Bucket=pair.dr, Key=obj["Key"])["Body"].read()
                    s3p.put_object(Bucket=pair.name, Key=obj["Key"], Body=body)
                    n += 1
        copied[pair.name] = n
    return copied


def stop_reverse_s3(target: Target) -> None:
    """After the return, replication runs primary -> DR only again."""
    cfg = target.cfg
    s3d = target.client("s3", cfg.regions.dr.name)
    for pair in cfg.s3.buckets:
        s3d.delete_bucket_replication(Bucket=pair.dr)
