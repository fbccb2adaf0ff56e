"""What every target is: where the drill's AWS, Kubernetes, DNS and Slack calls go, and what the
target can do (its capabilities). The engine never asks which target it has; it asks what it can do.

Capabilities:
- ``twin``: a twin is behind it, with knobs an account does not have (``Target.twin``);
- ``pause:dynamodb`` / ``pause:s3``: replication can be paused (AWS FIS's pause actions);
- ``slack_history``: the alert channel can be read back (a Slack token is configured);
- ``destructive_confirm``: destructive scenarios need ``--confirm <account>`` (a real account).

Every AWS call goes through ``client``: a call that changes something is journaled (``aws_call``)
before it is sent, every other one is written to the call log beside the journal; a read-only
target (plan, audit) refuses any call that is not a read, before it is sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from typing import Any

from drill.core.aws import make_client
from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput, ReadOnlyViolation
from drill.core.journal import Journal
from drill.core.redact import Redactor
from drill.core.schema import Config
from drill.core.settings import Endpoints

READ_PREFIXES = ("Describe", "List", "Get", "Query", "Scan", "BatchGet", "Head", "Lookup", "Search", "Test")
RESOURCE_KEYS = ("DBInstanceIdentifier", "SourceDBInstanceIdentifier", "HostedZoneId", "Id", "HealthCheckId",
                 "TableName", "Bucket", "Key", "CopySource", "clusterName", "nodegroupName", "AlarmName", "AlarmNames",
                 "SecretId", "repositoryName", "UserPoolId", "ClientId", "TopicArn", "VpcId", "SubnetId",
                 "NetworkAclId", "AssociationId", "experimentTemplateId", "id", "Names", "LoadBalancerArns",
                 "Namespace", "MetricName", "AlarmNamePrefix", "FunctionName", "DBSnapshotIdentifier", "FinalDBSnapshotIdentifier",
                 "DistributionId", "registryId", "Username")


def is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES) or operation in ("GetCallerIdentity", "InitiateAuth")


class Target:
    name = "base"
    capabilities: frozenset[str] = frozenset()

    def __init__(self, loaded: LoadedConfig, journal: Journal | None = None, calls: Journal | None = None,
                 read_only: bool = False):
        self.loaded = loaded
        self.cfg: Config = loaded.config
        self.journal = journal
        self.calls = calls
        self.read_only = read_only
        self.redactor = journal.redactor if journal else Redactor()
        self.account = ""
        self.emulated: dict[str, str] = {}
        self.twin: Any = None  # sandbox.client.Twin when a twin is behind the target

    @classmethod
    def make(cls, loaded: LoadedConfig, journal: Journal | None, calls: Journal | None, read_only: bool,
             start_sandbox: bool, posture: str | None, confirm: str | None, destructive: bool,
             on_startup_step: Callable[[dict[str, float]], None] | None) -> Target:
        """The target a command names, from every option a command may pass (each takes its own)."""
        raise NotImplementedError

    @classmethod
    def planned_capabilities(cls) -> frozenset[str]:
        """What it can do before one is made (a plan without a target)."""
        return cls.capabilities

    @classmethod
    def twin_routing(cls, loaded: LoadedConfig) -> dict[str, Any] | None:
        """What a twin started for this target routes where; a target without a twin refuses."""
        raise InvalidInput(f"--target {cls.name} has no sandbox (use sandbox or localstack)")

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    # AWS -------------------------------------------------------------------

    def endpoint_url(self) -> str | None:
        return None  # boto3's own resolution (and AWS_ENDPOINT_URL)

    def session_kwargs(self) -> dict[str, Any]:
        return {}

    @cache  # noqa: B019 - one session per target
    def session(self) -> Any:
        import boto3

        return boto3.session.Session(**self.session_kwargs())

    @cache  # noqa: B019 - clients live as long as the target
    def client(self, service: str, region: str, attempts: int = 2, read_timeout: float = 15,
               own_record: bool = False) -> Any:
        """The client every AWS call of a drill goes through (see the module docstring).
        ``own_record``: the caller journals each call itself (the canaries: one record per write)."""
        client = make_client(service, region, self.endpoint_url(), session=self.session(), attempts=attempts,
                             connect_timeout=min(3.0, read_timeout), read_timeout=read_timeout, pool=20)
        # before-parameter-build: the caller's own parameters, before anything is serialised or sent
        client.meta.events.register("before-parameter-build", self._guard if own_record else self._before_call)
        return client

    def _guard(self, model: Any, **_: Any) -> None:
        if self.read_only and not is_read(model.name):
            raise ReadOnlyViolation(f"{model.service_model.service_name}:{model.name} refused: this command only reads")

    def _before_call(self, model: Any, params: dict[str, Any], context: Any = None, **_: Any) -> None:
        op = model.name
        service = model.service_model.service_name
        region = (context or {}).get("client_region")
        args = {k: params[k] for k in RESOURCE_KEYS if k in params and isinstance(params[k], (str, int, list))}
        if op == "DeleteObjects":  # the objects named, as the prefix they share (IAM judges each object)
            keys = [str(o.get("Key", "")) for o in params.get("Delete", {}).get("Objects", [])]
            if len(set(keys)) == 1:
                args["Key"] = keys[0]
            else:
                args["KeyPrefix"] = os.path.commonprefix(keys)
            args["Objects"] = len(keys)
        if op == "BatchWriteItem":  # the tables written, each judged by IAM (the drill writes one a call)
            tables = sorted(params.get("RequestItems", {}))
            args["TableName" if len(tables) == 1 else "TableNames"] = tables[0] if len(tables) == 1 else tables
            args["Requests"] = sum(len(v) for v in params.get("RequestItems", {}).values())
        record = {"service": service, "operation": op, "region": region, "resources": args or None,
                  "target": self.name}
        if is_read(op):
            if self.calls is not None:
                self.calls.write("aws_read", **record)
            return
        if self.read_only:
            raise ReadOnlyViolation(f"{service}:{op} refused: this command only reads")
        if self.journal is not None:
            self.journal.write("aws_call", durable=True, **record)

    # what an account shows besides AWS ------------------------------------------

    def kubeconfig(self) -> str | None:
        return None  # KUBECONFIG or ~/.kube/config

    @cache  # noqa: B019
    def kube(self, role: str) -> Any:
        import os

        from kubernetes import config

        # KUBECONFIG read now: the client library reads it once, when it is first imported
        path = self.kubeconfig() or os.environ.get("KUBECONFIG") or None
        return config.new_client_from_config(config_file=path, context=self.cfg.side(role).cluster.cluster)

    def endpoints(self) -> Endpoints:
        """Scheme, port and resolver of the application's hostnames (resolver: the config's, else
        DRILL_RESOLVER, else the system's)."""
        import os

        resolver = self.cfg.endpoints.resolver or os.environ.get("DRILL_RESOLVER") or None
        return self.cfg.endpoints.model_copy(update={"resolver": resolver})

    def slack(self) -> tuple[str, str] | None:
        """(Web API base URL, token) to read channels back, or None."""
        import os

        token = os.environ.get(self.cfg.communication.slack.token_env)
        if not token:
            return None
        self.redactor.add(token)
        return self.cfg.communication.slack.api_url, token

    def webhook(self) -> str | None:
        """The Slack incoming webhook the drill posts its notices to (a secret)."""
        return self.cfg.communication.webhook_url

    def secret_json(self, name: str, on_value: Callable[[str], None] | None = None) -> dict[str, Any]:
        """A JSON secret from Secrets Manager (the primary region, else its DR replica), redacted everywhere."""
        last: Exception | None = None
        for role in ("primary", "dr"):
            try:
                raw = self.client("secretsmanager", self.cfg.side(role).region, attempts=1).get_secret_value(
                    SecretId=name)["SecretString"]
            except Exception as exc:
                last = exc
                continue
            data: dict[str, Any] = json.loads(raw)
            self.redactor.add(raw)
            for value in data.values():
                if isinstance(value, str) and value != data.get("username"):
                    self.redactor.add(value)
            return data
        raise RuntimeError(f"secret {name}: not readable in either region ({last})")

    def close(self) -> None:
        pass
