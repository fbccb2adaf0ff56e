"""The sandbox target: the aws code path pointed at the twin, plus the twin's knobs.

The twin gives what an account would (an AWS endpoint and credentials, a kubeconfig, a DNS
resolver, the Slack Web API); ``twin`` holds the knobs only a twin has (network conditions such
as a replication delay, a crashed database server), which faults use where they say so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput, TargetUnavailable
from drill.core.journal import Journal
from drill.core.settings import Endpoints
from drill.targets.base import Target
from sandbox import client as twin_client


class SandboxTarget(Target):
    name = "sandbox"
    capabilities = frozenset({"twin", "pause:dynamodb", "pause:s3", "slack_history"})

    @classmethod
    def make(cls, loaded: LoadedConfig, journal: Journal | None, calls: Journal | None, read_only: bool,
             start_sandbox: bool, posture: str | None, confirm: str | None, destructive: bool,
             on_startup_step: Callable[[dict[str, float]], None] | None) -> Target:
        return cls(loaded, journal, calls, read_only, start=start_sandbox, posture=posture,
                   on_startup_step=on_startup_step)  # confirm: not asked of a twin

    @classmethod
    def twin_routing(cls, loaded: LoadedConfig) -> dict[str, Any] | None:
        return None  # the twin alone

    def __init__(self, loaded: LoadedConfig, journal: Journal | None = None, calls: Journal | None = None,
                 read_only: bool = False, start: bool = True, posture: str | None = None,
                 on_startup_step: Callable[[dict[str, float]], None] | None = None):
        """``on_startup_step``: told the twin's start-up parts done so far, while one starts (the live view)."""
        super().__init__(loaded, journal, calls, read_only)
        self.started_here = False
        want = self.localstack_routing()
        twin = twin_client.attach()
        if twin is not None:
            running = bool(twin.info.routing.get("localstack"))
            if running != bool(want):
                raise InvalidInput(
                    f"a sandbox {'with' if running else 'without'} LocalStack is running; --target {self.name} "
                    f"needs one {'with' if want else 'without'} (stop it: drill sandbox down)")
        else:
            if not start:
                raise TargetUnavailable("no sandbox is running (start one with: drill sandbox up)")
            twin, self.started_here = twin_client.up(loaded, posture, localstack=want,
                                                     on_step=on_startup_step)
        self.twin = twin
        self.account = twin.info.account_id
        self.redactor.add(twin.info.slack_token)
        self.emulated = {"aws": "moto in the twin, with the behaviour moto lacks (RDS promotion, health checks, "
                                "alarms -> SNS -> Lambda, FIS experiments, network ACLs, replication)",
                         "rds": "MariaDB pair with real binlog replication", "kubernetes": "the twin's API servers",
                         "dns": "the twin's DNS server (Route 53 records)", "slack": "the twin's Slack"}

    def localstack_routing(self) -> dict[str, Any] | None:
        return None

    def endpoint_url(self) -> str | None:
        return str(self.twin.info.aws_endpoint)

    def session_kwargs(self) -> dict[str, Any]:
        return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

    def kubeconfig(self) -> str | None:
        return str(self.twin.info.kubeconfig)

    def endpoints(self) -> Endpoints:
        return self.cfg.endpoints.model_copy(update={"resolver": self.twin.info.resolver})

    def slack(self) -> tuple[str, str] | None:
        return self.twin.info.slack_api, self.twin.info.slack_token

    def webhook(self) -> str | None:
        """The drill's notices go to the twin's Slack too (an incoming webhook of its own)."""
        return self.cfg.communication.webhook_url or self.twin.info.slack_api.removesuffix("/api") + \
            "/services/T0TWIN/B0DRILL/notices"

    def close(self) -> None:
        if self.started_here:
            twin_client.down()
            self.started_here = False
