"""The aws target: a real account, behind guardrails.

Before anything else the target asks STS who it is (``GetCallerIdentity``, which changes nothing
and needs no permission) and refuses, with exit status 2, an account that is not in the
allow-list (``aws.allowed_accounts``, default ``policy.accounts``). The guardrails come from the
policy file alone: a profile or ``--set`` may narrow the allow-list, never widen it, and may not
change the destructive tag. Destructive scenarios need ``--confirm <that account id>``.
Credentials come from the boto3 chain (``aws.profile`` names a profile); ``AWS_ENDPOINT_URL`` is
honoured by boto3 itself, which is how the twin stands in for an account in the rehearsal.
Kubernetes: the environment's kubeconfig, one context per cluster named as the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput
from drill.core.journal import Journal
from drill.targets.base import Target


def check_guardrails(loaded: LoadedConfig) -> None:
    """Refuse a profile or --set that loosens what the policy file allows (one line, exit 2)."""
    policy = loaded.policy_values()
    if loaded.overridden("aws.destructive_tag"):
        raise InvalidInput("aws.destructive_tag: a guardrail; it comes from the policy file and cannot be "
                           "changed by --set or a profile")
    allowed, file_allowed = set(loaded.config.allowed_accounts()), set(policy.allowed_accounts())
    if not allowed <= file_allowed:
        raise InvalidInput(f"aws.allowed_accounts: {', '.join(sorted(allowed - file_allowed))} not in the policy "
                           f"file's allow-list ({', '.join(sorted(file_allowed))}): it may be narrowed, never widened")


class AwsTarget(Target):
    name = "aws"
    capabilities = frozenset({"pause:dynamodb", "pause:s3", "destructive_confirm"})  # + slack_history with a token

    @classmethod
    def make(cls, loaded: LoadedConfig, journal: Journal | None, calls: Journal | None, read_only: bool,
             start_sandbox: bool, posture: str | None, confirm: str | None, destructive: bool,
             on_startup_step: Callable[[dict[str, float]], None] | None) -> Target:
        return cls(loaded, journal, calls, read_only, confirm=confirm, destructive=destructive)

    def __init__(self, loaded: LoadedConfig, journal: Journal | None = None, calls: Journal | None = None,
                 read_only: bool = False, confirm: str | None = None, destructive: bool = False):
        super().__init__(loaded, journal, calls, read_only)
        check_guardrails(loaded)
        self.check_load_master()
        self.capabilities = type(self).capabilities | ({"slack_history"} if self.slack() else set())
        self.account = self.check_account()
        if destructive:
            self.require_confirm(confirm)

    def check_load_master(self) -> None:
        """Load workers in a cluster cannot reach a master on this machine's loopback address (a
        cluster whose API server is itself on loopback, as a local one, can)."""
        import ipaddress
        from urllib.parse import urlparse

        lc = self.cfg.load
        if lc.mode != "kubernetes" or lc.kubernetes is None:
            return
        host = lc.kubernetes.master_host or lc.master_bind_host

        def loopback(h: str | None) -> bool:
            try:
                return h == "localhost" or ipaddress.ip_address(h or "").is_loopback
            except ValueError:
                return False

        try:
            api = urlparse(self.kube("dr").configuration.host).hostname
        except Exception:  # no kubeconfig for the cluster: the drill names that when it deploys
            return
        if loopback(host) and not loopback(api):
            raise InvalidInput(f"load.kubernetes.master_host: the workers' pods in {lc.kubernetes.cluster} cannot "
                               f"reach the master at {host} (loopback); set the address they reach this machine at")

    def require_confirm(self, confirm: str | None) -> None:
        if confirm != self.account:
            raise InvalidInput(
                f"account {self.account}: the selected scenarios change it (tag @{self.cfg.aws.destructive_tag}); "
                f"run again with --confirm {self.account}" + (f" (got --confirm {confirm})" if confirm else ""))

    def session_kwargs(self) -> dict[str, Any]:
        return {"profile_name": self.cfg.aws.profile} if self.cfg.aws.profile else {}

    def check_account(self) -> str:
        """STS first: the only call made before the account is known to be allowed."""
        import botocore.exceptions

        allowed = self.cfg.allowed_accounts()
        try:
            ident = self.client("sts", self.cfg.regions.primary.name).get_caller_identity()
        except botocore.exceptions.ProfileNotFound as exc:
            raise InvalidInput(f"aws.profile: {exc}") from None
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError) as exc:
            raise InvalidInput(f"--target aws: no AWS credentials ({exc}); set AWS_PROFILE or aws.profile") from None
        except botocore.exceptions.ClientError as exc:
            raise InvalidInput(f"--target aws: STS refused the credentials: {exc}") from None
        except botocore.exceptions.EndpointConnectionError as exc:
            raise InvalidInput(f"--target aws: STS not reachable: {exc}") from None
        account = str(ident["Account"])
        if account not in allowed:
            raise InvalidInput(f"account {account} is not in aws.allowed_accounts ({', '.join(allowed)}): "
                               "refused before any call but sts:GetCallerIdentity")
        if self.journal is not None:
            self.journal.write("aws_identity", account=account, arn=ident.get("Arn"), target=self.name)
        return account
