"""Checklist item 1's alert, checked as the policy routes it: the health check's CloudWatch alarm
(us-east-1, where Route 53 publishes HealthCheckStatus) goes to ALARM, its SNS topic delivers the
notification (AWS/SNS NumberOfNotificationsDelivered), and, where the target can read Slack, the
alert Lambda's message is in the policy's channel. The drill's own messages never count."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drill.core.calls import GLOBAL
from drill.core.errors import ActionFailed
from drill.core.waits import wait_until
from drill.ops import cloudwatch, slack
from drill.targets.base import Target


@dataclass
class Alert:
    alarms: list[str] = field(default_factory=list)  # alarms that went to ALARM since the fault
    delivered: dict[str, float] = field(default_factory=dict)  # topic -> notifications delivered since
    subscriptions: dict[str, int] = field(default_factory=dict)  # topic -> confirmed subscriptions
    slack: list[dict[str, Any]] | None = None  # alert messages in the channel (None: not readable)


def _topics(target: Target) -> list[str]:
    ha = target.cfg.route53.health_check.alarm
    return sorted({t for a in cloudwatch.alarms(target, GLOBAL, prefix=ha.name) for t in a.get("AlarmActions", [])
                   if t.startswith("arn:aws:sns:")})


def alarmed(target: Target, since: float) -> Alert:
    ha = target.cfg.route53.health_check.alarm
    out = Alert()
    for a in cloudwatch.alarms(target, GLOBAL, prefix=ha.name):
        if cloudwatch.went_to(target, GLOBAL, a["AlarmName"], "ALARM", since):
            out.alarms.append(a["AlarmName"])
    for topic in _topics(target):
        region, name = topic.split(":")[3], topic.split(":")[5]
        out.delivered[topic] = cloudwatch.metric_sum(target, region, "AWS/SNS", "NumberOfNotificationsDelivered",
                                                     {"TopicName": name}, since)
        sns = target.client("sns", region)
        out.subscriptions[topic] = sum(1 for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
            TopicArn=topic) for s in page["Subscriptions"] if not str(s["SubscriptionArn"]).startswith("Pending"))
    return out


def wait_alarm_delivered(target: Target, since: float, deadline_s: float, interval_s: float) -> Alert:
    """Until an alarm of the health check went to ALARM and one of its topics delivered it."""
    last = Alert()

    def done() -> bool:
        nonlocal last
        last = alarmed(target, since)
        return bool(last.alarms) and any(v > 0 for v in last.delivered.values())

    try:
        wait_until(done, deadline_s, "the health check's alarm delivered", interval_s)
    except ActionFailed:
        ha = target.cfg.route53.health_check.alarm
        if not last.alarms:
            raise ActionFailed(f"no alarm {ha.name}* went to ALARM within {deadline_s:.0f} s of the failure") from None
        topics = ", ".join(f"{t.split(':')[-1]} ({last.subscriptions.get(t, 0)} subscriptions, "
                           f"{last.delivered.get(t, 0):g} delivered)" for t in sorted(last.subscriptions)) or "none"
        raise ActionFailed(f"alarm {', '.join(last.alarms)} went to ALARM but its topic delivered nothing: "
                           f"{topics}") from None
    return last


def wait_in_channel(target: Target, since: float, deadline_s: float, interval_s: float) -> list[dict[str, Any]] | None:
    """Alert messages in the policy's channel since ``since`` (None: the target cannot read Slack)."""
    cfg = target.cfg
    name = cfg.route53.health_check.alarm.name
    channel = cfg.route53.health_check.alert_channel
    if slack.history(target, channel, since) is None:
        return None
    found: list[dict[str, Any]] = []

    def arrived() -> bool:
        nonlocal found
        msgs = slack.history(target, channel, since) or []
        found = [m for m in msgs if not str(m.get("text", "")).startswith(slack.DRILL_PREFIX)
                 and name in str(m.get("text", ""))]
        return bool(found)

    try:
        wait_until(arrived, deadline_s, f"the alert in {channel}", interval_s)
    except ActionFailed:
        raise ActionFailed(f"no alert about {name} reached {channel} within {deadline_s:.0f} s "
                           "(the drill's own messages do not count)") from None
    return found


