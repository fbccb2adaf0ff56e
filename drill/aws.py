"""The aws target: a real account, behind guardrails.

Before anything else the target asks STS who it is (``GetCallerIdentity``, which changes
nothing and needs no permission) and refuses, with exit status 2, an account that is not in
the allow-list (``aws.allowed_accounts``, default ``policy.accounts``). Destructive scenarios
(``aws.destructive_tag``) run only with ``--confirm <that account id>``. Credentials come from
the boto3 chain (``aws.profile`` names a profile; ``AWS_PROFILE`` and the usual variables work);
``AWS_ENDPOINT_URL`` is honoured by boto3 itself, which is how the tests stand the sandbox's
emulator in for AWS. Every mutating call is journaled before it is sent (``Target.client``).

Kubernetes: the kubeconfig of the environment (``KUBECONFIG`` or ~/.kube/config) with one
context per cluster named as the cluster (``aws eks update-kubeconfig --name C --alias C``).
The database login is the JSON secret ``aws.db_secret`` (``username``/``password``), read from
Secrets Manager in the primary region and redacted from every output.
"""

from __future__ import annotations

import json
from typing import Any

from drill.config import LoadedConfig
from drill.errors import InvalidInput
from drill.journal import Journal
from drill.targets import Target


class AwsTarget(Target):
    name = "aws"

    def __init__(self, loaded: LoadedConfig, journal: Journal | None = None, confirm: str | None = None,
                 destructive: bool = False):
        super().__init__(loaded, journal)
        self.account = self.check_account()
        if destructive and confirm != self.account:
            raise InvalidInput(
                f"account {self.account}: the selected scenarios are destructive (tag @{self.cfg.aws.destructive_tag}); "
                f"run again with --confirm {self.account}" + (f" (got --confirm {confirm})" if confirm else ""))
        self.emulated = {}
        self._db: tuple[str, str] | None = None

    def _session_kwargs(self) -> dict[str, Any]:
        return {"profile_name": self.cfg.aws.profile} if self.cfg.aws.profile else {}

    def check_account(self) -> str:
        """STS first: the only call made before the account is known to be allowed."""
        import botocore.exceptions

        allowed = self.cfg.allowed_accounts()
        try:
            ident = self.client("sts", self.cfg.regions.primary.name, journaled=False).get_caller_identity()
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

    def db_login(self) -> tuple[str, str]:
        if self._db is None:
            if not self.cfg.aws.db_secret:
                raise InvalidInput("--target aws: set aws.db_secret (a Secrets Manager secret with username/password)")
            raw = self.client("secretsmanager", self.cfg.regions.primary.name, journaled=False).get_secret_value(
                SecretId=self.cfg.aws.db_secret)["SecretString"]
            data = json.loads(raw)
            self.redactor.add(data.get("password"))
            self.redactor.add(raw)
            self._db = (str(data["username"]), str(data["password"]))
        return self._db

    def edge(self) -> tuple[str, bool]:
        return f"https://{self.cfg.fqdn('api')}", False  # each hostname through real DNS

    def slack_webhook(self) -> str | None:
        return self.cfg.communication.webhook_url
