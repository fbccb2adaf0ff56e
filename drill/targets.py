"""Targets: where a drill acts. Clients are made here, never at import time.

Every AWS call that changes something is journaled (service, operation, region, resource
names) before it is sent; reads are not, to keep the journal about what a real account saw
change. The sandbox target also has fault switches (the control API) for what only a real
outage could do to real infrastructure.
"""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from drill.config import Config, LoadedConfig
from drill.errors import InvalidInput
from drill.journal import Journal
from drill.redact import Redactor

READ_PREFIXES = ("Describe", "List", "Get", "Query", "Scan", "BatchGet", "Head", "Lookup", "Search")
RESOURCE_KEYS = ("DBInstanceIdentifier", "HostedZoneId", "HealthCheckId", "TableName", "Bucket", "Key",
                 "clusterName", "nodegroupName", "AlarmName", "SecretId", "repositoryName", "UserPoolId")


class Target:
    name = "base"

    def __init__(self, loaded: LoadedConfig, journal: Journal | None = None):
        self.loaded = loaded
        self.cfg: Config = loaded.config
        self.journal = journal
        self.redactor = journal.redactor if journal else Redactor()
        self.emulated: dict[str, str] = {}

    # AWS -------------------------------------------------------------------

    def endpoint_url(self) -> str | None:
        return None

    def _session_kwargs(self) -> dict[str, Any]:
        return {}

    @cache  # noqa: B019 - one session per target
    def session(self) -> Any:
        """The boto3 session every client of this target comes from (credentials, profile)."""
        import boto3

        return boto3.session.Session(**self._session_kwargs())

    @cache  # noqa: B019 - clients live as long as the target
    def client(self, service: str, region: str, journaled: bool = True) -> Any:
        from botocore.config import Config as BotoConfig

        client = self.session().client(service, region_name=region, endpoint_url=self.endpoint_url(),
                                       config=BotoConfig(retries={"max_attempts": 2, "mode": "standard"},
                                                         connect_timeout=3, read_timeout=15))
        if journaled and self.journal is not None:
            client.meta.events.register("before-call", self._journal_call)
        return client

    def _journal_call(self, model: Any, params: dict[str, Any], context: Any = None, **_: Any) -> None:
        op = model.name
        if op.startswith(READ_PREFIXES) or self.journal is None:
            return
        body = params.get("body")
        args: dict[str, Any] = {}
        if isinstance(body, dict):
            args = {k: body[k] for k in RESOURCE_KEYS if k in body}
        url_path = params.get("url_path", "")
        self.journal.write("aws_call", service=model.service_model.service_name, operation=op,
                           region=(context or {}).get("client_region"), resources=args or None,
                           path=url_path if url_path not in ("", "/") else None, target=self.name)

    # Kubernetes --------------------------------------------------------------

    def kubeconfig(self) -> str | None:
        return None

    @cache  # noqa: B019
    def kube(self, role: str) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=self.kubeconfig(), context=self.cfg.cluster(role).cluster)

    # Data plane ------------------------------------------------------------

    def db_login(self) -> tuple[str, str]:
        raise NotImplementedError

    def db_endpoint(self, role: str) -> tuple[str, int]:
        """The RDS endpoint of the primary or replica instance, as the RDS API reports it."""
        inst_id = self.cfg.rds.primary.id if role == "primary" else self.cfg.rds.replica.id
        desc = self.client("rds", self.cfg.region_name(role), journaled=False).describe_db_instances(
            DBInstanceIdentifier=inst_id)["DBInstances"][0]
        return desc["Endpoint"]["Address"], int(desc["Endpoint"]["Port"])

    def edge(self) -> tuple[str, bool]:
        """(base URL for user traffic, whether a Host header selects the site)."""
        raise NotImplementedError

    def slack_webhook(self) -> str | None:
        return None

    def close(self) -> None:
        pass


