"""The supervisor's control API: status, fault switches, and reset to steady state.

These switches are the sandbox's stand-in for what a region outage or a broken link does to
real infrastructure. The drill engine's sandbox target calls them; every call and its answer is
journaled by the engine.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sandbox.httpserver import Request, Response

if TYPE_CHECKING:
    from sandbox.supervisor import Supervisor


def make_control_app(sup: Supervisor) -> Any:
    def app(req: Request) -> Response:
        try:
            return _route(sup, req)
        except KeyError as exc:
            return Response.json({"error": f"unknown {exc}"}, 400)
        except ValueError as exc:
            return Response.json({"error": str(exc)}, 400)

    return app


def _route(sup: Supervisor, req: Request) -> Response:
    path, method = req.path, req.method
    body = req.json() if req.body else {}
    if method == "GET" and path == "/status":
        return Response.json(sup.refresh_state())
    if method == "GET" and path == "/events":
        since = float(req.arg("since", "0") or 0)
        out = []
        if sup.events_path.exists():
            import json

            for line in sup.events_path.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                if rec["at"] >= since:
                    out.append(rec)
        for change in sup.dns_changes:
            if change["at"] >= since:
                out.append({"event": "dns_answer", **change})
        for cluster in sup.clusters.values():
            out.extend({"cluster": cluster.name, **e} for e in cluster.events if e["at"] >= since)
        return Response.json(sorted(out, key=lambda e: e["at"]))
    if method == "GET" and path == "/dataplane/state":
        return Response.json(sup.dataplane_state())
    if method == "POST" and path == "/dataplane/health":
        sup.dataplane_health(body)
        return Response.json({"ok": True})
    if method == "GET" and path == "/slack":
        since = float(req.arg("since", "0") or 0)
        return Response.json([m for m in sup.slack.messages if m["at"] >= since])
    if method == "GET" and path == "/replication":
        return Response.json({"rds": sup.rds.replica_status(), "dynamodb": sup.ddb_repl.status(),
                              "s3": sup.s3_repl.status()})
    if method != "POST":
        return Response.json({"error": "not found"}, 404)

    if path == "/services":
        role = _role(body)
        svc = sup.regions[role]
        names = body.get("services", "all")
        if names == "all":
            names = [w.name for w in sup.cfg.workloads]
        known = {w.name for w in sup.cfg.workloads}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown services: {unknown}")
        mode = body.get("mode", "down")
        if mode not in ("down", "health", "ok"):
            raise ValueError("mode must be down, health or ok")
        for name in names:
            if mode == "ok":
                svc.failed.pop(name, None)
            else:
                svc.failed[name] = mode
        sup.event("services", role=role, services=names, mode=mode)
        return Response.json({"role": role, "failed": svc.failed})
    if path == "/region":
        # services: the region's ALBs answer 503; api: its AWS endpoints answer 503
        from sandbox import aws

        role = _role(body)
        down = bool(body["down"])
        region = sup.cfg.region_name(role)
        if body.get("services", True):
            sup.regions[role].region_down = down
        if body.get("api", True):
            (aws.down_regions.add if down else aws.down_regions.discard)(region)
        sup.event("region", role=role, down=down)
        return Response.json({"role": role, "down": down, "api_down": sorted(aws.down_regions)})
    if path == "/outage":
        return Response.json(outage(sup, _role(body), bool(body["down"])))
    if path == "/rds":
        role = _role(body)
        action = body["action"]
        if action == "stop":
            sup.rds.stop_server(role)
        elif action == "start":
            sup.rds.start_server(role)
        else:
            raise ValueError("action must be stop or start")
        sup.event("rds_server", role=role, action=action)
        return Response.json({"role": role, "running": sup.rds.servers[role].running()})
    if path == "/replication/rds":
        if "delay_s" in body:
            sup.rds.set_delay(float(body["delay_s"]))
        if "cut" in body:
            sup.rds.set_link_cut(bool(body["cut"]))
        sup.event("replication_rds", **body)
        return Response.json(sup.rds.replica_status())
    if path in ("/replication/dynamodb", "/replication/s3"):
        worker = sup.ddb_repl if path.endswith("dynamodb") else sup.s3_repl
        if worker.external:
            raise ValueError(f"{worker.name} replication is done by {worker.external} on this target; "
                             "it cannot be paused, delayed or cut here")
        if "delay_s" in body:
            worker.delay_s = float(body["delay_s"])
        if "paused" in body:
            worker.paused = bool(body["paused"])
        if "cut_regions" in body:
            worker.cut_regions = set(body["cut_regions"])
        sup.event("replication_" + worker.name, **body)
        return Response.json(worker.status())
    if path == "/reset":
        return Response.json(reset(sup))
    return Response.json({"error": "not found"}, 404)


def outage(sup: Supervisor, role: str, down: bool) -> dict[str, Any]:
    """A whole region at once: its endpoints, its services, its database and the cross-region
    links out of it fail together (in-flight replication is lost), or come back together."""
    from sandbox import aws

    region = sup.cfg.region_name(role)
    at = time.time()
    if down:
        aws.down_regions.add(region)
        sup.regions[role].region_down = True
        sup.rds.set_link_cut(True)
        sup.ddb_repl.cut_regions.add(region)
        sup.s3_repl.cut_regions.add(region)
        sup.rds.stop_server(role)
    else:
        sup.rds.start_server(role)
        sup.rds.set_link_cut(False)
        sup.ddb_repl.cut_regions.discard(region)
        sup.s3_repl.cut_regions.discard(region)
        sup.regions[role].region_down = False
        aws.down_regions.discard(region)
    sup.event("outage", role=role, down=down, at_start=at)
    return {"role": role, "down": down, "started_at": at, "finished_at": time.time()}


def _role(body: dict[str, Any]) -> str:
    role = body.get("role", "primary")
    if role not in ("primary", "dr"):
        raise ValueError("role must be primary or dr")
    return str(role)


def reset(sup: Supervisor) -> dict[str, Any]:
    """Bring the twin back to its steady state after a drill: Seoul primary, Tokyo standby.

    Services healed; both database servers running; if the replica was promoted, it is rebuilt
    as a fresh replica of the primary and the RDS API state made to match; replication settings
    back to config; Route 53 primary records back to the primary ALBs; DR node group and
    deployments back to standby size.
    """
    from sandbox import aws

    cfg = sup.cfg
    steps: list[str] = []
    aws.down_regions.clear()
    for svc in sup.regions.values():
        svc.failed.clear()
        svc.region_down = False
    steps.append("services healed")
    for role in ("primary", "dr"):
        sup.rds.start_server(role)
    rds_state = sup.rds.replica_status()
    if sup.rds.source_role != "primary" and not sup.rds.promoted:
        sup.rds.promote("primary")  # a failback stopped half way left the primary a replica of DR
        steps.append("primary made writable again")
    if sup.rds.promoted or sup.rds.source_role != "primary" or not rds_state.get("io_running"):
        sup.rds.set_delay(cfg.sandbox.rds.replication_delay_s)
        sup.rds.reseed("dr", "primary")
        steps.append("replica rebuilt from primary")
    sup.rds.set_delay(cfg.sandbox.rds.replication_delay_s)
    sup.rds.set_link_cut(False)
    _reset_rds_api(sup)
    for worker, conf in ((sup.ddb_repl, cfg.sandbox.dynamodb), (sup.s3_repl, cfg.sandbox.s3)):
        worker.paused = False
        worker.cut_regions = set()
        worker.delay_s = conf.replication_delay_s
    steps.append("replication settings restored")
    _reset_records(sup)
    steps.append("route 53 records restored")
    for hc_id in list(sup.checks):
        sup.client("route53", "us-east-1").update_health_check(HealthCheckId=hc_id, Inverted=False, Disabled=False)
    eks = sup.client("eks", cfg.regions.dr.name)
    eks.update_nodegroup_config(clusterName=cfg.eks.dr.cluster, nodegroupName=cfg.eks.dr.node_group,
                                scalingConfig={"minSize": cfg.eks.dr.min_nodes, "maxSize": cfg.eks.dr.max_nodes,
                                               "desiredSize": cfg.eks.dr.nodes})
    eks_p = sup.client("eks", cfg.regions.primary.name)
    eks_p.update_nodegroup_config(clusterName=cfg.eks.primary.cluster, nodegroupName=cfg.eks.primary.node_group,
                                  scalingConfig={"minSize": cfg.eks.primary.min_nodes,
                                                 "maxSize": cfg.eks.primary.max_nodes,
                                                 "desiredSize": cfg.eks.primary.nodes})
    for role, cluster in sup.clusters.items():
        for wl in cfg.workloads:
            dep = cluster.get("deployments", cfg.app_namespace, wl.deployment)
            if dep is not None:
                dep["spec"]["replicas"] = wl.replicas if role == "primary" else min(
                    wl.replicas, cfg.eks.standby_replicas)
    steps.append("clusters back to steady size")
    # steady means every part healthy and the edge answering from the primary region again
    # (the health checks need their threshold of successes, then the resolver its TTL)
    primary = cfg.regions.primary.name
    deadline = time.monotonic() + 60
    steady = False
    while time.monotonic() < deadline:
        state = sup.refresh_state()
        try:
            answers = sup.edge_status()["answers"]
        except OSError:
            answers = {}
        steady = bool(state["healthy"]) and bool(answers) and all(a["region"] == primary for a in answers.values())
        if steady:
            break
        time.sleep(0.2)
    sup.event("reset", steps=steps, healthy=steady)
    return {"steps": steps, "healthy": steady, "parts": sup.state.get("parts")}


def _reset_rds_api(sup: Supervisor) -> None:
    """Make the emulator's RDS state match the data plane (replica of the primary)."""
    from moto.rds.models import rds_backends

    cfg = sup.cfg
    account = cfg.sandbox.account_id
    primary_backend = rds_backends[account][cfg.regions.primary.name]
    dr_backend = rds_backends[account][cfg.regions.dr.name]
    primary = primary_backend.databases.get(cfg.rds.primary.id)
    replica = dr_backend.databases.get(cfg.rds.replica.id)
    if primary is None or replica is None:
        # a failback stopped between delete and create: put the instance back through the API
        _recreate_instances(sup, primary is None, replica is None)
        primary = primary_backend.databases.get(cfg.rds.primary.id)
        replica = dr_backend.databases.get(cfg.rds.replica.id)
        if primary is None or replica is None:
            return
    primary.is_replica = False
    primary.source_db_instance_identifier = None
    replica.is_replica = True
    replica.source_db_instance_identifier = primary.db_instance_arn
    if replica.db_instance_arn not in primary.replicas:
        primary.replicas.append(replica.db_instance_arn)


