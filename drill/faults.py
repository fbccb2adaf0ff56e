"""Reversible faults. Each fault's undo is recorded durably before the fault starts.

A fault is a pair of plain functions ``inject(target, **params)`` and ``undo(target, **params)``
registered by name. ``FaultManager`` journals ``fault_planned`` (fsynced, with everything the
undo needs), then injects, then journals ``fault_injected``; ``revert_all`` undoes what is active
in reverse order and journals ``fault_reverted``. ``pending_from_journal`` finds what a killed
drill left injected, so ``drill rollback`` can finish the job.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drill.errors import InvalidInput
from drill.journal import Event, Journal
from drill.targets import SandboxTarget, Target


@dataclass(frozen=True)
class FaultKind:
    name: str
    description: str
    inject: Callable[..., None]
    undo: Callable[..., None]
    capture: Callable[..., dict[str, Any]] | None = None  # state the undo restores, read before injecting
    targets: tuple[str, ...] = ("sandbox",)


REGISTRY: dict[str, FaultKind] = {}


def register(name: str, description: str, inject: Callable[..., None], undo: Callable[..., None],
             capture: Callable[..., dict[str, Any]] | None = None,
             targets: tuple[str, ...] = ("sandbox",)) -> None:
    REGISTRY[name] = FaultKind(name, description, inject, undo, capture, targets)


def _sandbox(target: Target, fault_name: str) -> SandboxTarget:
    if not isinstance(target, SandboxTarget):
        raise InvalidInput(f"fault {fault_name}: no implementation for target {target.name}")
    return target


TWIN = ("sandbox", "localstack")  # both run the sandbox's data plane and its fault switches


def _ctl(fault_name: str, path: str, inject_body: dict[str, Any], undo_body: dict[str, Any]) -> tuple[
        Callable[..., None], Callable[..., None]]:
    """A sandbox fault that is one control call to inject and one to undo (bodies get the params)."""

    def inject(target: Target, **params: Any) -> None:
        _sandbox(target, fault_name).control("POST", path, {**inject_body, **_fill(inject_body, params)})

    def undo(target: Target, **params: Any) -> None:
        _sandbox(target, fault_name).control("POST", path, {**undo_body, **_fill(undo_body, params)})

    return inject, undo


def _fill(body: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k in body or k == "role"}


# --------------------------------------------------------------------- catalog: sandbox switches

Impl = tuple[Callable[..., None], Callable[..., None], Callable[..., dict[str, Any]] | None]


def _per_target(name: str, impls: dict[str, Impl]) -> tuple[Callable[..., None], Callable[..., None],
                                                            Callable[..., dict[str, Any]]]:
    """One fault, implemented differently per target (the twin's switch, the account's API)."""

    def pick(target: Target) -> Impl:
        if target.name not in impls:
            raise InvalidInput(f"fault {name}: no implementation for target {target.name}")
        return impls[target.name]

    def inject(target: Target, **params: Any) -> None:
        pick(target)[0](target, **params)

    def undo(target: Target, **params: Any) -> None:
        pick(target)[1](target, **params)

    def capture(target: Target, **params: Any) -> dict[str, Any]:
        cap = pick(target)[2]
        return cap(target, **params) if cap is not None else {}

    return inject, undo, capture


# On an account, a regional outage is cut the way AWS FIS's disrupt-connectivity does it: every
# subnet of the region's VPC is moved to a new network ACL, which denies all traffic; undo moves
# each subnet back to the ACL it had (recorded before) and deletes the drill's ACL.
NACL_TAG = "drill:fault"


def _vpc(target: Target, role: str) -> tuple[Any, str, list[str]]:
    net = target.cfg.network.primary if role == "primary" else target.cfg.network.dr
    ec2 = target.client("ec2", target.cfg.region_name(role))
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [net.vpc]}])["Vpcs"]
    if not vpcs:
        raise InvalidInput(f"region_outage: VPC {net.vpc} not found in {target.cfg.region_name(role)}")
    vpc_id = vpcs[0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]]
    return ec2, vpc_id, subnets


def _nacl_of(ec2: Any, subnet: str) -> tuple[str, str]:
    """(network ACL id, association id) of a subnet."""
    for acl in ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"]:
        for assoc in acl.get("Associations", []):
            if assoc.get("SubnetId") == subnet:
                return acl["NetworkAclId"], assoc["NetworkAclAssociationId"]
    raise RuntimeError(f"subnet {subnet}: no network ACL association")


def _nacl_capture(target: Target, role: str = "primary", **_: Any) -> dict[str, Any]:
    ec2, vpc_id, subnets = _vpc(target, role)
    return {"role": role, "vpc_id": vpc_id, "original": {s: _nacl_of(ec2, s)[0] for s in subnets}}


def _nacl_inject(target: Target, role: str = "primary", vpc_id: str = "",
                 original: dict[str, str] | None = None) -> None:
    ec2 = target.client("ec2", target.cfg.region_name(role))
    acl = ec2.create_network_acl(VpcId=vpc_id, TagSpecifications=[{"ResourceType": "network-acl", "Tags": [
        {"Key": "Name", "Value": "drill-region-outage"}, {"Key": NACL_TAG, "Value": "region_outage"}]}])
    deny_all = acl["NetworkAcl"]["NetworkAclId"]  # a new ACL has only the default deny-all entries
    for subnet in original or {}:
        ec2.replace_network_acl_association(AssociationId=_nacl_of(ec2, subnet)[1], NetworkAclId=deny_all)


def _nacl_undo(target: Target, role: str = "primary", vpc_id: str = "",
               original: dict[str, str] | None = None) -> None:
    ec2 = target.client("ec2", target.cfg.region_name(role))
    for subnet, acl_id in (original or {}).items():
        current, assoc = _nacl_of(ec2, subnet)
        if current != acl_id:
            ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=acl_id)
    for acl in ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                  {"Name": f"tag:{NACL_TAG}", "Values": ["region_outage"]}])["NetworkAcls"]:
        ec2.delete_network_acl(NetworkAclId=acl["NetworkAclId"])


# On an account, the health endpoint "fails" where Route 53 looks at it: the policy's health
# checks are pointed at a path that does not exist (the services keep serving); undo restores
# each check's own path.
FAILING_PATH = "/drill-fault-health-endpoint-failing"


def _hc_path_capture(target: Target, **params: Any) -> dict[str, Any]:
    from drill.probes import health_checks

    return {"paths": {hc["Id"]: hc["HealthCheckConfig"].get("ResourcePath", "/") for hc in health_checks(target)}}


def _hc_path_inject(target: Target, paths: dict[str, str] | None = None, **_: Any) -> None:
    for hc_id in paths or {}:
        target.client("route53", "us-east-1").update_health_check(HealthCheckId=hc_id, ResourcePath=FAILING_PATH)


def _hc_path_undo(target: Target, paths: dict[str, str] | None = None, **_: Any) -> None:
    for hc_id, path in (paths or {}).items():
        target.client("route53", "us-east-1").update_health_check(HealthCheckId=hc_id, ResourcePath=path)


_outage_twin = _ctl("region_outage", "/outage", {"role": "primary", "down": True}, {"role": "primary", "down": False})
_health_twin = _ctl("health_endpoint_failing", "/services", {"role": "primary", "services": "all", "mode": "health"},
                    {"role": "primary", "services": "all", "mode": "ok"})
_inject, _undo, _capture = _per_target("region_outage", {
    "sandbox": (*_outage_twin, None), "localstack": (*_outage_twin, None),
    "aws": (_nacl_inject, _nacl_undo, _nacl_capture)})
register("region_outage", "a region goes dark: its services, its AWS endpoints and its database stop; "
         "in-flight cross-region replication is lost (aws: every subnet of its VPC behind a deny-all "
         "network ACL)", _inject, _undo, capture=_capture, targets=("sandbox", "localstack", "aws"))
_inject, _undo, _capture = _per_target("health_endpoint_failing", {
    "sandbox": (*_health_twin, None), "localstack": (*_health_twin, None),
    "aws": (_hc_path_inject, _hc_path_undo, _hc_path_capture)})
register("health_endpoint_failing", "every service's health endpoint fails in a region while the "
         "services keep serving (aws: the policy's Route 53 health checks probe a path that fails)",
         _inject, _undo, capture=_capture, targets=("sandbox", "localstack", "aws"))
register("primary_db_crash", "the primary database server dies",
         *_ctl("primary_db_crash", "/rds", {"role": "primary", "action": "stop"},
               {"role": "primary", "action": "start"}), targets=TWIN)
register("replication_stopped", "cross-region RDS replication stops (the link is cut; in flight is lost)",
         *_ctl("replication_stopped", "/replication/rds", {"cut": True}, {"cut": False}), targets=TWIN)
# not on localstack: LocalStack replicates global tables itself and cannot pause them
register("dynamodb_replication_paused", "global-table replication pauses (changes queue up)",
         *_ctl("dynamodb_replication_paused", "/replication/dynamodb", {"paused": True}, {"paused": False}))


def _lag_capture(target: Target, **params: Any) -> dict[str, Any]:
    status = _sandbox(target, "replication_lag").control("GET", "/replication")["rds"]
    return {"previous_s": float(status.get("link_delay_s") or 0.0)}


register("replication_lag", "cross-region RDS replication runs delay_s behind",
         lambda target, delay_s=5.0, previous_s=0.0: _sandbox(target, "replication_lag").control(
             "POST", "/replication/rds", {"delay_s": delay_s}),
         lambda target, delay_s=5.0, previous_s=0.0: _sandbox(target, "replication_lag").control(
             "POST", "/replication/rds", {"delay_s": previous_s}),
         capture=_lag_capture, targets=TWIN)


# --------------------------------------------------------------------- catalog: real APIs (any target)


def _hc_capture(target: Target, **params: Any) -> dict[str, Any]:
    from drill.probes import health_checks

    before = {}
    for hc in health_checks(target):
        conf = hc["HealthCheckConfig"]
        before[hc["Id"]] = {"Inverted": bool(conf.get("Inverted", False)), "Disabled": bool(conf.get("Disabled", False))}
    return {"before": before}


def _hc_setter(field: str) -> tuple[Callable[..., None], Callable[..., None]]:
    def inject(target: Target, before: dict[str, dict[str, bool]] | None = None) -> None:
        r53 = target.client("route53", "us-east-1")
        for hc_id in before or {}:
            r53.update_health_check(HealthCheckId=hc_id, **{field: True})

    def undo(target: Target, before: dict[str, dict[str, bool]] | None = None) -> None:
        r53 = target.client("route53", "us-east-1")
        for hc_id, prev in (before or {}).items():
            r53.update_health_check(HealthCheckId=hc_id, **{field: prev[field]})

    return inject, undo


register("health_check_inverted", "every Route 53 health check reports the opposite of what it sees",
         *_hc_setter("Inverted"), capture=_hc_capture, targets=("sandbox", "localstack", "aws"))
register("health_check_disabled", "every Route 53 health check is disabled (always healthy)",
         *_hc_setter("Disabled"), capture=_hc_capture, targets=("sandbox", "localstack", "aws"))


def _ng_capture(target: Target, role: str = "dr", **params: Any) -> dict[str, Any]:
    cl = target.cfg.cluster(role)
    ng = target.client("eks", target.cfg.region_name(role), journaled=False).describe_nodegroup(
        clusterName=cl.cluster, nodegroupName=cl.node_group)["nodegroup"]
    return {"role": role, "before": ng["scalingConfig"]}


def _ng_zero(target: Target, role: str = "dr", before: dict[str, int] | None = None) -> None:
    cl = target.cfg.cluster(role)
    target.client("eks", target.cfg.region_name(role)).update_nodegroup_config(
        clusterName=cl.cluster, nodegroupName=cl.node_group,
        scalingConfig={"minSize": 0, "maxSize": max(1, (before or {}).get("maxSize", 1)), "desiredSize": 0})


def _ng_restore(target: Target, role: str = "dr", before: dict[str, int] | None = None) -> None:
    cl = target.cfg.cluster(role)
    target.client("eks", target.cfg.region_name(role)).update_nodegroup_config(
        clusterName=cl.cluster, nodegroupName=cl.node_group, scalingConfig=dict(before or {}))


register("node_group_zero", "a cluster's node group is scaled to 0 nodes", _ng_zero, _ng_restore,
         capture=_ng_capture, targets=("sandbox", "localstack", "aws"))


def _pod_kill(target: Target, role: str = "primary", deployment: str = "", namespace: str = "") -> None:
    from kubernetes import client

    core = client.CoreV1Api(target.kube(role))
    ns = namespace or target.cfg.app_namespace
    for pod in core.list_namespaced_pod(ns, label_selector=f"app={deployment}", _request_timeout=10).items:
        name = pod.metadata.name if pod.metadata is not None else None
        if not name:
            continue
        if target.journal is not None:
            target.journal.write("k8s_call", operation="delete_namespaced_pod", pod=name, namespace=ns)
        core.delete_namespaced_pod(name, ns, _request_timeout=10)


def _pod_kill_undo(target: Target, role: str = "primary", deployment: str = "", namespace: str = "") -> None:
    """Pods come back by themselves (the deployment's controller); the undo waits for that."""
    from drill import probes
    from drill.targets import wait_until

    ns = namespace or target.cfg.app_namespace
    wait_until(lambda: (lambda r: r[0] >= r[1])(probes.deployments_ready(target, role, ns).get(deployment, (0, 1))),
               target.cfg.measure.action_deadline_s, f"{deployment} available again")


register("pod_kill", "every pod of a deployment is deleted", _pod_kill, _pod_kill_undo,
         targets=("sandbox", "localstack", "aws"))


def _s3_capture(target: Target, **params: Any) -> dict[str, Any]:
    s3 = target.client("s3", target.cfg.regions.primary.name, journaled=False)
    return {"before": {p.name: s3.get_bucket_replication(Bucket=p.name)["ReplicationConfiguration"]
                       for p in target.cfg.s3.buckets}}


def _s3_pause(target: Target, before: dict[str, Any] | None = None) -> None:
    s3 = target.client("s3", target.cfg.regions.primary.name)
    for bucket, conf in (before or {}).items():
        rules = [dict(r, Status="Disabled") for r in conf["Rules"]]
        s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration={"Role": conf["Role"], "Rules": rules})


