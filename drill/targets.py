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

    @cache  # noqa: B019 - clients live as long as the target
    def client(self, service: str, region: str, journaled: bool = True) -> Any:
        import boto3
        from botocore.config import Config as BotoConfig

        client = boto3.client(service, region_name=region, endpoint_url=self.endpoint_url(),
                              config=BotoConfig(retries={"max_attempts": 2, "mode": "standard"},
                                                connect_timeout=3, read_timeout=15),
                              **self._session_kwargs())
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

    def __init__(self, loaded: LoadedConfig, journal: Journal | None = None, start: bool = True):
        super().__init__(loaded, journal)
        from sandbox import lifecycle

        self.started_here = False
        state = lifecycle.running_state()
        if state is None:
            if not start:
                raise InvalidInput("no sandbox is running (start one with: drill sandbox up)")
            state, self.started_here = lifecycle.up(loaded)
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


def make_target(name: str, loaded: LoadedConfig, journal: Journal | None = None,
                start_sandbox: bool = True) -> Target:
    if name == "sandbox":
        return SandboxTarget(loaded, journal, start=start_sandbox)
    raise InvalidInput(f"--target {name}: not available yet in this version (sandbox only; "
                       "LocalStack and AWS targets are tracked work)")


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