class SandboxTarget(Target):
    name = "sandbox"

    def __init__(self, loaded: LoadedConfig, journal: Journal | None = None, start: bool = True,
                 posture: str | None = None):
        super().__init__(loaded, journal)
        from sandbox import lifecycle

        self.started_here = False
        localstack = self.localstack_routing()
        state = lifecycle.running_state()
        if state is not None:
            running_ls = (state.get("aws_routing") or {}).get("localstack")
            if bool(running_ls) != bool(localstack):
                raise InvalidInput(
                    f"a sandbox {'with' if running_ls else 'without'} LocalStack is running; --target "
                    f"{self.name} needs one {'with' if localstack else 'without'} (stop it: drill sandbox down)")
        else:
            if not start:
                raise InvalidInput("no sandbox is running (start one with: drill sandbox up)")
            state, self.started_here = lifecycle.up(loaded, posture, localstack=localstack)
        self.state = state
        secrets = json.loads((Path(state["runtime_dir"]) / "secrets.json").read_text())
        self.secrets = secrets
        for value in (secrets.get("admin_password"), secrets.get("app_password"),
                      *(secrets.get("secret_values") or {}).values()):
            self.redactor.add(value)
        self.emulated = {"aws": "moto (in the sandbox supervisor) with the sandbox's Route 53, RDS and "
                                "DynamoDB behaviour", "rds": "MariaDB pair with real binlog replication",
                         "kubernetes": "sandbox API server per cluster", "edge": "sandbox DNS-like edge",
                         "slack": "sandbox webhook sink"}

    def localstack_routing(self) -> dict[str, Any] | None:
        return None

    def endpoint_url(self) -> str | None:
        return str(self.state["aws_endpoint"])

    def _session_kwargs(self) -> dict[str, Any]:
        return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

    def kubeconfig(self) -> str | None:
        return str(self.state["kubeconfig"])

    def db_login(self) -> tuple[str, str]:
        return self.cfg.sandbox.rds.app_user, str(self.secrets["app_password"])

    def edge(self) -> tuple[str, bool]:
        return str(self.state["edge_url"]), True

    def slack_webhook(self) -> str | None:
        return str(self.state["slack_sink"])

    def control(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> Any:
        from sandbox.state import control

        if self.journal is not None and method != "GET":
            self.journal.write("sandbox_call", method=method, path=path, body=body)
        return control(self.state, method, path, body, timeout=timeout)

    def reset(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", "/reset", {}, timeout=120)
        return result

    def close(self) -> None:
        if self.started_here:
            from sandbox import lifecycle

            lifecycle.down()
            self.started_here = False


# Every AWS service a drill, the provisioner or the audit uses, for naming where each answers.
SERVICES_USED = ("acm", "cloudfront", "cloudwatch", "cognito-idp", "dynamodb", "ec2", "ecr", "eks", "elbv2",
                 "iam", "kms", "lambda", "rds", "route53", "s3", "secretsmanager", "sns", "sts")


def detect_localstack(cfg: Config) -> dict[str, Any]:
    """Find the LocalStack endpoint (config, else localstack-client's environment), ask it what it
    offers, and decide where each service goes. Raises InvalidInput when it does not answer."""
    from localstack_client.config import get_service_endpoint

    from sandbox.aws import SIGNING_NAMES
    from sandbox.localstack import SERVING, localstack_health

    url = (cfg.localstack.endpoint or get_service_endpoint("s3") or "http://localhost:4566").rstrip("/")
    try:
        health = localstack_health(url, cfg.localstack.health_timeout_s)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"--target localstack: no LocalStack answering at {url} ({exc}); start one "
                           "(ci/localstack.sh start) or point LOCALSTACK_HOST / AWS_ENDPOINT_URL at it") from None
    offered = health.get("services") or {}
    to_ls = [s for s in cfg.localstack.services if offered.get(s) in SERVING]
    to_emulator = {}
    for svc in SERVICES_USED:
        if svc in to_ls:
            continue
        if svc in cfg.localstack.services:
            why = f"LocalStack reports it {offered.get(svc, 'absent')}"
        elif svc in offered:
            why = "kept with the emulator's RDS/EKS control plane (not in localstack.services)"
        else:
            why = "not in open-source LocalStack"
        to_emulator[svc] = why
    return {"url": url, "version": health.get("version"), "services": to_ls,
            "signing": sorted({SIGNING_NAMES.get(s, s) for s in to_ls}),
            "to_emulator": [f"{k} ({v})" for k, v in sorted(to_emulator.items())]}


class LocalStackTarget(SandboxTarget):
    """The sandbox twin with a real LocalStack answering the AWS services it offers."""

    name = "localstack"

    def localstack_routing(self) -> dict[str, Any] | None:
        from sandbox import lifecycle

        state = lifecycle.running_state()
        routing = (state or {}).get("aws_routing") or {}
        if routing.get("localstack"):
            return dict(routing)  # the running twin's: attach to it as it is (rollback needs no new look)
        return detect_localstack(self.cfg)

    def __init__(self, loaded: LoadedConfig, journal: Journal | None = None, start: bool = True,
                 posture: str | None = None):
        super().__init__(loaded, journal, start, posture)
        routing = self.state.get("aws_routing") or {}
        self.emulated = {
            "aws (LocalStack)": f"LocalStack {routing.get('localstack_version')} at {routing.get('localstack')}: "
                                + ", ".join(routing.get("to_localstack", []))
                                + " (through the sandbox's AWS front, which cuts a region off in an outage)",
            "dynamodb replication": "LocalStack's own global tables (one table behind every replica: "
                                    "a replica never lags, so DynamoDB RPO is 0 on this target)"
            if "dynamodb" in routing.get("to_localstack", []) else "sandbox stream worker",
            "aws (sandbox emulator)": "moto in the sandbox supervisor: " + "; ".join(routing.get("to_emulator", [])),
            **{f"supplied by the sandbox ({n + 1})": v for n, v in enumerate(routing.get("supplied_by_sandbox", []))},
            # the data plane is the twin's, as on the sandbox target
            **{k: v for k, v in self.emulated.items() if k != "aws"}}


def make_target(name: str, loaded: LoadedConfig, journal: Journal | None = None,
                start_sandbox: bool = True, posture: str | None = None, confirm: str | None = None,
                destructive: bool = False) -> Target:
    if name == "sandbox":
        return SandboxTarget(loaded, journal, start=start_sandbox, posture=posture)
    if name == "localstack":
        return LocalStackTarget(loaded, journal, start=start_sandbox, posture=posture)
    if name == "aws":
        from drill.aws import AwsTarget

        return AwsTarget(loaded, journal, confirm=confirm, destructive=destructive)
    raise InvalidInput(f"--target {name}: unknown (sandbox, localstack, aws)")


def wait_until(predicate: Any, deadline_s: float, what: str, interval_s: float = 0.1) -> float:
    """Poll ``predicate`` until true; raise DeadlineExceeded after ``deadline_s``. Returns the wait."""
    from drill.errors import DeadlineExceeded

    start = time.monotonic()
    last_exc: Exception | None = None
    while True:
        try:
            if predicate():
                return time.monotonic() - start
        except Exception as exc:  # a probe may fail while the system is changing
            last_exc = exc
        if time.monotonic() - start >= deadline_s:
            extra = f" (last error: {type(last_exc).__name__}: {last_exc})" if last_exc else ""
            raise DeadlineExceeded(f"{what}: not reached within {deadline_s:.0f} s{extra}")
        time.sleep(interval_s)
