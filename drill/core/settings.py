"""How the harness observes and where it acts: measurement, stop conditions, traffic, endpoints,
the targets' own settings, the drill lock and report history. Part of ``Config`` (schema.py)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


CanaryRate = Annotated[float, Field(gt=0, le=1000)]
RESOLUTION = 10  # a store's canaries write at least this many times in its RPO budget (schema.py checks it)


class Measure(Model):
    canary_rate_per_s: CanaryRate  # each store's canary writes a second ...
    # ... unless set here for a store: a budget of minutes needs far fewer writes than one of a
    # second, and every write is held in both regions' copies until the drill removes it
    canary_rates_per_s: dict[Literal["rds", "dynamodb", "s3"], CanaryRate] = {}
    success_window_s: float = Field(gt=0)
    success_ratio: float = Field(gt=0, le=1)
    probe_interval_s: float = Field(gt=0)
    action_deadline_s: float = Field(gt=0)
    metric_period_s: int = Field(60, ge=1)  # the period CloudWatch metrics are read at (RDS: 60 s on AWS)

    def canary_rate(self, store: str) -> float:
        return self.canary_rates_per_s.get(store, self.canary_rate_per_s)  # type: ignore[call-overload]


class Stop(Model):
    time_budget_s: float = Field(gt=0)
    max_failed_requests: int = Field(ge=0)
    alarms: list[str] = []
    check_interval_s: float = Field(1.0, gt=0)


class LoadRequest(Model):
    """One request of the traffic profile: ``host`` is a short name served by an ALB (api, grafana)."""

    name: str
    method: Literal["GET", "POST", "PUT", "DELETE"] = "GET"
    host: str
    path: str
    weight: int = Field(1, ge=1)
    json_body: dict[str, Any] | None = None  # "{rand}" in a string value becomes a random number


class LoadKubernetes(Model):
    """Load workers as a Deployment of ``load.workers`` pods in a cluster of the policy, removed at
    the end of the drill and by ``drill rollback``."""

    cluster: str  # the DR cluster (the primary's goes down with the outage the drill makes)
    namespace: str = "drill-load"  # created if missing (and then removed with the workers)
    image: str  # an image with locust and the locustfile (load/locustfile.py) at ``locustfile``
    locustfile: str = "/home/locust/locustfile.py"
    cpu: str = "500m"
    memory: str = "512Mi"
    master_host: str | None = None  # where the pods reach the master; null: master_bind_host


class Load(Model):
    users: int = Field(ge=1)
    spawn_rate: float = Field(gt=0)
    user_rps: float = Field(gt=0)
    workers: int = Field(0, ge=0, le=64)
    external_workers: int = Field(0, ge=0, le=1024)
    master_bind_host: str = "127.0.0.1"
    master_port: int = Field(5557, ge=0, le=65535)
    # local: ``workers`` processes on this machine; kubernetes: ``workers`` pods of a Deployment in
    # ``kubernetes.cluster``; either way ``external_workers`` more may attach from elsewhere
    mode: Literal["local", "kubernetes"] = "local"
    kubernetes: LoadKubernetes | None = None
    locustfile: str | None = None  # null: the generic one (load/locustfile.py) running `requests`
    requests: list[LoadRequest] = []

    @model_validator(mode="after")
    def _mode(self) -> Load:
        if self.mode == "kubernetes" and (self.kubernetes is None or self.workers < 1):
            raise ValueError("load.mode kubernetes needs load.kubernetes (cluster, image) and load.workers >= 1")
        return self


class Endpoints(Model):
    """How users reach the application: scheme and port of its hostnames, and the DNS resolver."""

    scheme: Literal["http", "https"] = "https"
    port: int | None = Field(None, ge=1, le=65535)  # null: the scheme's default
    resolver: str | None = None  # "host:port" of a DNS server; null: DRILL_RESOLVER, else the system's
    region_by: Literal["address", "field"] = "address"  # which region served: its ALB addresses, or a field
    region_field: str = "region"  # with region_by: field, the JSON field of the health response
    timeout_s: float = Field(3.0, gt=0, le=60)

    def port_or_default(self) -> int:
        return self.port or (443 if self.scheme == "https" else 80)


class SandboxPorts(Model):
    aws: int = Field(0, ge=0, le=65535)
    control: int = Field(0, ge=0, le=65535)
    slack: int = Field(0, ge=0, le=65535)
    dns: int = Field(0, ge=0, le=65535)
    mysql_primary: int = Field(0, ge=0, le=65535)
    mysql_replica: int = Field(0, ge=0, le=65535)
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
    metrics_interval_s: float = Field(1.0, gt=0)  # ReplicaLag, HealthCheckStatus published this often
    alarm_eval_s: float = Field(0.5, gt=0)  # CloudWatch alarms evaluated this often
    alb_idle_timeout_s: float = Field(60, gt=0)  # a load balancer closes a connection idle this long (ALB's default)
    app_db_idle_s: float = Field(30, gt=0)  # the services' pools close a database connection idle this long


class SandboxCapacity(Model):
    """What a region's load balancers can carry. Each node running a Ready pod of a served workload
    carries ``node_rps`` requests a second for the region (its CPU, shared by the pods on it), and
    each Ready pod of a service serves ``pod_rps``; above either, a request queues up to
    ``queue_s``, then fails with 503 as an overloaded service does. 0: unlimited."""

    node_rps: float = Field(0, ge=0)
    pod_rps: float = Field(0, ge=0)
    queue_s: float = Field(0.5, ge=0)


def _loopback(value: str) -> str:
    try:
        ok = ipaddress.ip_address(value).is_loopback
    except ValueError:
        ok = value == "localhost"
    if not ok:
        raise ValueError(f"{value!r}: the twin binds loopback addresses only (127.0.0.0/8)")
    return value


class Sandbox(Model):
    posture: Literal["policy", "as-is"] = "policy"
    host: str = "127.0.0.1"  # the twin's own endpoints (AWS, control, Kubernetes, Slack)
    address_block: str = "127.77"  # each region's load balancers and databases get addresses in it
    mariadb_bin_dir: str | None = None
    account_id: str
    ports: SandboxPorts
    rds: SandboxRds
    dynamodb: SandboxDelay
    s3: SandboxDelay
    timing: SandboxTiming
    capacity: SandboxCapacity = SandboxCapacity()

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        return _loopback(v)

    @field_validator("address_block")
    @classmethod
    def _block(cls, v: str) -> str:
        parts = v.split(".")
        if len(parts) != 2 or parts[0] != "127" or not parts[1].isdigit() or not 1 <= int(parts[1]) <= 254:
            raise ValueError(f"{v!r}: expected 127.N (a /16 of the loopback network)")
        return v


class LocalStackConf(Model):
    endpoint: str | None = None  # null: localstack-client's environment, else localhost:4566
    # not secretsmanager, cloudwatch, sns (refused): targets/localstack.py KNOWN_BROKEN says why
    services: list[str] = ["s3", "route53", "dynamodb", "kms", "acm"]
    health_timeout_s: float = Field(default=3.0, gt=0, le=60)


class AwsTargetConf(Model):
    allowed_accounts: list[str] | None = None  # null: policy.accounts; checked with STS before any other call
    profile: str | None = None  # a named profile of the boto3 credential chain
    destructive_tag: str = "destructive"  # scenarios with it need --confirm <account-id>
    fis_role: str = "drill-fis"  # the IAM role AWS FIS assumes to run the drill's experiments

    @field_validator("allowed_accounts")
    @classmethod
    def _account_ids(cls, v: list[str] | None) -> list[str] | None:
        for acct in v or []:
            if not (len(acct) == 12 and acct.isdigit()):
                raise ValueError(f"{acct!r} is not a 12-digit AWS account id")
        return v


class Lock(Model):
    """One drill per target: a lease object written with a conditional put (S3 If-None-Match / If-Match)."""

    bucket: str | None = None  # null: the first primary bucket of s3.buckets
    key: str = "drill/lock.json"
    lease_s: float = Field(60, gt=0, le=3600)


class History(Model):
    """Where finished drills' reports are published, so the index outlives the machine that ran them."""

    bucket: str | None = None  # null: not published
    prefix: str = "drill-reports/"
    region: str | None = None  # null: the primary region