def _s3_resume(target: Target, before: dict[str, Any] | None = None) -> None:
    s3 = target.client("s3", target.cfg.regions.primary.name)
    for bucket, conf in (before or {}).items():
        s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=conf)


register("s3_replication_paused", "S3 cross-region replication rules are disabled", _s3_pause, _s3_resume,
         capture=_s3_capture, targets=("sandbox", "localstack", "aws"))


# --------------------------------------------------------------------- manager


class FaultManager:
    def __init__(self, target: Target, journal: Journal):
        self.target = target
        self.journal = journal
        self.active: list[tuple[str, str, dict[str, Any]]] = []  # (fault id, name, params)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def inject(self, name: str, **params: Any) -> str:
        if name not in REGISTRY:
            raise InvalidInput(f"unknown fault {name!r} (known: {', '.join(sorted(REGISTRY))})")
        kind = REGISTRY[name]
        if self.target.name not in kind.targets:
            raise InvalidInput(f"fault {name}: not available on target {self.target.name}")
        if kind.capture is not None:
            params = {**params, **kind.capture(self.target, **params)}
        fault_id = f"{name}-{next(self._ids)}"
        self.journal.write("fault_planned", durable=True, fault_id=fault_id, name=name, params=params,
                           undo={"name": name, "params": params}, target=self.target.name)
        with self._lock:
            self.active.append((fault_id, name, params))
        try:
            kind.inject(self.target, **params)
        except Exception as exc:
            self.journal.write("fault_inject_failed", durable=True, fault_id=fault_id, error=str(exc)[:300])
            raise
        self.journal.write("fault_injected", durable=True, fault_id=fault_id, name=name)
        return fault_id

    def revert(self, fault_id: str) -> bool:
        with self._lock:
            entry = next((a for a in self.active if a[0] == fault_id), None)
            if entry is None:
                return True
            self.active.remove(entry)
        _, name, params = entry
        try:
            REGISTRY[name].undo(self.target, **params)
        except Exception as exc:
            self.journal.write("fault_revert_failed", durable=True, fault_id=fault_id, error=str(exc)[:300])
            return False
        self.journal.write("fault_reverted", durable=True, fault_id=fault_id, name=name)
        return True

    def revert_all(self) -> bool:
        ok = True
        while True:
            with self._lock:
                if not self.active:
                    return ok
                fault_id = self.active[-1][0]
            ok = self.revert(fault_id) and ok


def pending_from_journal(events: list[Event]) -> list[tuple[str, str, dict[str, Any]]]:
    """Faults planned and not reverted, newest first (the order to undo them)."""
    planned: dict[str, tuple[str, dict[str, Any]]] = {}
    order: list[str] = []
    for ev in events:
        fid = ev.get("fault_id")
        if ev.event == "fault_planned":
            undo = ev.get("undo") or {}
            planned[fid] = (undo.get("name", ev.get("name")), undo.get("params", {}))
            order.append(fid)
        elif ev.event == "fault_reverted":
            planned.pop(fid, None)
    return [(fid, *planned[fid]) for fid in reversed(order) if fid in planned]
