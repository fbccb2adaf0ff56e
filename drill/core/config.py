"""The DR policy as a typed, validated model, loaded from config/*.yaml.

Every PortForge name and number lives in the YAML; nothing here knows about PortForge.
A profile (config/profiles/<target>.yaml) is a flat map of ``key.path: value`` overrides
applied before validation, and so is each ``--set key.path=value``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from drill.errors import InvalidInput

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "portforge.yaml"
PROFILES_DIR = REPO_ROOT / "config" / "profiles"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Policy(Model):
    name: str
    document: str = ""
    strategy: Literal["warm_standby", "pilot_light", "active_active", "backup_restore"]
    switchover: Literal["manual", "automatic"]
    domain: str
    team: dict[str, int] = {}
    accounts: list[str] = []


class Region(Model):
    name: str
    label: str
    azs: list[str] = []


class Regions(Model):
    primary: Region
    dr: Region


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


class Vpc(Model):
    vpc: str
    cidr: str
    public_subnets: list[str]
    private_subnets: list[str]
    db_subnets: list[str]
    nat_gateways: int = 0


class Network(Model):
    primary: Vpc
    dr: Vpc


class Cluster(Model):
    cluster: str
    version: str
    node_group: str
    nodes: int = Field(ge=0)
    min_nodes: int = Field(ge=0)
    max_nodes: int = Field(ge=1)
    instance_type: str


class Eks(Model):
    primary: Cluster
    dr: Cluster
    failover_nodes: int = Field(ge=1)
    pods_per_node: int = Field(ge=1)
    standby_replicas: int = Field(ge=0)


class Workload(Model):
    name: str
    deployment: str
    replicas: int = Field(ge=0)
    port: int | None = None
    kind: Literal["app", "host", "worker", "infra"]
    path: str | None = None
    host: str | None = None

    @model_validator(mode="after")
    def _routing(self) -> Workload:
        if self.kind == "app" and not self.path:
            raise ValueError(f"workload {self.name}: kind app needs a path")
        if self.kind == "host" and not self.host:
            raise ValueError(f"workload {self.name}: kind host needs a host")
        return self


class DaemonSet(Model):
    name: str
    namespace: str = "default"


class Ingress(Model):
    name: str
    host: str
    service: str
    port: int


class RdsInstance(Model):
    id: str
    multi_az: bool = False
    backup_window: str | None = None
    subnet_group: str


class Rds(Model):
    engine: str
    engine_version: str
    port: int
    instance_class: str
    backup_retention_days: int = 0
    database: str
    primary: RdsInstance
    replica: RdsInstance
    lag_threshold_s: float = Field(gt=0)


class DynamoTable(Model):
    name: str
    hash_key: str
    range_key: str | None = None


class DynamoDb(Model):
    tables: list[DynamoTable]


class BucketPair(Model):
    name: str
    dr: str
    use: str = ""


class S3(Model):
    buckets: list[BucketPair]


class CognitoPool(Model):
    pool_id: str | None = None
    pool_name: str
    client_id: str | None = None
    client_name: str


class Cognito(Model):
    primary: CognitoPool
    dr: CognitoPool
    test_user: str = "drill-canary-user@portforge.org"
    oauth: str = ""
    sync: str = ""


class Ecr(Model):
    account: str
    repositories: list[str]


class Secret(Model):
    name: str
    use: str = ""


class CloudFront(Model):
    distribution_id: str
    origin_bucket: str
    failover_bucket: str
    viewer_protocol_policy: str = "redirect-to-https"


class Alb(Model):
    name: str
    serves: list[str]


class HealthCheck(Model):
    path: str
    interval_s: float = Field(gt=0)
    failure_threshold: int = Field(ge=1, le=10)
    alert_channel: str
    used_for: Literal["alerting", "routing"] = "alerting"


class Record(Model):
    name: str
    type: Literal["A", "AAAA", "CNAME"]
    target: Literal["cloudfront", "alb"]
    routing: Literal["simple", "failover"] = "simple"


class Route53(Model):
    zone: str
    ttl_s: float = Field(gt=0)
    health_check: HealthCheck
    records: list[Record]


class Kms(Model):
    aliases: list[str] = []
    managed: list[str] = []


class Iam(Model):
    roles: list[str] = []


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


class Communication(Model):
    webhook_url: str | None = None  # a secret (its path is the token): never logged or reported
    channels: dict[str, str]
    progress_interval_s: float = Field(gt=0)
    plan: list[CommStage]
    notices: dict[Literal["failover", "failback"], Notice]


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
    key: Literal[
        "dynamodb_streams",
        "route53_health_check",
        "route53_failover",
        "cloudfront_origin_failover",
        "ecr_replication",
    ]
    severity: Literal["low", "medium", "high"]
    problem: str


class Measure(Model):
    canary_rate_per_s: float = Field(gt=0, le=1000)
    success_window_s: float = Field(gt=0)
    success_ratio: float = Field(gt=0, le=1)
    probe_interval_s: float = Field(gt=0)
    action_deadline_s: float = Field(gt=0)


class Stop(Model):
    time_budget_s: float = Field(gt=0)
    max_failed_requests: int = Field(ge=0)
    alarms: list[str] = []
    check_interval_s: float = Field(1.0, gt=0)


class Load(Model):
    users: int = Field(ge=1)
    spawn_rate: float = Field(gt=0)
    user_rps: float = Field(gt=0)
    workers: int = Field(0, ge=0, le=64)
    external_workers: int = Field(0, ge=0, le=1024)
    master_bind_host: str = "127.0.0.1"
    master_port: int = Field(5557, ge=0, le=65535)


class SandboxPorts(Model):
    aws: int = Field(0, ge=0, le=65535)
    edge: int = Field(0, ge=0, le=65535)
    control: int = Field(0, ge=0, le=65535)
    slack: int = Field(0, ge=0, le=65535)
    mysql_primary: int = Field(0, ge=0, le=65535)
    mysql_replica: int = Field(0, ge=0, le=65535)
    alb_primary: int = Field(0, ge=0, le=65535)
    alb_dr: int = Field(0, ge=0, le=65535)
    k8s_primary: int = Field(0, ge=0, le=65535)
    k8s_dr: int = Field(0, ge=0, le=65535)


class SandboxRds(Model):
    replication_delay_s: float = Field(0, ge=0, le=3600)
    admin_user: str = "admin"
    app_user: str = "app"


class SandboxDelay(Model):
    replication_delay_s: float = Field(0, ge=0, le=3600)


class SandboxTiming(Model):
    pod_start_s: float = Field(ge=0)
    node_start_s: float = Field(ge=0)
    reconcile_interval_s: float = Field(gt=0)
    replication_poll_s: float = Field(gt=0)


class DataApi(Model):
    rds_table: str
    dynamodb_table: str
    s3_bucket: str


class Sandbox(Model):
    posture: Literal["policy", "as-is"] = "policy"
    host: str = "127.0.0.1"
    mariadb_bin_dir: str | None = None
    account_id: str
    ports: SandboxPorts
    rds: SandboxRds
    dynamodb: SandboxDelay
    s3: SandboxDelay
    data_api: DataApi
    timing: SandboxTiming


class LocalStackConf(Model):
    # null: localstack-client's environment (AWS_ENDPOINT_URL, LOCALSTACK_HOST; default localhost:4566)
    endpoint: str | None = None
    # sent to LocalStack when its health endpoint offers them; every other service the drill uses
    # stays with the sandbox's emulator (and the report names each routing)
    services: list[str] = ["s3", "route53", "dynamodb", "secretsmanager", "sns", "cloudwatch", "kms", "acm"]
    health_timeout_s: float = Field(default=3.0, gt=0, le=60)


class AwsTargetConf(Model):
    # the accounts a drill may touch (null: policy.accounts); STS GetCallerIdentity is checked
    # before any other call
    allowed_accounts: list[str] | None = None
    profile: str | None = None  # a named profile of the boto3 credential chain; null: the default chain
    # scenarios with this tag change what serves users: they need --confirm <account-id>
    destructive_tag: str = "destructive"
    db_secret: str | None = None  # Secrets Manager secret (JSON username/password) of the app's DB login

    @field_validator("allowed_accounts")
    @classmethod
    def _account_ids(cls, v: list[str] | None) -> list[str] | None:
        for acct in v or []:
            if not (len(acct) == 12 and acct.isdigit()):
                raise ValueError(f"{acct!r} is not a 12-digit AWS account id")
        return v


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
    measure: Measure
    stop: Stop
    load: Load
    sandbox: Sandbox
    localstack: LocalStackConf = LocalStackConf()
    aws: AwsTargetConf = AwsTargetConf()

    def allowed_accounts(self) -> list[str]:
        return list(self.aws.allowed_accounts or self.policy.accounts)

    @model_validator(mode="after")
    def _cross_refs(self) -> Config:
        deployments = {w.name for w in self.workloads}
        for ing in self.ingresses:
            if ing.service not in deployments:
                raise ValueError(f"ingress {ing.name}: unknown service {ing.service!r}")
        hosts = {w.host for w in self.workloads if w.kind == "host"} | {"api"}
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
        return self

    # Convenience views used across the engine and the sandbox.
    def region_name(self, role: str) -> str:
        return self.regions.primary.name if role == "primary" else self.regions.dr.name

    def cluster(self, role: str) -> Cluster:
        return self.eks.primary if role == "primary" else self.eks.dr

    def fqdn(self, host: str) -> str:
        return f"{host}.{self.route53.zone}"

    def alb_for_host(self, host: str) -> Alb:
        for alb in self.albs:
            if host in alb.serves:
                return alb
        raise KeyError(host)

    def routed_hosts(self) -> list[str]:
        """Hostnames (short) that have failover records pointing at an ALB."""
        zone = "." + self.route53.zone
        return [r.name[: -len(zone)] for r in self.route53.records if r.target == "alb"]


# ---------------------------------------------------------------- loading


class LoadedConfig:
    """A validated config plus where it came from and which overrides applied."""

    def __init__(self, config: Config, path: Path, profile: str | None, overrides: dict[str, Any],
                 set_args: list[str] | None = None):
        self.config = config
        self.path = path
        self.profile = profile
        self.overrides = overrides
        self.set_args = list(set_args or [])

    def policy_values(self) -> Config:
        """The same file and --set values without the profile: the policy's own clocks."""
        if not self.profile:
            return self.config
        return load_config(self.path, None, self.set_args).config

    def applied(self) -> dict[str, Any]:
        """What every output states: source file, profile and each overridden value."""
        return {"config": str(self.path), "profile": self.profile, "overrides": self.overrides}


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys at the parent of ``loc``, for a did-you-mean hint."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", None)
        if args:
            ann = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), ann)
        current = ann
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _explain(err: ValidationError, raw: dict[str, Any], path: Path) -> str:
    first = err.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    where = _fmt_loc(loc)
    if first["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(str(loc[-1]), _field_names(Config, loc), n=1)
        msg = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    elif first["type"] == "missing":
        msg = "required key is missing"
    else:
        got = _lookup(raw, loc)
        msg = first["msg"] + (f" (got {got!r})" if got is not None and not isinstance(got, (dict, list)) else "")
    more = len(err.errors()) - 1
    suffix = f" [+{more} more problem{'s' if more > 1 else ''}]" if more else ""
    return f"{path}: {where}: {msg}{suffix}"


def parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise InvalidInput(f"--set {text!r}: expected key.path=value")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise InvalidInput(f"--set {text!r}: empty key")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key, parsed


def _apply(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            try:
                node = node[int(part)]
                continue
            except (ValueError, IndexError):
                raise InvalidInput(f"{source}: {key}: no list item {part!r}") from None
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[: i + 1])
            known = list(node) if isinstance(node, dict) else []
            hint = difflib.get_close_matches(part, known, n=1)
            raise InvalidInput(
                f"{source}: {where}: unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        try:
            node[int(last)] = value
            return
        except (ValueError, IndexError):
            raise InvalidInput(f"{source}: {key}: no list item {last!r}") from None
    if not isinstance(node, dict):
        raise InvalidInput(f"{source}: {key}: parent is not a mapping")
    node[last] = value  # unknown leaf keys are caught by validation with a hint


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: config file not found") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"{path}: {where}YAML syntax error: {problem}") from None


def load_config(
    path: str | Path | None = None,
    profile: str | None = None,
    overrides: list[str] | None = None,
) -> LoadedConfig:
    """Load, apply the profile then each ``--set``, and validate. Raises InvalidInput."""
    cfg_path = Path(path) if path else DEFAULT_CONFIG
    raw = _read_yaml(cfg_path)
    if not isinstance(raw, dict):
        raise InvalidInput(f"{cfg_path}: (top level): expected a mapping of sections")
    applied: dict[str, Any] = {}
    if profile:
        prof_path = PROFILES_DIR / f"{profile}.yaml"
        prof = _read_yaml(prof_path) if prof_path.exists() else {}
        if not isinstance(prof, dict):
            raise InvalidInput(f"{prof_path}: expected a mapping of key.path: value")
        for key, value in prof.items():
            _apply(raw, str(key), value, str(prof_path))
            applied[str(key)] = value
    for text in overrides or []:
        key, value = parse_override(text)
        _apply(raw, key, value, "--set")
        applied[key] = value
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(_explain(exc, raw, cfg_path)) from None
    return LoadedConfig(config, cfg_path, profile, applied, overrides)
