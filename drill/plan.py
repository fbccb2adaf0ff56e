"""What a drill will do, before it does it: ``drill plan`` and ``drill iam-policy``.

The plan walks the selected features' scenarios step by step and lists, for each step, every
external call it makes (AWS API, Kubernetes, MySQL, webhook) with the resources it touches, and
which fault of the catalog it injects. Resource names come from the config; ids only the account
knows (the hosted zone id, the CRR role) are resolved with read-only calls when a target is given.
Planning never makes a mutating call (tests/test_aws_target.py records every botocore call).

The IAM policy is derived from the same entries, one statement per service with the exact
actions and resource ARNs, so what a plan shows is what the policy grants.

``tests/test_plan.py`` checks this catalogue against what a real drill did: every mutating AWS
call journaled by a sandbox drill of a cadence must appear in that cadence's plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drill.config import Config
from drill.errors import InvalidInput

REPO_ROOT = Path(__file__).resolve().parents[1]
FEATURES = REPO_ROOT / "features"

# IAM action names where they differ from the API operation
IAM_NAMES = {("s3", "ListObjectsV2"): "s3:ListBucket", ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
             ("s3", "GetBucketReplication"): "s3:GetReplicationConfiguration",
             ("s3", "PutBucketReplication"): "s3:PutReplicationConfiguration",
             ("s3", "DeleteBucketReplication"): "s3:PutReplicationConfiguration",
             ("s3", "HeadObject"): "s3:GetObject", ("s3", "DeleteObject"): "s3:DeleteObject",
             ("sts", "GetCallerIdentity"): ""}  # GetCallerIdentity needs no permission


@dataclass(frozen=True)
class Call:
    kind: str        # aws | kubernetes | mysql | webhook
    service: str     # AWS service (client name), or the cluster / database / channel
    operation: str   # API operation, or what is done
    region: str
    resources: tuple[str, ...]
    mutating: bool
    note: str = ""

    def iam_action(self) -> str:
        name = IAM_NAMES.get((self.service, self.operation))
        if name is not None:
            return name
        return f"{self.service}:{self.operation}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "service": self.service, "operation": self.operation, "region": self.region,
                "resources": list(self.resources), "mutating": self.mutating, "note": self.note}


@dataclass
class Ctx:
    cfg: Config
    account: str
    zone_id: str = ""
    crr_role: str = ""
    pool_ids: dict[str, str] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return self.cfg.regions.primary.name

    @property
    def dr(self) -> str:
        return self.cfg.regions.dr.name

    def region(self, role: str) -> str:
        return self.primary if role == "primary" else self.dr

    def db(self, role: str) -> str:
        inst = self.cfg.rds.primary if role == "primary" else self.cfg.rds.replica
        return f"arn:aws:rds:{self.region(role)}:{self.account}:db:{inst.id}"

    def zone(self) -> str:
        return f"arn:aws:route53:::hostedzone/{self.zone_id or '*'}"

    def tables(self, role: str) -> tuple[str, ...]:
        return tuple(f"arn:aws:dynamodb:{self.region(role)}:{self.account}:table/{t.name}"
                     for t in self.cfg.dynamodb.tables)

    def buckets(self, role: str, objects: bool = False) -> tuple[str, ...]:
        names = [b.name if role == "primary" else b.dr for b in self.cfg.s3.buckets]
        return tuple(f"arn:aws:s3:::{n}" + ("/*" if objects else "") for n in names)

    def nodegroup(self, role: str) -> str:
        cl = self.cfg.cluster(role)
        return f"arn:aws:eks:{self.region(role)}:{self.account}:nodegroup/{cl.cluster}/{cl.node_group}/*"

    def cluster(self, role: str) -> str:
        cl = self.cfg.cluster(role)
        return f"arn:aws:eks:{self.region(role)}:{self.account}:cluster/{cl.cluster}"

    def pool(self, role: str) -> str:
        pool = self.cfg.cognito.primary if role == "primary" else self.cfg.cognito.dr
        pool_id = pool.pool_id or self.pool_ids.get(role) or "*"
        return f"arn:aws:cognito-idp:{self.region(role)}:{self.account}:userpool/{pool_id}"

    def alarms(self, region: str) -> tuple[str, ...]:
        return tuple(f"arn:aws:cloudwatch:{region}:{self.account}:alarm:{a}" for a in self.cfg.stop.alarms)


def aws(service: str, op: str, region: str, resources: tuple[str, ...] | list[str] | str,
        mutating: bool = False, note: str = "") -> Call:
    res = (resources,) if isinstance(resources, str) else tuple(resources)
    return Call("aws", service, op, region, res, mutating, note)


def _reads_steady(c: Ctx) -> list[Call]:
    out = [aws("route53", "ListHostedZones", "us-east-1", "*"),
           aws("route53", "ListResourceRecordSets", "us-east-1", c.zone()),
           aws("route53", "GetHealthCheck", "us-east-1", "arn:aws:route53:::healthcheck/*"),
           aws("route53", "GetHealthCheckStatus", "us-east-1", "arn:aws:route53:::healthcheck/*"),
           aws("rds", "DescribeDBInstances", c.primary, c.db("primary")),
           aws("rds", "DescribeDBInstances", c.dr, c.db("dr"))]
    out += [aws("cloudwatch", "DescribeAlarms", r, c.alarms(r), note="stop conditions")
            for r in (c.primary, c.dr) if c.cfg.stop.alarms]
    out.append(Call("webhook", "user traffic", "GET " + c.cfg.route53.health_check.path, "-",
                    tuple(c.cfg.fqdn(h) for h in c.cfg.routed_hosts()), False, "health through the entry point"))
    return out


def _traffic(c: Ctx) -> list[Call]:
    rate = c.cfg.measure.canary_rate_per_s
    out = [Call("locust", "user traffic", f"{c.cfg.load.users} users", "-",
                tuple(c.cfg.fqdn(h) for h in c.cfg.routed_hosts()), False, "locust in its own process"),
           Call("mysql", c.cfg.rds.database, "CREATE TABLE IF NOT EXISTS / INSERT canary rows", c.primary,
                (c.db("primary"),), True, f"{rate}/s, removed at the end"),
           aws("rds", "DescribeDBInstances", c.primary, c.db("primary"), note="endpoint")]
    if c.cfg.aws.db_secret:
        out.append(aws("secretsmanager", "GetSecretValue", c.primary,
                       f"arn:aws:secretsmanager:{c.primary}:{c.account}:secret:{c.cfg.aws.db_secret}-*",
                       note="the DB login (aws target)"))
    for role in ("primary", "dr"):
        out += [aws("dynamodb", "PutItem", c.region(role), c.tables(role), True, f"canary items, {rate}/s"),
                aws("dynamodb", "Query", c.region(role), c.tables(role)),
                aws("dynamodb", "DeleteItem", c.region(role), c.tables(role), True, "canary cleanup"),
                aws("s3", "PutObject", c.region(role), c.buckets(role, True), True, f"canary objects, {rate}/s"),
                aws("s3", "ListObjectsV2", c.region(role), c.buckets(role)),
                aws("s3", "DeleteObject", c.region(role), c.buckets(role, True), True, "canary cleanup")]
    return out


def _detect(c: Ctx) -> list[Call]:
    return [aws("route53", "GetHealthCheckStatus", "us-east-1", "arn:aws:route53:::healthcheck/*")]


def _declare(c: Ctx) -> list[Call]:
    return [Call("webhook", "slack", "POST notices of the communication plan", "-",
                 tuple(sorted({st.channel for st in c.cfg.communication.plan})), False,
                 "to communication.webhook_url")]


def _switch_records(c: Ctx, to: str) -> list[Call]:
    return [aws("route53", "ListHostedZones", "us-east-1", "*"),
            aws("route53", "ListResourceRecordSets", "us-east-1", c.zone()),
            aws("route53", "ChangeResourceRecordSets", "us-east-1", c.zone(), True,
                f"records of {', '.join(c.cfg.fqdn(h) for h in c.cfg.routed_hosts())} to the {to} ALBs")]


def _failover(c: Ctx) -> list[Call]:
    cl = c.cfg.cluster("dr")
    return ([aws("rds", "PromoteReadReplica", c.dr, c.db("dr"), True, "section 5 step: promote the Tokyo replica"),
             aws("rds", "DescribeDBInstances", c.dr, c.db("dr"))]
            + _switch_records(c, "DR")
            + [aws("eks", "DescribeNodegroup", c.dr, c.nodegroup("dr")),
               aws("eks", "UpdateNodegroupConfig", c.dr, c.nodegroup("dr"), True,
                   f"desired {c.cfg.eks.failover_nodes} nodes"),
               Call("kubernetes", cl.cluster, "scale deployments to the primary's replicas", c.dr,
                    tuple(f"{c.cfg.app_namespace}/deployment/{w.deployment}" for w in c.cfg.workloads), True)])


def _failback(c: Ctx) -> list[Call]:
    cl = c.cfg.cluster("dr")
    return ([aws("rds", "DeleteDBInstance", c.primary, c.db("primary"), True, "the stale Seoul instance"),
             aws("rds", "CreateDBInstanceReadReplica", c.primary, (c.db("primary"), c.db("dr")), True,
                 "new Seoul replica of Tokyo"),
             aws("rds", "PromoteReadReplica", c.primary, c.db("primary"), True),
             aws("rds", "DeleteDBInstance", c.dr, c.db("dr"), True, "Tokyo rebuilt as replica"),
             aws("rds", "CreateDBInstanceReadReplica", c.dr, (c.db("dr"), c.db("primary")), True),
             aws("rds", "DescribeDBInstances", c.primary, c.db("primary")),
             aws("s3", "GetBucketReplication", c.primary, c.buckets("primary")),
             aws("s3", "PutBucketReplication", c.dr, c.buckets("dr"), True, "reverse CRR Tokyo -> Seoul"),
             Call("aws", "iam", "PassRole", "us-east-1",
                  (f"arn:aws:iam::{c.account}:role/{c.crr_role or '*'}",), False, "the CRR role, to S3"),
             aws("s3", "ListObjectsV2", c.dr, c.buckets("dr")),
             aws("s3", "GetObject", c.dr, c.buckets("dr", True)),
             aws("s3", "PutObject", c.primary, c.buckets("primary", True), True, "sync DR objects back"),
             aws("s3", "DeleteBucketReplication", c.dr, c.buckets("dr"), True, "reverse CRR off")]
            + _switch_records(c, "primary")
            + [aws("eks", "UpdateNodegroupConfig", c.dr, c.nodegroup("dr"), True,
                   f"back to standby: {c.cfg.eks.dr.nodes} nodes"),
               Call("kubernetes", cl.cluster, "scale deployments back to standby", c.dr,
                    tuple(f"{c.cfg.app_namespace}/deployment/{w.deployment}" for w in c.cfg.workloads), True)])


def _cognito(op: str, role: str, mutating: bool = False) -> Callable[[Ctx], list[Call]]:
    return lambda c: [aws("cognito-idp", "ListUserPools", c.region(role), "*", note="pool id by name"),
                      aws("cognito-idp", "ListUserPoolClients", c.region(role), c.pool(role)),
                      aws("cognito-idp", op, c.region(role), c.pool(role), mutating)]


def _probe_tables(c: Ctx) -> list[Call]:
    out = []
    for role in ("primary", "dr"):
        out += [aws("dynamodb", "PutItem", c.region(role), c.tables(role), True, "probe item, removed"),
                aws("dynamodb", "GetItem", c.region(role), c.tables(role)),
                aws("dynamodb", "DeleteItem", c.region(role), c.tables(role), True)]
    return out


def _compare(c: Ctx) -> list[Call]:
    out = [Call("mysql", c.cfg.rds.database, "SELECT checksums of each table", r, (c.db(role),), False)
           for role, r in (("primary", c.primary), ("dr", c.dr))]
    for role in ("primary", "dr"):
        out += [aws("dynamodb", "Scan", c.region(role), c.tables(role)),
                aws("s3", "ListObjectsV2", c.region(role), c.buckets(role))]
    return out


def _standby(c: Ctx) -> list[Call]:
    return [aws("rds", "DescribeDBInstances", c.dr, c.db("dr")),
            aws("eks", "DescribeNodegroup", c.dr, c.nodegroup("dr"))]


def fault_calls(name: str, c: Ctx, target_name: str) -> list[Call]:
    """The calls a fault of the catalogue makes to inject and undo it, per target."""
    if target_name in ("sandbox", "localstack"):
        return [Call("sandbox", "control", f"switch {name} on, then off", "-", ("the twin's control API",), True)]
    region = c.primary
    acl = f"arn:aws:ec2:{region}:{c.account}:network-acl/*"
    if name == "region_outage":
        net = c.cfg.network.primary
        return [aws("ec2", "DescribeVpcs", region, "*", note=f"VPC {net.vpc}"),
                aws("ec2", "DescribeSubnets", region, "*"),
                aws("ec2", "DescribeNetworkAcls", region, "*"),
                aws("ec2", "CreateNetworkAcl", region, (f"arn:aws:ec2:{region}:{c.account}:vpc/*", acl), True,
                    "a deny-all ACL, tagged drill:fault"),
                aws("ec2", "CreateTags", region, acl, True, "tags of that ACL"),
                aws("ec2", "ReplaceNetworkAclAssociation", region,
                    (acl, f"arn:aws:ec2:{region}:{c.account}:subnet/*"), True,
                    f"every subnet of {net.vpc} to it, and back on undo"),
                aws("ec2", "DeleteNetworkAcl", region, acl, True, "undo: the drill's ACL")]
    if name == "health_endpoint_failing":
        return [aws("route53", "GetHealthCheck", "us-east-1", "arn:aws:route53:::healthcheck/*"),
                aws("route53", "UpdateHealthCheck", "us-east-1", "arn:aws:route53:::healthcheck/*", True,
                    "ResourcePath to a failing path, restored on undo")]
    return []


@dataclass
class StepPlan:
    calls: Callable[[Ctx], list[Call]] = lambda c: []
    fault: str | None = None  # a fault of the catalog this step injects


STEPS: list[tuple[re.Pattern[str], StepPlan]] = [(re.compile(p + "$"), s) for p, s in [
    (r"the target is in steady state", StepPlan(_reads_steady)),
    (r"user traffic and canary writes are running", StepPlan(_traffic)),
    (r"the primary region suffers an outage", StepPlan(fault="region_outage")),
    (r"the Route 53 health check detects the outage", StepPlan(_detect)),
    (r"DR is declared by the policy's rule", StepPlan(_declare)),
    (r"the runbook fails over to the DR region", StepPlan(_failover)),
    (r"users are served by the (DR|primary) region", StepPlan()),
    (r"RTO and RPO are measured", StepPlan(lambda c: _compare(c)[2:])),
    (r"every store's data loss is within its RPO budget", StepPlan()),
    (r"the user-facing RTO is within the RTO budget", StepPlan()),
    (r"the Route 53 health check has the policy's settings", StepPlan(_reads_steady)),
    (r"the primary region's health endpoint fails", StepPlan(fault="health_endpoint_failing")),
    (r"the health check goes unhealthy within interval times threshold", StepPlan(_detect)),
    (r"the alert reaches the policy's Slack channel", StepPlan(_declare)),
    (r"[\w.]+(?: and [\w.]+)* (?:is|are) served by the DR region", StepPlan()),
    (r"the fault is undone", StepPlan()),
    (r"everything is healthy again and served by the primary region", StepPlan(_reads_steady)),
    (r"a probe write to each global table in each region shows in the other region within the DynamoDB RPO budget",
     StepPlan(_probe_tables)),
    (r"replication has caught up", StepPlan(_standby)),
    (r"the \w+ copies match", StepPlan(_compare)),
    (r"the synced user logs in to the primary user pool", StepPlan(_cognito("InitiateAuth", "primary"))),
    (r"the synced user exists in the DR user pool", StepPlan(_cognito("AdminGetUser", "dr"))),
    (r"the primary password does not work in the DR user pool", StepPlan(_cognito("InitiateAuth", "dr"))),
    (r"the user resets the password as the failover notice says",
     StepPlan(_cognito("AdminSetUserPassword", "dr", True))),
    (r"the synced user logs in to the DR user pool", StepPlan(_cognito("InitiateAuth", "dr"))),
    (r"the target has failed over to the DR region and takes writes there",
     StepPlan(lambda c: _traffic(c) + _detect(c) + _declare(c) + _failover(c), fault="region_outage")),
    (r"the runbook fails back to the primary region", StepPlan(_failback)),
    (r"every write acknowledged in the DR region is in the primary region", StepPlan(lambda c: _compare(c)[2:])),
    (r"the DR region is back to standby with replication from the primary region", StepPlan(_standby)),
]]


@dataclass
class Scenario:
    feature: str
    name: str
    tags: set[str]
    steps: list[str] = field(default_factory=list)


def scenarios(cadence: str) -> list[Scenario]:
    """The scenarios a cadence runs, parsed from the feature files (tags as pytest-bdd reads them)."""
    out: list[Scenario] = []
    for path in sorted(FEATURES.rglob("*.feature")):
        feature_tags: set[str] = set()
        pending: set[str] = set()
        feature = ""
        current: Scenario | None = None
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line.startswith("@"):
                pending |= {t.lstrip("@") for t in line.split()}
            elif line.startswith("Feature:"):
                feature, feature_tags, pending = line[8:].strip(), pending, set()
            elif line.startswith(("Scenario:", "Scenario Outline:")):
                current = Scenario(feature, line.split(":", 1)[1].strip(), feature_tags | pending)
                pending = set()
                out.append(current)
            elif current is not None and line.split(" ", 1)[0] in ("Given", "When", "Then", "And", "But"):
                current.steps.append(line.split(" ", 1)[1])
    wanted = {"monthly", "quarterly", "weekly"} if cadence == "all" else {cadence}
    return [s for s in out if s.tags & wanted]


def step_plan(text: str) -> StepPlan:
    for pattern, plan in STEPS:
        if pattern.match(text):
            return plan
    raise InvalidInput(f"plan: no plan entry for step {text!r} (add it to drill/plan.py STEPS)")


def resolve(cfg: Config, target: Any | None) -> Ctx:
    """Ids only the account knows, by read-only calls; placeholders without a target."""
    account = cfg.allowed_accounts()[0]
    ctx = Ctx(cfg, account)
    if target is None:
        return ctx
    ctx.account = getattr(target, "account", None) or account
    try:
        from drill.actions import _zone_id

        ctx.zone_id = _zone_id(target)
    except Exception:
        ctx.zone_id = ""
    try:
        s3 = target.client("s3", cfg.regions.primary.name, journaled=False)
        conf = s3.get_bucket_replication(Bucket=cfg.s3.buckets[0].name)["ReplicationConfiguration"]
        ctx.crr_role = str(conf["Role"]).split("/")[-1]
    except Exception:
        ctx.crr_role = ""
    for role in ("primary", "dr"):
        pool = cfg.cognito.primary if role == "primary" else cfg.cognito.dr
        try:
            idp = target.client("cognito-idp", cfg.region_name(role), journaled=False)
            for p in idp.list_user_pools(MaxResults=60)["UserPools"]:
                if p["Name"] == pool.pool_name:
                    ctx.pool_ids[role] = p["Id"]
        except Exception:
            pass
    return ctx


def build(cfg: Config, cadence: str, target_name: str, target: Any | None = None) -> dict[str, Any]:
    from drill.faults import REGISTRY

    ctx = resolve(cfg, target)
    plan: dict[str, Any] = {"target": target_name, "cadence": cadence, "account": ctx.account,
                            "scenarios": [], "unavailable": []}
    for sc in scenarios(cadence):
        entry: dict[str, Any] = {"feature": sc.feature, "scenario": sc.name, "tags": sorted(sc.tags),
                                 "destructive": cfg.aws.destructive_tag in sc.tags, "steps": []}
        for text in sc.steps:
            sp = step_plan(text)
            step: dict[str, Any] = {"step": text, "calls": [c.as_dict() for c in sp.calls(ctx)]}
            if sp.fault:
                kind = REGISTRY[sp.fault]
                step["fault"] = sp.fault
                step["calls"] = [c.as_dict() for c in fault_calls(sp.fault, ctx, target_name)] + step["calls"]
                if target_name not in kind.targets:
                    step["unavailable"] = f"fault {sp.fault} has no implementation on {target_name}"
                    plan["unavailable"].append(f"{sc.name}: {step['unavailable']}")
            entry["steps"].append(step)
        plan["scenarios"].append(entry)
    return plan


def all_calls(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for sc in plan["scenarios"] for st in sc["steps"] for c in st["calls"]]


def iam_policy(plan: dict[str, Any]) -> dict[str, Any]:
    """Least privilege for the plan's AWS calls: one statement per (action set, resources)."""
    by_resources: dict[tuple[str, ...], set[str]] = {}
    for c in all_calls(plan):
        if c["kind"] != "aws":
            continue
        action = Call(c["kind"], c["service"], c["operation"], c["region"], tuple(c["resources"]),
                      c["mutating"], c["note"]).iam_action()
        if not action:
            continue
        by_resources.setdefault(tuple(sorted(set(c["resources"]))), set()).add(action)
    # merge statements with the same actions
    merged: dict[tuple[str, ...], set[str]] = {}
    for res, actions in by_resources.items():
        merged.setdefault(tuple(sorted(actions)), set()).update(res)
    statements = []
    for n, (action_set, resource_set) in enumerate(sorted(merged.items()), 1):
        statements.append({"Sid": f"Drill{n}", "Effect": "Allow", "Action": list(action_set),
                           "Resource": sorted(resource_set)})
    return {"Version": "2012-10-17", "Statement": statements}


