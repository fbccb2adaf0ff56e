"""Twin-only: bring the twin back to its steady state (tests and the sabotage suite use it between
cases; a drill never does, it returns by the policy's own failback).

Experiments stopped; every subnet back on its VPC's default network ACL; replication running
with the configured delays; both database servers up, the DR one a fresh replica of the primary
if anything else was the case, and the RDS API saying so; Route 53 records and health checks as
provisioned; node groups, deployments and daemonsets at their steady size and images; the
policy buckets' replication as provisioned and without bucket policies.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from drill.core.schema import ROLES

if TYPE_CHECKING:
    from sandbox.supervisor import Supervisor
    from sandbox.twin import Twin


def reset(twin: Twin, sup: Supervisor) -> dict[str, Any]:
    steps: list[str] = []
    _experiments(twin, steps)
    _network(twin, steps)
    _replication(twin, steps)
    _databases(twin, steps)
    _dns(twin, sup, steps)
    _clusters(twin, sup, steps)
    _buckets(twin, sup, steps)
    healthy = _wait_steady(twin)
    twin.event("reset", steps=steps, healthy=healthy)
    return {"steps": steps, "healthy": healthy, "parts": twin.state.get("parts")}


def _experiments(twin: Twin, steps: list[str]) -> None:
    from moto.fis.models import fis_backends

    for region in {twin.cfg.side(r).region for r in ROLES} | {"us-east-1"}:
        for exp in fis_backends[twin.account][region].experiments.values():
            if getattr(exp, "drill_managed", False) and exp._status in ("initiating", "running", "stopping"):
                twin.fis.finish(exp, "stopped", "stopped by the twin's reset")
                steps.append(f"experiment {exp.id} stopped")


def _network(twin: Twin, steps: list[str]) -> None:
    for role in ROLES:
        ec2 = twin.backends.ec2(twin.cfg.side(role).region)
        for acl in list(ec2.describe_network_acls()):
            if acl.default:
                continue
            default = next(a for a in ec2.describe_network_acls() if a.default and a.vpc_id == acl.vpc_id)
            for assoc in list(acl.associations):
                ec2.replace_network_acl_association(assoc.id, default.id)
            ec2.delete_network_acl(acl.id)
            steps.append(f"network ACL {acl.id} removed")
    twin.recompute_network()


def _replication(twin: Twin, steps: list[str]) -> None:
    sb = twin.cfg.sandbox
    for worker, conf in ((twin.ddb_repl, sb.dynamodb), (twin.s3_repl, sb.s3)):
        worker.paused = False
        worker.paused_sources.clear()
        worker.delay_s = conf.replication_delay_s
    twin.rds.set_delay(sb.rds.replication_delay_s)
    steps.append("replication running with the configured delays")


def _databases(twin: Twin, steps: list[str]) -> None:
    rds, cfg = twin.rds, twin.cfg
    for role in ROLES:
        rds.start_server(role)
    st = rds.replica_status()
    steady = (not rds.promoted and rds.source_role == "primary" and st.get("io_running") and st.get("sql_running"))
    if not steady:
        if rds.source_role != "primary" and not rds.promoted:
            rds.promote("primary")
        rds.reseed("dr", "primary")
        steps.append("DR database rebuilt as a replica of the primary")
    primary_b, dr_b = (twin.backends.rds(cfg.side(r).region) for r in ROLES)
    primary, replica = primary_b.databases.get(cfg.rds.primary.id), dr_b.databases.get(cfg.rds.replica.id)
    if primary is None or replica is None:
        raise RuntimeError("an RDS instance of the policy was deleted; restart the twin (drill sandbox down/up)")
    primary.is_replica, primary.source_db_instance_identifier, primary.status = False, None, "available"
    replica.is_replica, replica.source_db_instance_identifier = True, primary.db_instance_arn
    replica.status = "available"
    if replica.db_instance_arn not in primary.replicas:
        primary.replicas.append(replica.db_instance_arn)


def _dns(twin: Twin, sup: Supervisor, steps: list[str]) -> None:
    cfg, inv = twin.cfg, twin.inventory
    r53 = sup.client("route53", "us-east-1")
    records = [r for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=inv.zone_id)
               for r in page["ResourceRecordSets"]]
    dr_to_primary = {v["dr"]: v["primary"] for v in inv.albs.values()}
    changes = []
    for rec in records:
        if rec.get("Failover") == "SECONDARY":
            continue
        target = (rec.get("AliasTarget", {}).get("DNSName") or (rec.get("ResourceRecords") or [{}])[0].get("Value")
                  or "").rstrip(".")
        if target in dr_to_primary:
            want = dr_to_primary[target]
            new = dict(rec)
            if "AliasTarget" in new:
                new["AliasTarget"] = dict(new["AliasTarget"], DNSName=want, HostedZoneId=inv.alb_zone_ids[want])
            else:
                new["ResourceRecords"] = [{"Value": want}]
            changes.append({"Action": "UPSERT", "ResourceRecordSet": new})
    if changes:
        r53.change_resource_record_sets(HostedZoneId=inv.zone_id, ChangeBatch={"Changes": changes})
        steps.append(f"{len(changes)} records back to the primary")
    hc = cfg.route53.health_check
    for hc_id in inv.health_checks.values():
        r53.update_health_check(HealthCheckId=hc_id, ResourcePath=hc.path, Inverted=False, Disabled=False,
                                FailureThreshold=hc.failure_threshold)


def _clusters(twin: Twin, sup: Supervisor, steps: list[str]) -> None:
    from sandbox.clusters import seed

    cfg = twin.cfg
    for role in ROLES:
        cl = cfg.side(role).cluster
        sup.client("eks", cfg.side(role).region).update_nodegroup_config(
            clusterName=cl.cluster, nodegroupName=cl.node_group,
            scalingConfig={"minSize": cl.min_nodes, "maxSize": cl.max_nodes, "desiredSize": cl.nodes})
        cluster, rec = twin.clusters[role]
        fresh = type(cluster)(cluster.name, cluster.region, cluster.version)
        seed(fresh, cfg, twin.inventory, role)
        with cluster.lock:
            for key, obj in fresh.objects.items():
                if key[0] in ("deployments", "daemonsets"):
                    have = cluster.objects.get(key)
                    if have is None or have["spec"] != obj["spec"]:
                        cluster.objects[key] = obj
                        steps.append(f"{role} {key[0]} {key[2]} back to steady")
        rec.reconcile()


def _buckets(twin: Twin, sup: Supervisor, steps: list[str]) -> None:
    cfg, inv = twin.cfg, twin.inventory
    for pair in cfg.s3.buckets:
        sp, sd = (sup.client("s3", cfg.side(r).region) for r in ROLES)
        sp.put_bucket_replication(Bucket=pair.name, ReplicationConfiguration={
            "Role": f"arn:aws:iam::{inv.account_id}:role/{cfg.s3.replication_role}",
            "Rules": [{"ID": f"crr-{pair.name}", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
                       "DeleteMarkerReplication": {"Status": "Enabled"},
                       "Destination": {"Bucket": f"arn:aws:s3:::{pair.dr}"}}]})
        for s3, bucket in ((sp, pair.name), (sd, pair.dr)):
            s3.delete_bucket_policy(Bucket=bucket)
        try:
            sd.delete_bucket_replication(Bucket=pair.dr)
        except Exception:
            pass
    steps.append("bucket replication as provisioned")


def _wait_steady(twin: Twin, deadline_s: float = 60.0) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        state = twin.refresh_state()
        checks = twin.health_metrics()
        lags_ok = all(lag >= 0 for _, _, lag in twin.lags())  # the replica's lag known (not NULL)
        if state["healthy"] and checks and all(h for _, h in checks) and lags_ok:
            if twin.monitor is not None:  # CloudWatch's latest datapoints are the steady values,
                try:                      # not the last ones before (ReplicaLag -1 of a stopped replica)
                    twin.monitor.publish()
                except Exception as exc:  # the emulator busy: tried again on the next round
                    twin.monitor.errors.append(f"reset publish: {type(exc).__name__}: {exc}"[:300])
                    time.sleep(0.2)
                    continue
            return True
        time.sleep(0.2)
    return False
