"""The failover, phase by phase: the outage, its detection, the declaration by the policy's rule,
and the manual runbook of section 5 (promote the replica, point the records at the DR region,
scale the DR side up, verify every service), each phase journaled with what it learned."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from drill.core.errors import ActionFailed
from drill.core.waits import wait_until
from drill.faults.registry import get as get_fault
from drill.ops import eks, rds, route53

if TYPE_CHECKING:
    from drill.engine.drill import Drill


def inject(drill: Drill, name: str, **params: Any) -> float:
    """Inject a fault of the catalog; the fault instant is marked."""
    if "duration_s" in get_fault(name).params and "duration_s" not in params:  # it ends by itself with the budget
        left = drill.cfg.stop.time_budget_s - (time.time() - drill.started_at)
        if left < 1:
            raise ActionFailed(f"the time budget ({drill.cfg.stop.time_budget_s:g} s) is spent: no fault is started")
        params["duration_s"] = round(left, 1)
    fault_at = drill.journal.now()[0]
    _, details = drill.faults.inject_details(name, **params)
    drill.marks["fault"] = fault_at  # users' RTO counts from here
    drill.journal.write("mark", name="fault", at=fault_at, fault=name)
    in_effect = drill.mark("fault_in_effect", fault=name)  # every action applied
    for store, at in (details.get("in_effect") or {}).items():  # when each store's copy stopped receiving
        drill.marks[f"fault_in_effect:{store}"] = float(at or in_effect)
    return fault_at


def wait_detection(drill: Drill) -> float:
    hc = drill.cfg.route53.health_check
    ids = route53.health_check_ids(drill.target)
    if not ids:
        raise ActionFailed("no Route 53 health check of the policy exists: the outage cannot be detected")
    with drill.phase("detection", started_at=drill.marks["fault"]) as info:
        wait_until(lambda: any(route53.health_failing(drill.target, h) for h in ids),
                   2 * (hc.interval_s * (hc.failure_threshold + 1) + hc.propagation_s) + drill.deadline / 2,
                   "health check reports the failure", drill.interval)
        info["health_checks"] = ids
    detected = drill.mark("detected")
    drill.notifier.send("outage_confirmed", "health check failing", since=drill.marks["fault"])
    return detected


def declare(drill: Drill) -> float:
    """The policy's declaration rule: the failure has lasted ``declaration.outage_s``."""
    wait = drill.cfg.declaration.outage_s
    with drill.phase("declaration", measured=False,
                     detail=f"policy wait: failure must last {wait:g} s (policy {drill.policy.declaration.outage_s:g} s)"
                     ) as info:
        end = drill.marks["detected"] + wait
        while time.time() < end:
            time.sleep(min(0.2, max(0.0, end - time.time())))
        info["wait_s"] = wait
    declared = drill.mark("declared")
    drill.notifier.send("dr_declared", since=drill.marks["fault"])
    drill.notifier.start_progress(declared)
    return declared


def served_by(drill: Drill, role: str, hosts: list[str] | None = None, deadline_s: float | None = None) -> dict[str, float]:
    """Until every routed name (or ``hosts``) answers its health path with success from ``role``'s
    region, as users resolve it; returns the wait per name."""
    cfg = drill.cfg
    region = cfg.side(role).region
    waits: dict[str, float] = {}
    for fqdn in hosts or [cfg.fqdn(h) for h in cfg.routed_hosts()]:
        last: Any = None

        def answered(f: str = fqdn) -> bool:
            nonlocal last
            last = drill.web.get(f, cfg.route53.health_check.path)
            return last.ok and last.region == region

        try:
            waits[fqdn] = wait_until(answered, deadline_s or drill.deadline, f"{fqdn} served by {region}", drill.interval)
        except ActionFailed as exc:
            raise ActionFailed(f"{exc}: last answer HTTP {last.status} from "
                               f"{last.region or last.address or 'nowhere'}") from None
    return waits


def switch_dns(drill: Drill, to_role: str) -> dict[str, Any]:
    """Point the records at ``to_role``'s load balancers, then wait until users are served there:
    at least one TTL after the change is in sync (a client that resolved just before it keeps the
    old answer that long), and until every name answers from there."""
    start = time.monotonic()
    out = route53.switch_records(drill.target, to_role, drill.deadline)
    ttl = drill.cfg.route53.ttl_s
    out["waits"] = served_by(drill, to_role)
    left = start + out["insync_s"] + ttl - time.monotonic()
    if left > 0:
        time.sleep(left)
    out["ttl_s"] = ttl
    return out


def workload_replicas(drill: Drill, full: bool) -> dict[str, int]:
    cfg = drill.cfg
    return {w.deployment: (w.replicas if full else min(w.replicas, cfg.eks.standby_replicas)) for w in cfg.workloads}


def scale_dr(drill: Drill, nodes: int, full: bool) -> dict[str, Any]:
    """The node group first, then the deployments once its nodes are Ready: pods scaled before the
    new nodes join land on the old ones, and a cluster does not move them later."""
    changed = eks.set_desired(drill.target, "dr", nodes)
    eks.wait_nodes(drill.target, "dr", nodes, drill.deadline, drill.interval)
    want = workload_replicas(drill, full)
    eks.scale_deployments(drill.target, "dr", want)
    eks.wait_scaled(drill.target, "dr", nodes, want, drill.deadline, drill.interval)
    return {"node_group": changed, "deployments": want}


def verify_services(drill: Drill, role: str) -> dict[str, int]:
    """Every service's health endpoint through the users' entry, answered with success by ``role``'s region."""
    cfg = drill.cfg
    region = cfg.side(role).region
    checks: list[tuple[str, str]] = []
    for wl in cfg.workloads:
        if wl.kind == "app" and wl.path:
            checks.append((cfg.fqdn(cfg.app_host), f"{wl.path}/health"))
        elif wl.kind == "host" and wl.host:
            checks.append((cfg.fqdn(wl.host), cfg.route53.health_check.path))
    results: dict[str, int] = {}
    for host, path in checks:
        last: Any = None

        def ok(h: str = host, p: str = path) -> bool:
            nonlocal last
            last = drill.web.get(h, p)
            return last.ok and last.region == region

        try:
            wait_until(ok, drill.deadline, f"{host}{path} healthy from {region}", drill.interval)
        except ActionFailed as exc:
            raise ActionFailed(f"{exc}: last answer HTTP {last.status} from {last.region or 'nowhere'}") from None
        results[f"{host}{path}"] = last.status
    return results


def failover(drill: Drill) -> None:
    cfg = drill.cfg
    with drill.phase("promotion") as info:
        info.update(rds.promote(drill.target, "dr", drill.deadline))
    if drill.traffic is not None:
        drill.traffic.retarget("dr")
    drill.mark("promoted")
    with drill.phase("dns") as info:
        info.update(switch_dns(drill, "dr"))
    drill.mark("dns_switched")
    with drill.phase("scale_up") as info:
        info.update(scale_dr(drill, cfg.eks.failover_nodes, full=True))
    with drill.phase("verification") as info:
        info["checks"] = verify_services(drill, "dr")
    drill.mark("verified")
    drill.notifier.stop_progress()
    drill.notifier.send("switchover_done", since=drill.marks["declared"])
    notice = cfg.communication.notices["failover"]
    drill.notifier.send("user_notice", notice.ko if drill.notifier.lang == "ko" else notice.en,
                        since=drill.marks["verified"])
