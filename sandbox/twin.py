"""The running twin as one object: its parts, what they observe of each other, and its status.

The supervisor composes the parts and hands them here; the control API, the data plane's sync
and the moto extensions' hooks talk to this facade, never to module globals.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drill.core.schema import ROLES, Config
from sandbox.net import AddressPlan, cut_subnets


@dataclass
class Cut:
    """What the network cuts now (from the network ACLs)."""

    subnets: set[str] = field(default_factory=set)
    albs: set[str] = field(default_factory=set)  # load balancer DNS names
    dbs: set[str] = field(default_factory=set)  # roles whose database is unreachable
    regions: set[str] = field(default_factory=set)  # roles whose private subnets are all cut (nodes)


class Twin:
    def __init__(self, rundir: Path, cfg: Config, account: str, posture: str):
        self.rundir = rundir
        self.cfg = cfg
        self.account = account
        self.posture = posture
        self.plan = AddressPlan(cfg.sandbox.address_block)
        self.cut = Cut()
        self.checks: dict[str, dict[str, Any]] = {}
        self.dns_changes: list[dict[str, Any]] = []
        self.dataplane_counters: dict[str, Any] = {}
        self.start_checker = False
        self._events_lock = threading.Lock()
        self.events_path = rundir / "events.jsonl"
        # parts, set by the supervisor as it starts them
        self.rds: Any = None
        self.clusters: dict[str, Any] = {}  # role -> (Cluster, Reconciler)
        self.ddb_repl: Any = None
        self.s3_repl: Any = None
        self.ecr_repl: Any = None
        self.monitor: Any = None
        self.load_pods: Any = None  # sandbox.loadworkers: the load worker pods' processes
        self.fis: Any = None
        self.lambdas: Any = None
        self.slack: Any = None
        self.inventory: Any = None
        self.client: Any = None  # (service, region) -> boto3 client of the emulator
        self.backends: Any = None  # the emulator's backends, in process
        self.state: dict[str, Any] = {}

    def event(self, kind: str, **data: Any) -> None:
        rec = {"at": time.time(), "event": kind, **data}
        with self._events_lock, self.events_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")

    # ------------------------------------------------------------------ the network

    def recompute_network(self, region: str | None = None) -> None:
        """What the network ACLs cut, from the emulator's EC2 state (a deny-all ACL cuts its subnets)."""
        inv = self.inventory
        if inv is None:
            return
        cut: set[str] = set()
        for role in ROLES:
            ec2 = self.backends.ec2(self.cfg.side(role).region)
            acls = [{"Entries": [{"Egress": str(e.egress).lower() == "true", "RuleAction": e.rule_action}
                                 for e in acl.network_acl_entries],
                     "Associations": [{"SubnetId": a.subnet_id} for a in acl.associations]}
                    for acl in ec2.describe_network_acls()]
            cut |= cut_subnets(acls)
        albs = {dns for dns, subs in inv.alb_subnets.items() if subs and all(s in cut for s in subs)}
        dbs = {role for role, subs in inv.db_subnets.items() if subs and all(s in cut for s in subs)}
        regions: set[str] = {role for role in ROLES if self._private(role) and all(s in cut for s in self._private(role))}
        if (albs, dbs, regions) != (self.cut.albs, self.cut.dbs, self.cut.regions):
            self.event("network", cut_albs=sorted(albs), cut_dbs=sorted(dbs), cut_regions=sorted(regions))
        self.cut = Cut(cut, albs, dbs, regions)
        if self.rds is not None:
            self.rds.set_link_cut(bool(dbs))  # replication crosses both regions' networks

    def _private(self, role: str) -> list[str]:
        return list(getattr(self.inventory, "private_subnets", {}).get(role, []))

    # ------------------------------------------------------------------ what the data plane mirrors

    def dataplane_state(self) -> dict[str, Any]:
        ns = self.cfg.app_namespace
        return {"start_checker": self.start_checker, "cut_albs": sorted(self.cut.albs),
                "cut_dbs": sorted(self.cut.dbs),
                "available": {role: {d["metadata"]["name"]: int(d["status"].get("availableReplicas", 0))
                                     for d in cluster.list("deployments", ns)}
                              for role, (cluster, _) in self.clusters.items()},
                "serving_nodes": {role: self._serving_nodes(cluster, rec)
                                  for role, (cluster, rec) in self.clusters.items()}}

    def _serving_nodes(self, cluster: Any, rec: Any) -> int:
        """Ready nodes running a Ready pod of a workload the load balancers serve (kind app or
        host): the nodes whose CPU carries the region's requests. A node the group added whose pods
        are all elsewhere carries nothing, as on a cluster: pods are not moved to new nodes."""
        served = {w.deployment for w in self.cfg.workloads if w.kind in ("app", "host")}
        ready = set(rec.ready_nodes())
        nodes = set()
        for pod in cluster.list("pods", self.cfg.app_namespace):
            owner = next((r.get("name") for r in pod["metadata"].get("ownerReferences", [])), None)
            if owner in served and pod["spec"].get("nodeName") in ready \
                    and pod["status"]["conditions"][0]["status"] == "True":
                nodes.add(pod["spec"]["nodeName"])
        return len(nodes)

    def dataplane_health(self, body: dict[str, Any]) -> None:
        for check in body.get("checks", []):
            self.checks[check["id"]] = check
        for tr in body.get("transitions", []):
            self.checks[tr["id"]] = tr
            self.event("health_check", id=tr["id"], fqdn=tr["fqdn"], healthy=tr["healthy"], status=tr["status"])
        self.dns_changes.extend(body.get("dns_changes", []))
        del self.dns_changes[:-500]
        self.dataplane_counters = {k: body.get(k) for k in ("requests", "rejected", "front")}

    def health_status(self, hc_id: str) -> tuple[bool, str, str]:
        st = self.checks.get(hc_id)
        if st is None or not st.get("checked_at"):
            return False, "Failure: no observation yet", ""
        return bool(st["healthy"]), str(st["status"]), str(st["checked_at"])

    def health_metrics(self) -> list[tuple[str, bool]]:
        return [(hc_id, bool(st["healthy"])) for hc_id, st in list(self.checks.items()) if st.get("checked_at")]

    def lags(self) -> list[tuple[str, str, float]]:
        """(region, instance id, ReplicaLag) of the instance the RDS API calls a replica."""
        lag = self.rds.lag_s() if self.rds is not None else None
        if lag is None:
            return []
        role = self.rds.replica_role
        region = self.cfg.side(role).region
        for db in self.backends.rds(region).databases.values():
            if db.source_db_instance_identifier:
                return [(region, db.db_instance_identifier, lag)]
        return []

    # ------------------------------------------------------------------ hooks of the RDS API

    def on_promote(self, region: str, db_id: str, **_: Any) -> None:
        role = self.cfg.role_of_region(region) or "dr"
        self.rds.promote(role)
        self.event("rds_promoted", region=region, db=db_id)

    def on_create_replica(self, region: str, db_id: str, source: str, **_: Any) -> None:
        role = self.cfg.role_of_region(region) or "dr"
        self.rds.reseed(role, "primary" if role == "dr" else "dr")
        self.event("rds_replica_created", region=region, db=db_id, source=source)

    def pause(self, kind: str, source: str, paused: bool) -> None:
        worker = self.ddb_repl if kind == "dynamodb" else self.s3_repl
        if worker.external:
            raise ValueError(f"{kind} replication is done by {worker.external} here: it cannot be paused")
        (worker.paused_sources.add if paused else worker.paused_sources.discard)(source)
        self.event("replication_paused" if paused else "replication_resumed", store=kind, source=source)

    # ------------------------------------------------------------------ status

    def part_status(self) -> dict[str, dict[str, Any]]:
        parts: dict[str, dict[str, Any]] = {}

        def put(name: str, ok: bool, detail: str) -> None:
            parts[name] = {"healthy": bool(ok), "detail": detail}

        try:
            self.client("sts", "us-east-1").get_caller_identity()
            put("aws", True, f"moto at {self.state.get('aws_endpoint')}, posture {self.posture}")
        except Exception as exc:
            put("aws", False, str(exc)[:200])
        if self.state.get("aws_routing", {}).get("localstack"):
            put("localstack", *self.localstack_ok())
        ok, detail = self.rds.healthy()
        put("rds", ok, detail)
        for role, (cluster, rec) in self.clusters.items():
            deps = cluster.list("deployments")
            ready = sum(1 for d in deps if d["status"].get("availableReplicas", 0) >= d["spec"]["replicas"])
            nodes = len(rec.ready_nodes())
            put(f"k8s_{role}", ready == len(deps) and nodes > 0,
                f"{cluster.name}: {ready}/{len(deps)} deployments available, {nodes} nodes ready")
        for role in ROLES:
            down = role in self.cut.regions or role in self.cut.dbs
            put(f"network_{role}", not down, "cut: " + ", ".join(
                sorted(self.cut.albs | {f"db {r}" for r in self.cut.dbs})) if down else "all paths open")
        unhealthy = [c for c, st in self.checks.items() if not st.get("healthy")]
        put("healthchecker", bool(self.state.get("dataplane_alive", True)),
            f"{len(self.checks)} checks, unhealthy: {unhealthy or 'none'}")
        put("replication_dynamodb", True, json.dumps(self.ddb_repl.status()))
        put("replication_s3", True, json.dumps(self.s3_repl.status()))
        put("alarms", True, json.dumps(self.monitor.status()))
        put("slack", True, f"{len(self.slack.messages)} messages")
        return parts

    def localstack_ok(self) -> tuple[bool, str]:
        from sandbox.client import SERVING, localstack_health

        ls = self.state["aws_routing"]
        try:
            services = localstack_health(ls["localstack"], 3).get("services", {})
        except (OSError, ValueError) as exc:
            return False, f"LocalStack at {ls['localstack']} not answering: {exc}"
        bad = [s for s in ls["to_localstack"] if services.get(s) not in SERVING]
        return not bad, f"LocalStack at {ls['localstack']}: {', '.join(ls['to_localstack'])}" + (
            f"; not available: {', '.join(bad)}" if bad else "")

    def refresh_state(self) -> dict[str, Any]:
        parts = self.part_status()
        self.state.update(healthy=all(p["healthy"] for p in parts.values()), parts=parts,
                          cut={"albs": sorted(self.cut.albs), "dbs": sorted(self.cut.dbs),
                               "regions": sorted(self.cut.regions)},
                          dataplane=self.dataplane_counters, inventory=self.inventory.as_dict())
        return self.state