def render(plan: dict[str, Any]) -> str:
    lines = [f"drill plan: {plan['cadence']} on {plan['target']} (account {plan['account']}); "
             "nothing below has been done"]
    for sc in plan["scenarios"]:
        lines.append("")
        lines.append(f"Scenario: {sc['scenario']}" + ("  [destructive: needs --confirm <account-id> on aws]"
                                                      if sc["destructive"] else ""))
        for st in sc["steps"]:
            lines.append(f"  {st['step']}")
            if st.get("fault"):
                lines.append(f"    fault {st['fault']}" + (f"  ** {st['unavailable']} **" if st.get("unavailable") else
                                                        " (undo recorded before it starts)"))
            for c in st["calls"]:
                mark = "CHANGE" if c["mutating"] else ("read  " if c["kind"] == "aws" else "call  ")
                where = f"{c['service']}:{c['operation']}" if c["kind"] == "aws" else f"{c['kind']} {c['service']}: {c['operation']}"
                lines.append(f"    {mark} {where} [{c['region']}] {', '.join(c['resources'])}"
                             + (f"  ({c['note']})" if c["note"] else ""))
    changes = sum(1 for c in all_calls(plan) if c["mutating"])
    lines.append("")
    lines.append(f"{len(plan['scenarios'])} scenarios, {changes} changing calls planned"
                 + (f"; cannot run here: {len(plan['unavailable'])}" if plan["unavailable"] else ""))
    return "\n".join(lines)


