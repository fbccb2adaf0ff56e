"""The infrastructure of a warm standby as a policy describes it: regions, network, clusters and
workloads, databases and stores, identity, edge and DNS. Part of ``Config`` (schema.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from drill.core.settings import Model


class Region(Model):
    name: str
    label: str
    azs: list[str] = []


class Regions(Model):
    primary: Region
    dr: Region


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
    data: str | None = None  # the store its data API writes: "rds:<table>", "dynamodb:<table>", "s3:<bucket>"
    image: str | None = None  # "ecr:<repository>" (pulled from the region's ECR), else a public image

    @model_validator(mode="after")
    def _routing(self) -> Workload:
        if self.kind == "app" and not self.path:
            raise ValueError(f"workload {self.name}: kind app needs a path")
        if self.kind == "host" and not self.host:
            raise ValueError(f"workload {self.name}: kind host needs a host")
        if self.data and self.data.split(":", 1)[0] not in ("rds", "dynamodb", "s3"):
            raise ValueError(f"workload {self.name}: data must be rds:<table>, dynamodb:<table> or s3:<bucket>")
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
    login_secret: str  # Secrets Manager (primary region): JSON username/password of the app's login
    admin_secret: str  # the master login, for mysql.rds_stop_replication / rds_start_replication


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
    replication_role: str  # IAM role of CRR primary -> DR
    failback_role: str  # IAM role of the reverse CRR DR -> primary during a failback


class CognitoPool(Model):
    pool_id: str | None = None
    pool_name: str
    client_id: str | None = None
    client_name: str


class Cognito(Model):
    primary: CognitoPool
    dr: CognitoPool
    test_user_prefix: str = "drill-canary"  # <prefix>-<drill id>@<domain>, signed up and removed per drill
    sync_function: str  # the Post Confirmation Lambda that copies users to the DR pool
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


class HealthAlarm(Model):
    name: str  # CloudWatch alarm on the health check's HealthCheckStatus (Route 53 metrics: us-east-1)
    topic: str  # the SNS topic it notifies
    period_s: int = Field(60, gt=0)


class HealthCheck(Model):
    path: str
    interval_s: float = Field(gt=0)
    failure_threshold: int = Field(ge=1, le=10)
    alert_channel: str
    used_for: Literal["alerting", "routing"] = "alerting"
    alarm: HealthAlarm
    # how long Route 53 takes to apply a changed health check (a drill's fault changes one): added to
    # interval x (threshold + 1) in the detection check of checklist item 1
    propagation_s: float = Field(5.0, ge=0, le=600)


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
