"""CloudWatch: alarms (state and history) and metrics, as the drill reads them on any target."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from drill.targets.base import Target


def alarms(target: Target, region: str, names: list[str] | None = None, prefix: str | None = None) -> list[dict[str, Any]]:
    cw = target.client("cloudwatch", region)
    kwargs: dict[str, Any] = {"AlarmNames": names} if names else {"AlarmNamePrefix": prefix} if prefix else {}
    return [a for page in cw.get_paginator("describe_alarms").paginate(**kwargs) for a in page["MetricAlarms"]]


def went_to(target: Target, region: str, alarm: str, state: str, since: float) -> list[dict[str, Any]]:
    """History items of ``alarm`` that moved it to ``state`` at or after ``since``."""
    cw = target.client("cloudwatch", region)
    items = [i for page in cw.get_paginator("describe_alarm_history").paginate(
        AlarmName=alarm, HistoryItemType="StateUpdate", StartDate=dt.datetime.fromtimestamp(since - 1, dt.UTC))
        for i in page["AlarmHistoryItems"]]
    return [i for i in items if i["HistorySummary"].endswith(f"to {state}") and i["Timestamp"].timestamp() >= since - 1]


def metric_sum(target: Target, region: str, namespace: str, metric: str, dimensions: dict[str, str],
               since: float) -> float:
    period = target.cfg.measure.metric_period_s
    now = time.time()
    points = target.client("cloudwatch", region).get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=since - period, EndTime=now + 1, Period=period, Statistics=["Sum"])["Datapoints"]
    return float(sum(p["Sum"] for p in points))


def in_alarm(target: Target, names: list[str]) -> list[str]:
    """Stop-condition alarms in ALARM in either region ("name in region")."""
    out = []
    for role in ("primary", "dr"):
        region = target.cfg.side(role).region
        try:
            out += [f"{a['AlarmName']} in {region}" for a in alarms(target, region, names=names)
                    if a.get("StateValue") == "ALARM"]
        except Exception:
            continue  # a region that cannot answer is not an alarm
    return out
