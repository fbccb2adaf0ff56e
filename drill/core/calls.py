"""What a drill will call, as data: ``Call`` (an AWS operation with its region and resource ARNs, or
a Kubernetes, database, DNS, HTTP or Slack call) and ``Ctx`` (the ARNs of the policy's resources
in an account). Steps and faults declare their calls with these; the plan and the IAM policy are
built from the declarations, and a test holds them against what a drill really called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drill.core.aws import CANARY_PREFIX, PROBE_PREFIX
from drill.core.schema import Config

GLOBAL = "us-east-1"

# IAM action names where they differ from the API operation ("" : no permission needed)
IAM_NAMES = {("s3", "ListObjectsV2"): "s3:ListBucket", ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
             ("s3", "DeleteObjects"): "s3:DeleteObject",
             ("s3", "GetBucketReplication"): "s3:GetReplicationConfiguration",
             ("s3", "PutBucketReplication"): "s3:PutReplicationConfiguration",
             ("s3", "DeleteBucketReplication"): "s3:PutReplicationConfiguration",
             ("s3", "HeadObject"): "s3:GetObject", ("s3", "CopyObject"): "s3:PutObject",
             ("s3", "GetBucketPolicy"): "s3:GetBucketPolicy", ("s3", "HeadBucket"): "s3:ListBucket",
             ("elbv2", "DescribeLoadBalancers"): "elasticloadbalancing:DescribeLoadBalancers",
             ("cognito-idp", "InitiateAuth"): "", ("cognito-idp", "SignUp"): "",
             ("sts", "GetCallerIdentity"): ""}
# permissions a call needs besides its own: removing a version is s3:DeleteObjectVersion
IAM_EXTRA = {("s3", "DeleteObjects"): ("s3:DeleteObjectVersion",)}
SERVICE_PREFIX = {"cognito-idp": "cognito-idp", "elbv2": "elasticloadbalancing", "cloudwatch": "cloudwatch"}


@dataclass(frozen=True)
class Call:
    kind: str  # aws | kubernetes | mysql | dns | http | slack | twin
    service: str  # AWS service (client name), or the cluster / database / channel
    operation: str  # API operation, or what is done
    region: str
    resources: tuple[str, ...]
    mutating: bool
    note: str = ""

    def iam_action(self) -> str:
        name = IAM_NAMES.get((self.service, self.operation))
        if name is not None:
            return name
        return f"{SERVICE_PREFIX.get(self.service, self.service)}:{self.operation}"

    def iam_actions(self) -> tuple[str, ...]:
        """Every permission the call needs (a DeleteObjects of versions needs two)."""
        return (self.iam_action(), *IAM_EXTRA.get((self.service, self.operation), ()))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "service": self.service, "operation": self.operation, "region": self.region,
                "resources": list(self.resources), "mutating": self.mutating, "note": self.note}


def aws(service: str, op: str, region: str, resources: tuple[str, ...] | list[str] | str,
        mutating: bool = False, note: str = "") -> Call:
    res = (resources,) if isinstance(resources, str) else tuple(resources)
    return Call("aws", service, op, region, res, mutating, note)


def other(kind: str, what: str, operation: str, resources: tuple[str, ...] | list[str], mutating: bool = False,
          note: str = "", region: str = "-") -> Call:
    return Call(kind, what, operation, region, tuple(resources), mutating, note)


@dataclass
class Ctx:
    """The ARNs of the policy's resources in one account (ids only the account knows: resolved
    read-only when a target is given, else wildcards)."""

    cfg: Config
    account: str
    zone_id: str = ""
    pool_ids: dict[str, str] = field(default_factory=dict)

    def region(self, role: str) -> str:
        return self.cfg.side(role).region

    def db(self, role: str) -> str:
        return f"arn:aws:rds:{self.region(role)}:{self.account}:db:{self.cfg.side(role).db.id}"

    def snapshot(self, role: str) -> str:
        return f"arn:aws:rds:{self.region(role)}:{self.account}:snapshot:drill-final-{self.cfg.side(role).db.id}-*"

    def rds_extras(self, role: str) -> tuple[str, ...]:
        """What CreateDBInstanceReadReplica names besides the instances: subnet group, parameter group."""
        r = self.region(role)
        return (f"arn:aws:rds:{r}:{self.account}:subgrp:{self.cfg.side(role).db.subnet_group}",
                f"arn:aws:rds:{r}:{self.account}:pg:*")

    def zone(self) -> str:
        return f"arn:aws:route53:::hostedzone/{self.zone_id or '*'}"

    def tables(self, role: str) -> tuple[str, ...]:
        return tuple(f"arn:aws:dynamodb:{self.region(role)}:{self.account}:table/{t.name}"
                     for t in self.cfg.dynamodb.tables)

    def buckets(self, role: str, objects: bool = False) -> tuple[str, ...]:
        return tuple(f"arn:aws:s3:::{n}" + ("/*" if objects else "") for n in self.cfg.side(role).buckets)

    def drill_objects(self, role: str, prefix: str) -> tuple[str, ...]:
        """The drill's own objects in a region's buckets (``prefix``: CANARY_PREFIX or PROBE_PREFIX)."""
        if prefix not in (CANARY_PREFIX, PROBE_PREFIX):
            raise ValueError(f"the drill's objects live under {CANARY_PREFIX} or {PROBE_PREFIX}, not {prefix!r}")
        return tuple(f"arn:aws:s3:::{n}/{prefix}*" for n in self.cfg.side(role).buckets)

    def nodegroup(self, role: str) -> str:
        cl = self.cfg.side(role).cluster
        return f"arn:aws:eks:{self.region(role)}:{self.account}:nodegroup/{cl.cluster}/{cl.node_group}/*"

    def pool(self, role: str) -> str:
        pool = self.cfg.side(role).pool
        return f"arn:aws:cognito-idp:{self.region(role)}:{self.account}:userpool/{pool.pool_id or self.pool_ids.get(role) or '*'}"

    def alarm(self, region: str, name: str) -> str:
        return f"arn:aws:cloudwatch:{region}:{self.account}:alarm:{name}"

    def secret(self, role: str, name: str) -> str:
        return f"arn:aws:secretsmanager:{self.region(role)}:{self.account}:secret:{name}-*"

    def role(self, name: str) -> str:
        return f"arn:aws:iam::{self.account}:role/{name}"

    def experiment(self, role: str) -> tuple[str, ...]:
        r = self.region(role)
        return (f"arn:aws:fis:{r}:{self.account}:experiment-template/*", f"arn:aws:fis:{r}:{self.account}:experiment/*")

    def ec2(self, role: str, kind: str) -> str:
        return f"arn:aws:ec2:{self.region(role)}:{self.account}:{kind}/*"