def _recreate_instances(sup: Supervisor, primary: bool, replica: bool) -> None:
    from sandbox import moto_ext

    cfg = sup.cfg
    if primary:
        sup.client("rds", cfg.regions.primary.name).create_db_instance(
            DBInstanceIdentifier=cfg.rds.primary.id, Engine=cfg.rds.engine, EngineVersion=cfg.rds.engine_version,
            DBInstanceClass=cfg.rds.instance_class, MasterUsername="admin",
            MasterUserPassword=sup.secrets["admin_password"], AllocatedStorage=20, Port=cfg.rds.port,
            MultiAZ=cfg.rds.primary.multi_az, DBSubnetGroupName=cfg.rds.primary.subnet_group,
            DBName=cfg.rds.database)
    if replica:
        arn = sup.client("rds", cfg.regions.primary.name).describe_db_instances(
            DBInstanceIdentifier=cfg.rds.primary.id)["DBInstances"][0]["DBInstanceArn"]
        hooks = list(moto_ext._replica_hooks)
        moto_ext._replica_hooks.clear()  # the data plane is rebuilt by the reset itself
        try:
            sup.client("rds", cfg.regions.dr.name).create_db_instance_read_replica(
                DBInstanceIdentifier=cfg.rds.replica.id, SourceDBInstanceIdentifier=arn,
                DBInstanceClass=cfg.rds.instance_class, DBSubnetGroupName=cfg.rds.replica.subnet_group,
                SourceRegion=cfg.regions.primary.name)
        finally:
            moto_ext._replica_hooks.extend(hooks)


def _reset_records(sup: Supervisor) -> None:
    r53 = sup.client("route53", "us-east-1")
    zone = sup.inventory.zone_id
    records = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    changes = []
    primary_targets = {v["dr"]: v["primary"] for v in sup.inventory.albs.values()}
    for rec in records:
        if rec.get("Failover") == "SECONDARY":
            continue
        target = rec.get("AliasTarget", {}).get("DNSName") or (rec.get("ResourceRecords") or [{}])[0].get("Value")
        target = (target or "").rstrip(".")
        if target in primary_targets:
            new = dict(rec)
            want = primary_targets[target]
            if "AliasTarget" in new:
                new["AliasTarget"] = dict(new["AliasTarget"], DNSName=want,
                                          HostedZoneId=sup.inventory.alb_zone_ids[want])
            else:
                new["ResourceRecords"] = [{"Value": want}]
            changes.append({"Action": "UPSERT", "ResourceRecordSet": new})
    if changes:
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})
