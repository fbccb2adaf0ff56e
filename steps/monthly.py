"""Steps of the monthly health-check test: the health check detects and alerts through the
policy's alert path; the failover records are verified by the manual procedure for DNS."""

from __future__ import annotations

from drill.engine.api import (
    Drill,
    alarm_delivered,
    alert_in_channel,
    calls,
    detection_took,
    health_recovered,
    health_settings_problems,
    inject,
    switch_dns,
    then,
    when,
)


@then("the Route 53 health check has the policy's settings", calls=calls.health_settings)
def _(drill: Drill) -> None:
    problems = health_settings_problems(drill)
    assert not problems, "; ".join(problems)


@when("the primary region's health endpoint fails", fault="health_endpoint_failing")
def _(drill: Drill) -> None:
    inject(drill, "health_endpoint_failing", role="primary")


@then("the health check goes unhealthy within interval times threshold", calls=calls.detect)
def _(drill: Drill) -> None:
    took, allowed = detection_took(drill)
    assert took <= allowed, f"detected after {took:.2f} s; the policy allows {allowed:.2f} s"


@then("the health check's alarm goes to ALARM and its topic delivers the notification", calls=calls.alert)
def _(drill: Drill) -> None:
    alarm_delivered(drill)


@then("the alert reaches the policy's Slack channel", calls=calls.alert)
def _(drill: Drill) -> None:
    alert_in_channel(drill)  # None: no Slack token where the target is; AWS showed the delivery above


@then("the health check is healthy again and its alarm back to OK", calls=calls.detect)
def _(drill: Drill) -> None:
    health_recovered(drill)


@when("the failover records are pointed at the DR region by hand", calls=calls.switch_records)
def _(drill: Drill) -> None:
    switch_dns(drill, "dr")


@when("the failover records are pointed back at the primary region by hand", calls=calls.switch_records)
def _(drill: Drill) -> None:
    switch_dns(drill, "primary")
