"""EC2 network ACLs, CloudWatch alarm history, SNS delivery, Cognito triggers and EKS limits,
as an account has them.

- Every change to a network ACL or its associations fires ``network_changed`` (the twin's network
  then cuts what a deny-all ACL cuts).
- Alarm state changes are kept as history items, and DescribeAlarmHistory answers from them.
- SNS delivers to a Lambda subscription through ``lambda_invoke`` (the twin's stand-ins: moto's
  Lambda needs Docker); every delivery, to any protocol, fires ``sns_delivered`` with its outcome
  (the twin publishes AWS/SNS NumberOfNotificationsDelivered and ...Failed from it).
- Cognito: a user confirmed (ConfirmSignUp, AdminConfirmSignUp) fires ``cognito_confirmed``; the
  twin runs the pool's Post Confirmation trigger if its LambdaConfig names one.
- EKS refuses a node group scaling config whose desired size is outside [min, max], as EKS does.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from moto.cloudwatch.models import Alarm
from moto.cloudwatch.responses import CloudWatchResponse
from moto.cognitoidp.models import CognitoIdpBackend
from moto.core.responses import ActionResult
from moto.ec2.models.network_acls import NetworkAclBackend
from moto.eks.exceptions import InvalidParameterException
from moto.eks.models import EKSBackend
from moto.sns.models import Subscription

from sandbox.events import EVENTS


def _network() -> None:
    for name in ("create_network_acl", "delete_network_acl", "create_network_acl_entry",
                 "delete_network_acl_entry", "replace_network_acl_entry", "replace_network_acl_association"):
        original = getattr(NetworkAclBackend, name)

        def wrapped(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            result = _original(self, *args, **kwargs)
            EVENTS.network_changed.fire(region=self.region_name)
            return result

        setattr(NetworkAclBackend, name, wrapped)


def _alarm_history() -> None:
    original = Alarm.update_state

    def update_state(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
        old = self.state_value
        original(self, reason, reason_data, state_value)
        if old != state_value:
            items = self.__dict__.setdefault("drill_history", [])
            items.append({"AlarmName": self.name, "AlarmType": "MetricAlarm",
                          "Timestamp": dt.datetime.now(dt.UTC), "HistoryItemType": "StateUpdate",
                          "HistorySummary": f"Alarm updated from {old} to {state_value}",
                          "HistoryData": json.dumps({"oldState": {"stateValue": old},
                                                     "newState": {"stateValue": state_value,
                                                                  "stateReason": reason}})})
            del items[:-500]

    Alarm.update_state = update_state  # type: ignore[method-assign]

    def describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
        name = self._get_param("AlarmName")
        kind = self._get_param("HistoryItemType")
        start, end = self._get_param("StartDate"), self._get_param("EndDate")
        alarms = self.cloudwatch_backend.get_alarms_by_alarm_names([name]) if name else \
            self.cloudwatch_backend.describe_alarms()
        items = [i for a in alarms for i in a.__dict__.get("drill_history", [])
                 if (not kind or i["HistoryItemType"] == kind) and (not start or i["Timestamp"] >= _dt(start))
                 and (not end or i["Timestamp"] <= _dt(end))]
        items.sort(key=lambda i: i["Timestamp"], reverse=self._get_param("ScanBy") != "TimestampAscending")
        return ActionResult({"AlarmHistoryItems": items[: int(self._get_param("MaxRecords") or 100)]})

    CloudWatchResponse.describe_alarm_history = describe_alarm_history  # type: ignore[attr-defined]


def _dt(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _sns() -> None:
    original = Subscription.publish

    def publish(self: Subscription, message: str, message_id: str, subject: str | None = None,
                *args: Any, **kwargs: Any) -> None:
        ok = True
        try:
            if self.protocol == "lambda":
                event = {"Records": [{"EventSource": "aws:sns", "EventSubscriptionArn": self.arn, "Sns": {
                    "Type": "Notification", "MessageId": message_id, "TopicArn": self.topic_arn,
                    "Subject": subject, "Message": message,
                    "Timestamp": dt.datetime.now(dt.UTC).isoformat()}}]}
                results = EVENTS.lambda_invoke.fire(reraise=True, function_arn=self.endpoint, event=event)
                ok = any(r is not None for r in results)
            else:
                original(self, message, message_id, subject, *args, **kwargs)
        except Exception:
            ok = False
        EVENTS.sns_delivered.fire(topic_arn=self.topic_arn, protocol=self.protocol, ok=ok)

    Subscription.publish = publish  # type: ignore[method-assign]


def _cognito() -> None:
    original_admin = CognitoIdpBackend.admin_confirm_sign_up
    original_confirm = CognitoIdpBackend.confirm_sign_up

    def admin_confirm(self: CognitoIdpBackend, user_pool_id: str, username: str) -> str:
        out = original_admin(self, user_pool_id, username)
        EVENTS.cognito_confirmed.fire(region=self.region_name, pool_id=user_pool_id, username=username)
        return out

    def confirm(self: CognitoIdpBackend, client_id: str, username: str) -> str:
        out = original_confirm(self, client_id, username)
        pool = next((p for p in self.user_pools.values() if client_id in p.clients), None)
        if pool is not None:
            EVENTS.cognito_confirmed.fire(region=self.region_name, pool_id=pool.id, username=username)
        return out

    CognitoIdpBackend.admin_confirm_sign_up = admin_confirm  # type: ignore[method-assign]
    CognitoIdpBackend.confirm_sign_up = confirm  # type: ignore[method-assign]


def _eks() -> None:
    original = EKSBackend.update_nodegroup_config

    def update(self: EKSBackend, cluster_name: str, nodegroup_name: str, *args: Any, **kwargs: Any) -> Any:
        scaling = kwargs.get("scaling_config") or {}
        cluster = self.clusters.get(cluster_name)
        ng = cluster.nodegroups.get(nodegroup_name) if cluster is not None else None
        if scaling and ng is not None:
            current = ng.scaling_config or {}
            lo = int(scaling.get("minSize", current.get("minSize", 0)))
            hi = int(scaling.get("maxSize", current.get("maxSize", 1)))
            want = int(scaling.get("desiredSize", current.get("desiredSize", lo)))
            if not lo <= want <= hi:
                raise InvalidParameterException(
                    clusterName=cluster_name, nodegroupName=nodegroup_name, fargateProfileName=None, addonName=None,
                    message=f"desired capacity {want} must be between minSize {lo} and maxSize {hi}")
        return original(self, cluster_name, nodegroup_name, *args, **kwargs)

    EKSBackend.update_nodegroup_config = update  # type: ignore[method-assign]


def install() -> None:
    _network()
    _alarm_history()
    _sns()
    _cognito()
    _eks()