def select(plan: dict[str, Any], expr: str | None) -> dict[str, Any]:
    """Keep the scenarios a ``-k`` word selects (a plain substring of the name, case-insensitive)."""
    if not expr:
        return plan
    words = [w for w in re.split(r"\s+(?:and|or|not)\s+|\s+", expr.lower()) if w and w not in ("and", "or", "not")]
    kept = [sc for sc in plan["scenarios"] if any(w in sc["scenario"].lower() for w in words)] if words else []
    names = {sc["scenario"] for sc in kept}
    return {**plan, "scenarios": kept or plan["scenarios"],
            "unavailable": [u for u in plan["unavailable"] if not kept or u.split(": ", 1)[0] in names]}


def preflight(loaded: Any, target_name: str, cadence: str, confirm: str | None, expr: str | None) -> dict[str, Any]:
    """Before a drill on a real account: the account (STS, allow-list), --confirm for destructive
    scenarios, and no step the target cannot do. Raises InvalidInput; changes nothing."""
    plan = select(build(loaded.config, cadence, target_name), expr)
    if target_name == "aws":  # the account first: nothing else is looked at for a refused one
        from drill.aws import AwsTarget

        destructive = any(sc["destructive"] for sc in plan["scenarios"])
        AwsTarget(loaded, None, confirm=confirm, destructive=destructive)
        plan["destructive"] = destructive
    if plan["unavailable"]:
        raise InvalidInput(f"--target {target_name}: cannot run {len(plan['unavailable'])} step(s): "
                           + "; ".join(plan["unavailable"][:3]) + " (drill plan shows them)")
    return plan


def uncovered(plan: dict[str, Any], journal_events: list[dict[str, Any]]) -> list[str]:
    """Mutating AWS calls a drill journaled that its plan does not list (should be none)."""
    planned = {(c["service"], c["operation"], c["region"]) for c in all_calls(plan) if c["kind"] == "aws"}
    out = []
    for ev in journal_events:
        if ev.get("event") != "aws_call":
            continue
        key = (ev.get("service"), ev.get("operation"), ev.get("region"))
        if key not in planned:
            out.append(f"{key[0]}:{key[1]} [{key[2]}]")
    return sorted(set(out))
