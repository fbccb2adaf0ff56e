"""Stand-ins for the account's Lambdas on the paths the drill uses (moto's Lambda needs Docker).

A function runs here only as the account configures it: it must exist, and its handler names
the behaviour; its environment carries its settings, as the real function's would.
- ``alert_to_slack.handler``: the alarm's SNS notification -> a message to the Slack incoming
  webhook ``SLACK_WEBHOOK_URL`` (channel ``SLACK_CHANNEL``), the policy's alert path
  (alarm -> SNS -> Lambda -> Slack).
- ``cognito_sync.handler``: a Post Confirmation trigger that creates the confirmed user, without
  its password, in the pool ``DR_USER_POOL_ID`` of ``DR_REGION``.
It is invoked only where the account wires it: an SNS subscription of protocol lambda, or a
user pool's LambdaConfig. Remove either and nothing runs, as on an account.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any


class Lambdas:
    def __init__(self, functions: Callable[[str], Any], cognito: Callable[[str], Any]):
        self.functions = functions  # region -> the emulator's Lambda backend
        self.cognito = cognito  # region -> the emulator's Cognito backend
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, function_arn: str, event: dict[str, Any]) -> Any:
        parts = function_arn.split(":")
        region, name = parts[3], parts[6]
        fn = self.functions(region).get_function(name)
        env = dict(fn.environment_vars or {})
        handler = {"alert_to_slack.handler": self.alert_to_slack,
                   "cognito_sync.handler": self.cognito_sync}.get(fn.handler)
        if handler is None:
            raise RuntimeError(f"{name}: handler {fn.handler!r} has no stand-in in the twin")
        result = handler(env, event)
        self.invocations.append({"function": name, "handler": fn.handler})
        del self.invocations[:-200]
        return result

    def alert_to_slack(self, env: dict[str, str], event: dict[str, Any]) -> dict[str, Any]:
        out = []
        for record in event.get("Records", []):
            sns = record.get("Sns", {})
            try:
                alarm = json.loads(sns.get("Message") or "{}")
            except ValueError:
                alarm = {"AlarmName": sns.get("Subject"), "NewStateReason": sns.get("Message")}
            text = (f"[{alarm.get('NewStateValue', 'ALARM')}] {alarm.get('AlarmName')}: "
                    f"{alarm.get('NewStateReason', '')}")
            body = {"text": text, "username": "aws-alarms"}
            if env.get("SLACK_CHANNEL"):
                body["channel"] = env["SLACK_CHANNEL"]
            req = urllib.request.Request(env["SLACK_WEBHOOK_URL"], data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                out.append(resp.status)
        return {"posted": out}

    def cognito_sync(self, env: dict[str, str], event: dict[str, Any]) -> dict[str, Any]:
        attributes = [{"Name": k, "Value": v} for k, v in (event.get("request", {}).get("userAttributes") or {}).items()
                      if k not in ("sub", "cognito:user_status")]
        self.cognito(env["DR_REGION"]).admin_create_user(env["DR_USER_POOL_ID"], event["userName"], "SUPPRESS",
                                                         None, attributes)
        return event

    def on_cognito_confirmed(self, region: str, pool_id: str, username: str) -> None:
        pool = self.cognito(region).describe_user_pool(pool_id)
        arn = (pool.extended_config.get("LambdaConfig") or {}).get("PostConfirmation")
        if not arn:
            return
        user = self.cognito(region).admin_get_user(pool_id, username)
        attrs = {a["Name"]: a["Value"] for a in user.attributes}
        self.invoke(arn, {"version": "1", "triggerSource": "PostConfirmation_ConfirmSignUp", "region": region,
                          "userPoolId": pool_id, "userName": username,
                          "request": {"userAttributes": attrs}, "response": {}})
