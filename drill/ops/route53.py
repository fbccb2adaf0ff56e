"""Route 53: the hosted zone and its records (paginated), the policy's health checks and what they
report, and the runbook's DNS step (point the records at a region's load balancers, wait for the
change to be in sync).

The load balancer that serves a host in a region is found as on an account: in the primary
region by the policy's load balancer names (ELB API); in the DR region by the failover pair's
SECONDARY record, or else by the DR cluster's ingress for that host (its status names the load
balancer the controller made). Never by a naming rule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from drill.core.errors import ActionFailed
from drill.core.waits import wait_value
from drill.targets.base import Target

GLOBAL = "us-east-1"  # Route 53 answers here


@dataclass(frozen=True)
class Lb:
    dns: str
    zone_id: str


def r53(target: Target) -> Any:
    return target.client("route53", GLOBAL)


def zone_id(target: Target) -> str:
    want = target.cfg.route53.zone.rstrip(".") + "."
    for page in r53(target).get_paginator("list_hosted_zones").paginate():
        for z in page["HostedZones"]:
            if z["Name"] == want:
                return str(z["Id"]).split("/")[-1]
    raise ActionFailed(f"hosted zone {target.cfg.route53.zone} not found")


def record_sets(target: Target, zone: str | None = None) -> list[dict[str, Any]]:
    zone = zone or zone_id(target)
    return [r for page in r53(target).get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone)
            for r in page["ResourceRecordSets"]]


def _target_of(rec: dict[str, Any]) -> str:
    if "AliasTarget" in rec:
        return str(rec["AliasTarget"]["DNSName"]).rstrip(".")
    return str((rec.get("ResourceRecords") or [{}])[0].get("Value", "")).rstrip(".")


def primary_lbs(target: Target) -> dict[str, Lb]:
    """Each policy load balancer in the primary region, by the hosts it serves."""
    cfg = target.cfg
    elb = target.client("elbv2", cfg.side("primary").region)
    names = [a.name for a in cfg.albs]
    lbs = {lb["LoadBalancerName"]: Lb(lb["DNSName"], lb["CanonicalHostedZoneId"])
           for page in elb.get_paginator("describe_load_balancers").paginate(Names=names)
           for lb in page["LoadBalancers"]}
    return {host: lbs[a.name] for a in cfg.albs for host in a.serves if a.name in lbs}


def dr_lbs(target: Target, records: list[dict[str, Any]] | None = None) -> dict[str, Lb]:
    """Each host's load balancer in the DR region: the SECONDARY record's, else the DR ingress's."""
    cfg = target.cfg
    records = records if records is not None else record_sets(target)
    out: dict[str, Lb] = {}
    for host in cfg.routed_hosts():
        fqdn = cfg.fqdn(host) + "."
        sec = next((r for r in records if r["Name"] == fqdn and r.get("Failover") == "SECONDARY"), None)
        if sec is not None:
            out[host] = Lb(_target_of(sec), sec.get("AliasTarget", {}).get("HostedZoneId", ""))
    missing = [h for h in cfg.routed_hosts() if h not in out]
    if missing:
        out.update(_ingress_lbs(target, "dr", missing))
    return out


def _ingress_lbs(target: Target, role: str, hosts: list[str]) -> dict[str, Lb]:
    from kubernetes import client

    cfg = target.cfg
    api = client.NetworkingV1Api(target.kube(role))
    found: dict[str, str] = {}
    for ing in api.list_namespaced_ingress(cfg.app_namespace, _request_timeout=10).items:
        lbs = [i.hostname for i in (ing.status.load_balancer.ingress or []) if i.hostname] if ing.status and \
            ing.status.load_balancer else []
        if not lbs:
            continue
        for rule in (ing.spec.rules if ing.spec else None) or []:
            host = rule.host.split(".")[0] if rule.host else target.cfg.app_host
            found.setdefault(host, lbs[0])
    elb = target.client("elbv2", cfg.side(role).region)
    zones = {lb["DNSName"]: lb["CanonicalHostedZoneId"] for page in elb.get_paginator(
        "describe_load_balancers").paginate() for lb in page["LoadBalancers"]}
    return {h: Lb(found[h], zones.get(found[h], "")) for h in hosts if h in found}


def switch_records(target: Target, to_role: str, deadline_s: float) -> dict[str, Any]:
    """Point every load-balancer record of the zone (the PRIMARY of a failover pair) at ``to_role``'s
    load balancers; returns the names changed and how long the change took to be in sync."""
    cfg = target.cfg
    zone = zone_id(target)
    records = record_sets(target, zone)
    lbs = primary_lbs(target) if to_role == "primary" else dr_lbs(target, records)
    changes: list[dict[str, Any]] = []
    names: list[str] = []
    for rec in cfg.route53.records:
        if rec.target != "alb":
            continue
        host = rec.name[: -len(cfg.route53.zone) - 1]
        lb = lbs.get(host)
        if lb is None:
            raise ActionFailed(f"{rec.name}: no load balancer for it in the {to_role} region "
                               "(no SECONDARY record and no ingress naming one)")
        fqdn = rec.name.rstrip(".") + "."
        for rrs in records:
            if rrs["Name"] != fqdn or rrs["Type"] != rec.type or rrs.get("Failover") == "SECONDARY":
                continue
            if _target_of(rrs) == lb.dns:
                continue
            new = dict(rrs)
            if "AliasTarget" in new:
                new["AliasTarget"] = {"HostedZoneId": lb.zone_id, "DNSName": lb.dns,
                                      "EvaluateTargetHealth": bool(rrs["AliasTarget"].get("EvaluateTargetHealth"))}
            else:
                new["ResourceRecords"] = [{"Value": lb.dns}]
            changes.append({"Action": "UPSERT", "ResourceRecordSet": new})
            names.append(rec.name)
    if not changes:
        return {"records": [], "insync_s": 0.0}
    start = time.monotonic()
    change = r53(target).change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Comment": f"drill runbook: records to the {to_role} region", "Changes": changes})["ChangeInfo"]
    wait_value(lambda: r53(target).get_change(Id=change["Id"])["ChangeInfo"]["Status"], lambda s: s == "INSYNC",
               deadline_s, "Route 53 change in sync", 0.2)
    return {"records": names, "insync_s": round(time.monotonic() - start, 3)}


def records_at(target: Target) -> dict[str, str]:
    """Where each routed name points now (the PRIMARY or single record's target)."""
    cfg = target.cfg
    out = {}
    for rrs in record_sets(target):
        name = rrs["Name"].rstrip(".")
        if name in {cfg.fqdn(h) for h in cfg.routed_hosts()} and rrs.get("Failover") != "SECONDARY":
            out[name] = _target_of(rrs)
    return out


def health_checks(target: Target) -> list[dict[str, Any]]:
    """The policy's health checks: those on the primary load balancers (an account holds others)."""
    dns = {lb.dns for lb in primary_lbs(target).values()}
    return [hc for page in r53(target).get_paginator("list_health_checks").paginate()
            for hc in page["HealthChecks"] if hc["HealthCheckConfig"].get("FullyQualifiedDomainName") in dns]


def health_check_ids(target: Target) -> list[str]:
    return [hc["Id"] for hc in health_checks(target)]


def health_failing(target: Target, hc_id: str) -> bool:
    """What Route 53 reports: failing when most of its checkers' observations are failures (or none)."""
    obs = r53(target).get_health_check_status(HealthCheckId=hc_id)["HealthCheckObservations"]
    fails = [o for o in obs if not o["StatusReport"]["Status"].startswith("Success")]
    return not obs or len(fails) * 2 > len(obs)
