"""``drill audit``: a read-only readiness scorecard of the DR posture against the policy.

Each check looks at one part of the warm standby the policy relies on, through read calls only
(Describe/List/Get, a MySQL status query, Kubernetes GETs), and says ok or gap with the details.
A gap whose key is in the policy's ``known_gaps`` (section 7) is named as that known gap when the
feature is absent altogether, as the policy says (problems marked ``Absent`` where they are
found); a feature there but broken is a new gap. The scorecard separates "the policy already says so" from "new". Exit 1 when any gap exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drill.core.calls import GLOBAL
from drill.ops import cloudwatch, cognito, rds, route53
from drill.targets.base import Target


@dataclass
class Finding:
    key: str
    title: str
    ok: bool
    detail: str
    known_gap: int | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "ok": self.ok, "detail": self.detail,
                "known_gap": self.known_gap, "problems": self.problems}


class Absent(str):
    """A problem that says the item's feature is not there at all: what a known gap of the policy
    names. Marked where the problem is found; a feature there but broken is a plain problem."""


def _absent_if(altogether: bool, problems: list[str]) -> list[str]:
    """The problems as found while the feature is absent from every resource the item covers;
    otherwise plain problems (the feature is there, some resource lacks it: a new gap)."""
    return problems if altogether else [str.__str__(p) for p in problems]


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__))


class Auditor:
    def __init__(self, target: Target):
        self.t = target
        self.cfg = target.cfg
        self.primary = self.cfg.regions.primary.name
        self.dr = self.cfg.regions.dr.name

    def c(self, service: str, region: str) -> Any:
        return self.t.client(service, region)

    # each returns the problems it found (empty: ok) and a one-line detail

    def rds_replica(self) -> tuple[list[str], str]:
        conf = self.cfg.rds
        inst = rds.instance(self.t, "dr")
        if inst is None:
            return [Absent(f"{conf.replica.id} in {self.dr}: not found")], "no DR replica"
        source = str(inst.get("ReadReplicaSourceDBInstanceIdentifier") or "")
        problems = [] if source.endswith(conf.primary.id) else [f"{conf.replica.id} is not a replica of {conf.primary.id}"]
        lag = rds.replica_lag_s(self.t, "dr")
        if lag is None:
            problems.append("no ReplicaLag metric in CloudWatch")
        elif lag < 0:
            problems.append("replication is not running (ReplicaLag -1)")
        elif lag > conf.lag_threshold_s:
            problems.append(f"lag {lag:.0f} s > threshold {conf.lag_threshold_s:g} s")
        return problems, f"{conf.replica.id} replica of {source.rsplit(':', 1)[-1] or '?'}, lag {lag} s"

    def dynamodb(self) -> tuple[list[str], str]:
        problems: list[str] = []
        streams: list[bool] = []
        for table in self.cfg.dynamodb.tables:
            try:
                desc = self.c("dynamodb", self.primary).describe_table(TableName=table.name)["Table"]
            except Exception as exc:
                problems.append(f"{table.name}: {_code(exc)}")
                continue
            stream = desc.get("StreamSpecification", {}).get("StreamEnabled")
            streams.append(bool(stream))
            if not stream:
                problems.append(Absent(f"{table.name}: stream not enabled"))
            if self.dr not in [r.get("RegionName") for r in desc.get("Replicas", [])]:  # none without a stream
                problems.append((str if stream else Absent)(f"{table.name}: no replica in {self.dr}"))
        # absent only when no table has streams: one table left out while the others have them is new
        return _absent_if(not any(streams), problems), \
            f"{len(self.cfg.dynamodb.tables)} tables: streams and a {self.dr} replica each"

    def s3_crr(self) -> tuple[list[str], str]:
        problems = []
        for pair in self.cfg.s3.buckets:
            try:
                conf = self.c("s3", self.primary).get_bucket_replication(Bucket=pair.name)["ReplicationConfiguration"]
                dests = [r["Destination"]["Bucket"].split(":::")[-1] for r in conf.get("Rules", [])
                         if r.get("Status") == "Enabled"]
                if pair.dr not in dests:
                    problems.append(f"{pair.name}: no enabled rule to {pair.dr}")
            except Exception as exc:
                problems.append(f"{pair.name}: {_code(exc)}")
            for bucket, region in ((pair.name, self.primary), (pair.dr, self.dr)):
                try:
                    if self.c("s3", region).get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
                        problems.append(f"{bucket}: versioning off (CRR needs it)")
                except Exception as exc:
                    problems.append(f"{bucket}: {_code(exc)}")
        return problems, f"{len(self.cfg.s3.buckets)} bucket pairs replicate to {self.dr}"

    def ecr(self) -> tuple[list[str], str]:
        try:
            conf = self.c("ecr", self.primary).describe_registry().get("replicationConfiguration", {})
        except Exception as exc:
            return [f"describe_registry: {_code(exc)}"], "unknown"
        regions = {d.get("region") for r in conf.get("rules", []) for d in r.get("destinations", [])}
        return ([] if self.dr in regions else [Absent(f"no replication rule to {self.dr}")]), \
            f"{len(self.cfg.ecr.repositories)} repositories, replication to {sorted(r for r in regions if r) or 'none'}"

    def secrets(self) -> tuple[list[str], str]:
        problems = []
        for secret in self.cfg.secrets:
            try:
                desc = self.c("secretsmanager", self.primary).describe_secret(SecretId=secret.name)
            except Exception as exc:
                problems.append(f"{secret.name}: {_code(exc)}")
                continue
            reps = {r.get("Region"): r.get("Status") for r in desc.get("ReplicationStatus", [])}
            if reps.get(self.dr) != "InSync":
                problems.append(f"{secret.name}: replica in {self.dr} {reps.get(self.dr) or 'missing'}")
        return problems, f"{len(self.cfg.secrets)} secrets replicated to {self.dr}"

    def acm_kms(self) -> tuple[list[str], str]:
        problems = []
        domain = self.cfg.acm.get("domain")
        if domain:
            certs = self.c("acm", self.dr).list_certificates()["CertificateSummaryList"]
            if not any(c.get("DomainName") == domain for c in certs):
                problems.append(f"no ACM certificate for {domain} in {self.dr}")
        aliases = {a["AliasName"] for a in self.c("kms", self.dr).list_aliases()["Aliases"]}
        problems += [f"KMS {a} missing in {self.dr}" for a in self.cfg.kms.aliases if a not in aliases]
        return problems, f"certificate {domain} and {len(self.cfg.kms.aliases)} KMS keys in {self.dr}"

    def eks_dr(self) -> tuple[list[str], str]:
        cl = self.cfg.side("dr").cluster
        eks = self.c("eks", self.dr)
        try:
            cluster = eks.describe_cluster(name=cl.cluster)["cluster"]
            ng = eks.describe_nodegroup(clusterName=cl.cluster, nodegroupName=cl.node_group)["nodegroup"]
        except Exception as exc:
            return [f"{cl.cluster}/{cl.node_group}: {_code(exc)}"], "no DR cluster"
        scaling = ng.get("scalingConfig", {})
        problems = []
        if cluster.get("status") != "ACTIVE":
            problems.append(f"cluster {cluster.get('status')}")
        if int(scaling.get("minSize", 0)) < cl.min_nodes:
            problems.append(f"node group min {scaling.get('minSize')} < policy {cl.min_nodes}")
        if int(scaling.get("maxSize", 0)) < self.cfg.eks.failover_nodes:
            problems.append(f"node group max {scaling.get('maxSize')} < failover size {self.cfg.eks.failover_nodes}")
        return problems, (f"{cl.cluster} {cluster.get('status')}, node group min {scaling.get('minSize')} "
                          f"max {scaling.get('maxSize')}")

    def ingresses(self) -> tuple[list[str], str]:
        from kubernetes import client

        api = client.NetworkingV1Api(self.t.kube("dr"))
        have = {i.metadata.name for i in api.list_namespaced_ingress(self.cfg.app_namespace, _request_timeout=10).items
                if i.metadata is not None}
        want = [i.name for i in self.cfg.ingresses]
        missing = [n for n in want if n not in have]
        return [f"ingress {n} missing in the DR cluster" for n in missing], f"{len(want) - len(missing)}/{len(want)} ingresses in DR"

    def health_check(self) -> tuple[list[str], str]:
        want = self.cfg.route53.health_check
        checks = route53.health_checks(self.t)
        if not checks:
            return [Absent("no Route 53 health check on the primary ALBs")], "none"
        problems = []
        for hc in checks:
            conf = hc["HealthCheckConfig"]
            if conf.get("ResourcePath") != want.path or int(conf.get("FailureThreshold", 0)) != want.failure_threshold:
                problems.append(f"{hc['Id']}: path {conf.get('ResourcePath')} threshold {conf.get('FailureThreshold')}")
            if conf.get("Disabled") or conf.get("Inverted"):  # reports healthy (or the opposite) whatever it sees
                problems.append(f"{hc['Id']}: {'disabled' if conf.get('Disabled') else 'inverted'}")
        return problems, f"{len(checks)} health checks on {want.path}"

    def alert_path(self) -> tuple[list[str], str]:
        ha = self.cfg.route53.health_check.alarm
        alarms = cloudwatch.alarms(self.t, GLOBAL, prefix=ha.name)
        if not alarms:
            return [Absent(f"no alarm {ha.name} on the health check (us-east-1)")], "none"
        problems = []
        for a in alarms:
            topics = [t for t in a.get("AlarmActions", []) if t.startswith("arn:aws:sns:")]
            if not topics:
                problems.append(f"{a['AlarmName']}: notifies no SNS topic")
            for t in topics:
                subs = [s for page in self.c("sns", t.split(":")[3]).get_paginator(
                    "list_subscriptions_by_topic").paginate(TopicArn=t) for s in page["Subscriptions"]]
                if not subs:
                    problems.append(f"{a['AlarmName']}: topic {t.split(':')[-1]} has no subscription")
        return problems, f"{len(alarms)} alarms -> SNS -> {self.cfg.communication.alert_function}"

    def failover_records(self) -> tuple[list[str], str]:
        recs = route53.record_sets(self.t)
        problems = []
        wanted = [r for r in self.cfg.route53.records if r.routing == "failover"]
        for rec in wanted:
            name = rec.name.rstrip(".") + "."
            kinds = {r.get("Failover") for r in recs if r["Name"] == name and r["Type"] == rec.type}
            if kinds != {"PRIMARY", "SECONDARY"}:
                got = sorted(k for k in kinds if k)
                problems.append((str if got else Absent)(f"{rec.name}: failover {got or 'none'}"))
        # absent only when no record has failover: one record left out while the others have it is new
        none = len(problems) == len(wanted) and all(isinstance(p, Absent) for p in problems)
        return _absent_if(none, problems), \
            f"{len(wanted) - len(problems)}/{len(wanted)} records with PRIMARY and SECONDARY"

    def cloudfront(self) -> tuple[list[str], str]:
        cf = self.cfg.cloudfront
        api = self.c("cloudfront", GLOBAL)
        dists = api.list_distributions().get("DistributionList", {}).get("Items", [])
        dist = next((d for d in dists if d.get("Comment") == cf.distribution_id or d["Id"] == cf.distribution_id), None)
        if dist is None:
            return [f"distribution {cf.distribution_id} not found"], "none"
        conf = api.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
        groups = conf.get("OriginGroups", {}).get("Items", [])
        origins = {o["Id"]: o["DomainName"] for o in conf.get("Origins", {}).get("Items", [])}
        ok = [g["Id"] for g in groups
              if {m["OriginId"] for m in g["Members"]["Items"]} >= {cf.origin_bucket, cf.failover_bucket}]
        used = conf.get("DefaultCacheBehavior", {}).get("TargetOriginId")
        problems: list[str] = [] if ok else [Absent(f"no origin group {cf.origin_bucket} -> {cf.failover_bucket}")]
        if ok and used not in ok:  # a group nobody routes to fails over nothing
            problems.append(f"the default behaviour targets {used}, not the origin group {ok[0]}")
        return problems, f"{len(groups)} origin groups, origins {sorted(origins)}, default behaviour -> {used}"

    def cognito(self) -> tuple[list[str], str]:
        problems = []
        pools = {}
        for role in ("primary", "dr"):
            try:
                idp, pool_id, _ = cognito.pool(self.t, role)
            except LookupError as exc:
                problems.append(str(exc))
                continue
            pools[role] = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        if "primary" in pools and self.cfg.cognito.sync:
            if not pools["primary"].get("LambdaConfig", {}).get("PostConfirmation"):
                problems.append("primary pool has no Post Confirmation trigger (users are not synced to DR)")
        return problems, f"DR pool {self.cfg.cognito.dr.pool_name!r}, sync trigger: {self.cfg.cognito.sync}"

    def alarms(self) -> tuple[list[str], str]:
        want = [a.name for a in self.cfg.monitoring.alarms]
        problems = []
        for region in (self.primary, self.dr):
            have = {a["AlarmName"] for a in self.c("cloudwatch", region).describe_alarms(AlarmNames=want)["MetricAlarms"]}
            problems += [f"{n} missing in {region}" for n in want if n not in have]
        return problems, f"{len(want)} alarms of section 10 in both regions"

    CHECKS: list[tuple[str, str, str]] = [
        ("rds_replica", "RDS cross-region read replica and its lag", "rds_replica"),
        ("dynamodb_streams", "DynamoDB global tables and streams", "dynamodb"),
        ("s3_crr", "S3 cross-region replication per bucket pair", "s3_crr"),
        ("ecr_replication", "ECR cross-region replication", "ecr"),
        ("secret_replicas", "Secrets Manager replicas", "secrets"),
        ("acm_kms", "ACM certificate and KMS keys in the DR region", "acm_kms"),
        ("eks_dr", "DR EKS cluster and node group", "eks_dr"),
        ("ingresses_dr", "Ingresses in the DR cluster", "ingresses"),
        ("route53_health_check", "Route 53 health check", "health_check"),
        ("alert_path", "Health-check alarm -> SNS -> alert function", "alert_path"),
        ("route53_failover", "Route 53 failover records", "failover_records"),
        ("cloudfront_origin_failover", "CloudFront origin failover group", "cloudfront"),
        ("cognito_dr", "Cognito DR user pool and its sync trigger", "cognito"),
        ("cloudwatch_alarms", "CloudWatch alarms (section 10)", "alarms"),
    ]

    # a finding that follows from a known gap (no health check: no alarm on it either)
    FOLLOWS = {"alert_path": "route53_health_check"}

    def run(self) -> list[Finding]:
        known: dict[str, int] = {str(g.key): int(g.id) for g in self.cfg.known_gaps}
        known.update({k: known[v] for k, v in self.FOLLOWS.items() if v in known})
        out = []
        for key, title, method in self.CHECKS:
            check: Callable[[], tuple[list[str], str]] = getattr(self, method)
            try:
                problems, detail = check()
            except Exception as exc:
                problems, detail = [f"could not check: {type(exc).__name__}: {exc}"[:300]], "error"
            # the policy's known gap only while the feature is absent, as the policy says
            gap = known.get(key) if problems and all(isinstance(p, Absent) for p in problems) else None
            out.append(Finding(key, title, not problems, detail, gap, problems))
        return out


def render(findings: list[Finding], target: str, cfg: Any) -> str:
    lines = [f"DR readiness audit: {cfg.policy.name} on {target} ({cfg.regions.primary.name} -> {cfg.regions.dr.name})"]
    for f in findings:
        mark = "ok " if f.ok else "GAP"
        tag = f"  [known gap #{f.known_gap}]" if f.known_gap else ("" if f.ok else "  [new]")
        lines.append(f"  {mark} {f.title}: {f.detail}{tag}")
        lines += [f"        - {p}" for p in f.problems]
    gaps = [f for f in findings if not f.ok]
    known = [f for f in gaps if f.known_gap]
    lines.append(f"{len(findings) - len(gaps)}/{len(findings)} ready; {len(gaps)} gaps "
                 f"({len(known)} listed in the policy's known gaps, {len(gaps) - len(known)} new)")
    return "\n".join(lines)
