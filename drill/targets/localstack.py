"""The localstack target: the twin with a real LocalStack answering the AWS services it offers.

At start LocalStack's health endpoint says what it offers; each service the drill uses goes to
LocalStack (``localstack.services``) or stays with the twin's emulator, and every report names
each routing. DynamoDB global tables are LocalStack's own there (one table behind every
replica): their replication cannot be paused, so that capability is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput
from drill.core.journal import Journal
from drill.core.schema import Config
from drill.targets.sandbox import SandboxTarget
from sandbox import client as twin_client

# Every AWS service a drill, the provisioner or the audit uses, for naming where each answers.
SERVICES_USED = ("acm", "cloudfront", "cloudwatch", "cognito-idp", "dynamodb", "ec2", "ecr", "eks", "elbv2", "fis",
                 "iam", "kms", "lambda", "rds", "route53", "s3", "secretsmanager", "sns", "sts")
# the name a service signs its requests with, where it differs from the one users write
SIGNING_NAMES = {"cloudwatch": "monitoring", "dynamodbstreams": "dynamodb"}


def detect_localstack(cfg: Config) -> dict[str, Any]:
    """Find the LocalStack endpoint (config, else localstack-client's environment), ask it what it
    offers, and decide where each service goes. Raises InvalidInput when it does not answer."""
    from localstack_client.config import get_service_endpoint

    broken = [s for s in cfg.localstack.services if s in KNOWN_BROKEN]
    if broken:
        raise InvalidInput(f"localstack.services lists {broken[0]}, which stays with the twin: "
                           f"{KNOWN_BROKEN[broken[0]]} (remove it from localstack.services)")
    url = (cfg.localstack.endpoint or get_service_endpoint("s3") or "http://localhost:4566").rstrip("/")
    try:
        health = twin_client.localstack_health(url, cfg.localstack.health_timeout_s)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"--target localstack: no LocalStack answering at {url} ({exc}); start one "
                           "(ci/localstack.sh start) or point LOCALSTACK_HOST / AWS_ENDPOINT_URL at it") from None
    offered = health.get("services") or {}
    to_ls = [s for s in cfg.localstack.services if offered.get(s) in twin_client.SERVING]
    to_emulator = {}
    for svc in SERVICES_USED:
        if svc in to_ls:
            continue
        if svc in cfg.localstack.services:
            why = f"LocalStack reports it {offered.get(svc, 'absent')}"
        elif svc in KNOWN_BROKEN:
            why = KNOWN_BROKEN[svc]
        elif svc in offered:
            why = "kept with the emulator's RDS/EKS control plane (not in localstack.services)"
        else:
            why = "not in open-source LocalStack"
        to_emulator[svc] = why
    return {"url": url, "version": health.get("version"), "services": to_ls,
            "signing": sorted({SIGNING_NAMES.get(s, s) for s in to_ls}),
            "to_emulator": [f"{k} ({v})" for k, v in sorted(to_emulator.items())]}


# what LocalStack offers but cannot do for the drill (checked against the pinned version)
KNOWN_BROKEN = {
    "secretsmanager": "LocalStack 2026.3 answers GetSecretValue on a replica with InternalError "
                      "('ReplicaSecret' object has no attribute 'kms_key_id')",
    "cloudwatch": "the twin publishes AWS's own metrics (Route 53 HealthCheckStatus, RDS ReplicaLag) "
                  "and evaluates alarms on the short profile's periods; LocalStack 2026.3 refuses "
                  "periods other than 10, 30 or k x 60 s",
    "sns": "kept with the twin's CloudWatch: the alarm's notifications and SNS's delivery metrics "
           "(NumberOfNotificationsDelivered) come from one place, as in an account",
}


class LocalStackTarget(SandboxTarget):
    name = "localstack"

    @classmethod
    def planned_capabilities(cls) -> frozenset[str]:
        return SandboxTarget.capabilities - {"pause:dynamodb"}  # DynamoDB is LocalStack's own there

    @classmethod
    def twin_routing(cls, loaded: LoadedConfig) -> dict[str, Any] | None:
        return detect_localstack(loaded.config)

    def __init__(self, loaded: LoadedConfig, journal: Journal | None = None, calls: Journal | None = None,
                 read_only: bool = False, start: bool = True, posture: str | None = None,
                 on_startup_step: Callable[[dict[str, float]], None] | None = None):
        super().__init__(loaded, journal, calls, read_only, start, posture, on_startup_step)
        routing = self.twin.info.routing
        if "dynamodb" in routing.get("to_localstack", []):
            self.capabilities = self.capabilities - {"pause:dynamodb"}
        self.emulated = {
            "aws (LocalStack)": f"LocalStack {routing.get('localstack_version')} at {routing.get('localstack')}: "
                                + ", ".join(routing.get("to_localstack", [])),
            "dynamodb replication": "LocalStack's own global tables (one table behind every replica: a replica never "
                                    "lags, so DynamoDB RPO is 0 on this target and its replication cannot be paused)"
            if "dynamodb" in routing.get("to_localstack", []) else "the twin's stream worker",
            "aws (twin's emulator)": "moto in the twin: " + "; ".join(routing.get("to_emulator", [])),
            **{f"supplied by the twin ({n + 1})": v for n, v in enumerate(routing.get("supplied_by_twin", []))},
            **{k: v for k, v in self.emulated.items() if k != "aws"}}

    def localstack_routing(self) -> dict[str, Any] | None:
        twin = twin_client.attach()
        if twin is not None and twin.info.routing.get("localstack"):
            return dict(twin.info.routing)  # the running twin's: attach to it as it is
        return detect_localstack(self.cfg)
