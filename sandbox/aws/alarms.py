"""CloudWatch as an account has it: the metrics AWS publishes by itself, and alarms evaluated.

- Published every ``interval_s``: RDS ``ReplicaLag`` of each read replica (AWS/RDS, from the data
  plane: seconds behind, -1 while replication is not running), Route 53 ``HealthCheckStatus`` of
  each health check (AWS/Route53, in us-east-1: 1 healthy, 0 not), and per SNS delivery
  ``NumberOfNotificationsDelivered`` / ``NumberOfNotificationsFailed`` (AWS/SNS, by TopicName).
- Every alarm of every region is evaluated every ``eval_s`` from its metric's datapoints over
  ``period x evaluation periods``: its statistic against its threshold; no datapoint is
  INSUFFICIENT_DATA. A change of state is recorded (DescribeAlarmHistory) and, with actions
  enabled, the alarm's topics for that state are notified with the alarm's JSON, as CloudWatch does.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import threading
from collections.abc import Callable, Iterable
from typing import Any

OPS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda v, t: v > t, "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t, "LessThanOrEqualToThreshold": lambda v, t: v <= t}
STATS: dict[str, Callable[[list[float]], float]] = {
    "Average": statistics.fmean, "Minimum": min, "Maximum": max, "Sum": sum, "SampleCount": len}
KEEP = dt.timedelta(hours=1)  # datapoints older than any alarm window are pruned (bounded memory)


class Monitor:
    def __init__(self, client: Callable[[str, str], Any], cloudwatch: Callable[[str], Any], regions: Iterable[str],
                 interval_s: float, eval_s: float, lags: Callable[[], list[tuple[str, str, float]]],
                 health: Callable[[], list[tuple[str, bool]]]):
        self.client = client  # (service, region) -> boto3 client of the emulator
        self.cloudwatch = cloudwatch  # region -> the emulator's CloudWatch backend
        self.regions = sorted(set(regions) | {"us-east-1"})
        self.interval_s, self.eval_s = interval_s, eval_s
        self.lags, self.health = lags, health
        self.evaluations = 0
        self.notified = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._publishing = threading.Lock()  # one publish at a time: a late one cannot land stale values

    def start(self) -> None:
        threading.Thread(target=self._loop, args=(self.interval_s, self.publish), name="metrics", daemon=True).start()
        threading.Thread(target=self._loop, args=(self.eval_s, self.evaluate), name="alarms", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self, every: float, work: Callable[[], None]) -> None:
        while not self._stop.wait(every):
            try:
                work()
            except Exception as exc:
                self.errors.append(f"{work.__name__}: {type(exc).__name__}: {exc}"[:300])
                del self.errors[:-20]

    # ------------------------------------------------------------------ metrics AWS publishes

    def publish(self) -> None:
        """Read the values and put them, under a lock: a publish that read its values before a
        change has put them before the next publish starts (the twin's reset publishes once after
        the steady state returns, so the latest datapoint is never one from before it)."""
        with self._publishing:
            self._publish()

    def _publish(self) -> None:
        for region, db_id, lag in self.lags():
            self.client("cloudwatch", region).put_metric_data(Namespace="AWS/RDS", MetricData=[{
                "MetricName": "ReplicaLag", "Value": lag, "Unit": "Seconds",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": db_id}]}])
        checks = self.health()
        if checks:
            self.client("cloudwatch", "us-east-1").put_metric_data(Namespace="AWS/Route53", MetricData=[{
                "MetricName": "HealthCheckStatus", "Value": 1.0 if healthy else 0.0,
                "Dimensions": [{"Name": "HealthCheckId", "Value": hc_id}]} for hc_id, healthy in checks])

    def on_delivery(self, topic_arn: str, protocol: str, ok: bool, **_: Any) -> None:
        region, topic = topic_arn.split(":")[3], topic_arn.split(":")[5]
        try:
            self.client("cloudwatch", region).put_metric_data(Namespace="AWS/SNS", MetricData=[{
                "MetricName": "NumberOfNotificationsDelivered" if ok else "NumberOfNotificationsFailed",
                "Value": 1.0, "Unit": "Count", "Dimensions": [{"Name": "TopicName", "Value": topic}]}])
        except Exception as exc:
            self.errors.append(f"sns metric: {exc}"[:200])

    # ------------------------------------------------------------------ alarms

    def evaluate(self) -> None:
        now = dt.datetime.now(dt.UTC)
        for region in self.regions:
            backend = self.cloudwatch(region)
            backend.metric_data = [d for d in backend.metric_data if _aware(d.timestamp) > now - KEEP]
            for alarm in list(backend.alarms.values()):
                if getattr(alarm, "rule", None) is not None or not alarm.metric_name:
                    continue  # composite and metric-math alarms are not evaluated here
                self._one(region, backend, alarm, now)
        self.evaluations += 1

    def _one(self, region: str, backend: Any, alarm: Any, now: dt.datetime) -> None:
        window = dt.timedelta(seconds=int(alarm.period) * int(alarm.evaluation_periods or 1))
        dims = {(d.name, d.value) for d in alarm.dimensions}
        values = [float(d.value) for d in backend.metric_data
                  if d.namespace == alarm.namespace and d.name == alarm.metric_name
                  and {(x.name, x.value) for x in d.dimensions} == dims and _aware(d.timestamp) > now - window
                  and hasattr(d, "value")]
        if not values:
            state, reason = "INSUFFICIENT_DATA", "Insufficient Data: no datapoint in the evaluation window"
            value = None
        else:
            value = STATS.get(alarm.statistic or "Average", statistics.fmean)(values)
            breach = OPS.get(alarm.comparison_operator, OPS["GreaterThanThreshold"])(value, float(alarm.threshold))
            state = "ALARM" if breach else "OK"
            reason = (f"Threshold Crossed: {len(values)} datapoints; {alarm.statistic} {value:g} "
                      f"{'crossed' if breach else 'did not cross'} the threshold ({alarm.threshold:g})")
        if state == alarm.state_value:
            return
        old = alarm.state_value
        alarm.update_state(reason, json.dumps({"value": value}), state)
        actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
                   "INSUFFICIENT_DATA": alarm.insufficient_data_actions}.get(state) or []
        if not alarm.actions_enabled:
            return
        message = json.dumps({"AlarmName": alarm.name, "AlarmDescription": alarm.description,
                              "AWSAccountId": alarm.alarm_arn.split(":")[4], "NewStateValue": state, "OldStateValue": old,
                              "NewStateReason": reason, "StateChangeTime": now.isoformat(), "Region": region,
                              "Trigger": {"MetricName": alarm.metric_name, "Namespace": alarm.namespace,
                                          "Threshold": alarm.threshold}})
        for topic in actions:
            if topic.startswith("arn:aws:sns:"):
                self.client("sns", topic.split(":")[3]).publish(TopicArn=topic, Message=message,
                                                                Subject=f"{state}: \"{alarm.name}\" in {region}"[:99])
                self.notified += 1

    def status(self) -> dict[str, Any]:
        return {"evaluations": self.evaluations, "notified": self.notified, "errors": self.errors[-3:]}


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
