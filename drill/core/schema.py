"""The DR policy as a typed model: topology, budgets, procedures, communication, checklist.

Every name and number of a policy lives in its YAML file; nothing here knows any policy. How
the harness observes and where it acts (measurement, stop conditions, load, targets) is in
``drill.core.settings``; ``Config`` joins both and offers ``side(role)``, the one place that
maps "primary" / "dr" to the names of that side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from drill.core.redact import MIN_FREE_TEXT
from drill.core.settings import (
    RESOLUTION,
    AwsTargetConf,
    Endpoints,
    History,
    Load,
    LocalStackConf,
    Lock,
    Measure,
    Model,
    Sandbox,
    Stop,
)
from drill.core.topology import (
    S3,
    Alb,
    CloudFront,
    Cluster,
    Cognito,
    CognitoPool,
    DaemonSet,
    DynamoDb,
    Ecr,
    Eks,
    Iam,
    Ingress,
    Kms,
    Network,
    Rds,
    RdsInstance,
    Regions,
    Route53,
    Secret,
    Vpc,
    Workload,
)

Role = Literal["primary", "dr"]
ROLES: tuple[Role, Role] = ("primary", "dr")


class Policy(Model):
    name: str
    document: str = ""
    strategy: Literal["warm_standby", "pilot_light", "active_active", "backup_restore"]
    switchover: Literal["manual", "automatic"]
    domain: str
    team: dict[str, int] = {}
    accounts: list[str] = []
    features: str = "../features"  # the policy's feature files, relative to the config file


class RtoPhaseBudget(Model):
    name: str
    budget_s: float = Field(ge=0)
    label: str = ""


class Budgets(Model):
    rto_s: float = Field(gt=0)
    rpo_s: dict[Literal["rds", "dynamodb", "s3", "cognito"], float]
    rto_phases: list[RtoPhaseBudget] = []


class Declaration(Model):
    authority: list[str] = []
    outage_s: float = Field(ge=0)
    or_on_provider_announcement: bool = True


class Failback(Model):
    stabilization_s: float = Field(ge=0)
    steps: list[str] = []


class Notice(Model):
    en: str
    ko: str


class CommStage(Model):
    stage: str
    when: str
    within_s: float | None = None
    channel: str
    who: str
    message: str
    message_ko: str = ""


class SlackApi(Model):
    api_url: str = "https://slack.com/api"
    token_env: str = "SLACK_BOT_TOKEN"  # a bot token with channels:history, read to check the alert arrived


class Communication(Model):
    webhook_url: str | None = None  # a secret (its path is the token): never logged or reported
    channels: dict[str, str]
    progress_interval_s: float = Field(gt=0)
    plan: list[CommStage]
    notices: dict[Literal["failover", "failback"], Notice]
    alert_function: str  # the Lambda the health-check alarm's topic invokes; it posts to Slack
    slack: SlackApi = SlackApi()

    @field_validator("webhook_url")
    @classmethod
    def _redactable(cls, v: str | None) -> str | None:
        token = (v or "").rstrip("/").rsplit("/", 1)[-1]
        if v is not None and len(token) < MIN_FREE_TEXT:
            raise ValueError(f"its token (the last part of the path) is too short to redact safely from free text "
                             f"(under {MIN_FREE_TEXT} characters)")
        return v


class Threshold(Model):
    area: str
    metric: str
    op: Literal[">", ">=", "<", "<="]
    value: float
    severity: Literal["warning", "critical"]


class Alarm(Model):
    name: str
    namespace: str
    metric: str
    threshold: float
    period_s: int = Field(gt=0)
    severity: Literal["warning", "critical"]


class Monitoring(Model):
    thresholds: list[Threshold] = []
    alarms: list[Alarm] = []


class ChecklistItem(Model):
    id: int
    key: str
    en: str
    ko: str = ""


class RegularTest(Model):
    key: str
    cadence: Literal["monthly", "quarterly", "weekly"]
    content: str


class KnownGap(Model):
    id: int
    key: Literal["dynamodb_streams", "route53_health_check", "route53_failover", "cloudfront_origin_failover",
                 "ecr_replication"]
    severity: Literal["low", "medium", "high"]
    problem: str


@dataclass(frozen=True)
class Side:
    """Everything of one side of the warm standby, by role (no ``if role == "primary"`` elsewhere)."""

    role: Role
    region: str
    label: str
    vpc: Vpc
    cluster: Cluster
    db: RdsInstance
    pool: CognitoPool
    buckets: tuple[str, ...]  # in the order of s3.buckets

    @property
    def other(self) -> Role:
        return "dr" if self.role == "primary" else "primary"


class Config(Model):
    policy: Policy
    regions: Regions
    budgets: Budgets
    declaration: Declaration
    failback: Failback
    network: Network
    eks: Eks
    workloads: list[Workload]
    app_namespace: str = "default"
    app_host: str  # the short hostname (in route53.zone) of the path-routed apps: ingresses with host "*"
    daemonsets: list[DaemonSet] = []
    system_services: dict[str, list[str]] = {}
    ingresses: list[Ingress]
    configmaps: list[str] = []
    rds: Rds
    dynamodb: DynamoDb
    s3: S3
    cognito: Cognito
    ecr: Ecr
    secrets: list[Secret]
    cloudfront: CloudFront
    albs: list[Alb]
    route53: Route53
    acm: dict[str, str] = {}
    kms: Kms = Kms()
    iam: Iam = Iam()
    communication: Communication
    monitoring: Monitoring = Monitoring()
    checklist: list[ChecklistItem]
    regular_tests: list[RegularTest]
    known_gaps: list[KnownGap] = []
    endpoints: Endpoints = Endpoints()
    measure: Measure
    stop: Stop
    load: Load
    sandbox: Sandbox
    localstack: LocalStackConf = LocalStackConf()
    aws: AwsTargetConf = AwsTargetConf()
    lock: Lock = Lock()
    history: History = History()

    def allowed_accounts(self) -> list[str]:
        return list(self.aws.allowed_accounts or self.policy.accounts)

    @model_validator(mode="after")
    def _cross_refs(self) -> Config:
        deployments = {w.name for w in self.workloads}
        for ing in self.ingresses:
            if ing.service not in deployments:
                raise ValueError(f"ingress {ing.name}: unknown service {ing.service!r}")
        hosts = {w.host for w in self.workloads if w.kind == "host"} | {self.app_host}
        for alb in self.albs:
            for h in alb.serves:
                if h not in hosts:
                    raise ValueError(f"alb {alb.name}: serves unknown host {h!r}")
        for rec in self.route53.records:
            if not rec.name.endswith(self.route53.zone):
                raise ValueError(f"record {rec.name}: not in zone {self.route53.zone}")
        if self.eks.failover_nodes > self.eks.dr.max_nodes:
            raise ValueError("eks.failover_nodes exceeds eks.dr.max_nodes")
        known = {a.name for a in self.monitoring.alarms}
        unknown = [a for a in self.stop.alarms if a not in known]
        if unknown:
            raise ValueError(f"stop.alarms: {unknown} are not alarms of monitoring.alarms")
        k8s = self.load.kubernetes
        if self.load.mode == "kubernetes" and k8s is not None and k8s.cluster != self.eks.dr.cluster:
            raise ValueError(f"load.kubernetes.cluster {k8s.cluster!r}: the load workers run in the DR cluster "
                             f"({self.eks.dr.cluster}); the primary's goes down with the drill's outage")
        for store, budget in self.budgets.rpo_s.items():  # a verdict that can fail: writes finer than the budget
            rate = self.measure.canary_rate(store)
            if store != "cognito" and budget > 0 and rate * budget < RESOLUTION:
                raise ValueError(f"measure: the {store} canaries write {rate:g} a second, {rate * budget:g} in its RPO "
                                 f"budget of {budget:g} s: at least {RESOLUTION} are needed to tell a loss within the "
                                 f"budget from one over it (measure.canary_rates_per_s.{store} >= "
                                 f"{math.ceil(RESOLUTION / budget * 1000) / 1000:g})")
        hosts_all = {h for a in self.albs for h in a.serves}
        for req in self.load.requests:
            if req.host not in hosts_all:
                raise ValueError(f"load.requests {req.name}: host {req.host!r} is not served by any alb")
        return self

    def side(self, role: str) -> Side:
        if role not in ROLES:
            raise ValueError(f"role must be primary or dr, not {role!r}")
        primary = role == "primary"
        region = self.regions.primary if primary else self.regions.dr
        return Side("primary" if primary else "dr", region.name, region.label,
                    self.network.primary if primary else self.network.dr,
                    self.eks.primary if primary else self.eks.dr,
                    self.rds.primary if primary else self.rds.replica,
                    self.cognito.primary if primary else self.cognito.dr,
                    tuple(b.name if primary else b.dr for b in self.s3.buckets))

    def role_of_region(self, region: str) -> Role | None:
        return next((r for r in ROLES if self.side(r).region == region), None)

    def fqdn(self, host: str) -> str:
        return f"{host}.{self.route53.zone}"

    def alb_for_host(self, host: str) -> Alb:
        for alb in self.albs:
            if host in alb.serves:
                return alb
        raise KeyError(host)

    def routed_hosts(self) -> list[str]:
        """Hostnames (short) whose records point at an ALB."""
        zone = "." + self.route53.zone
        return [r.name[: -len(zone)] for r in self.route53.records if r.target == "alb"]
