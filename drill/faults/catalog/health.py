"""Faults of the Route 53 health checks, made with the Route 53 API on every target.

``health_endpoint_failing``: the policy's health checks probe a path that fails, as when every
service's health endpoint fails while the services keep serving. Its undo puts back the policy's
own path (from the config, not from the journal). ``health_check_inverted`` and
``health_check_disabled`` flip those settings and restore what was captured.
"""

from __future__ import annotations

from typing import Any

from drill.core.calls import GLOBAL, Call, Ctx, aws
from drill.faults.registry import Fault, refuse_marked, register
from drill.ops import route53
from drill.targets.base import Target

FAILING_PATH = "/drill-fault-health-endpoint-failing"


def _ours(target: Target, ids: list[str]) -> list[str]:
    """Only health checks of the policy (a journal is not trusted to name others)."""
    mine = set(route53.health_check_ids(target))
    return [i for i in ids if i in mine]


@register
class HealthEndpointFailing(Fault):
    name = "health_endpoint_failing"
    description = "the policy's Route 53 health checks probe a path that fails (the services keep serving)"
    params = {"role": str}
    state = {"checks": list}

    def capture(self, target: Target, role: str = "primary") -> dict[str, Any]:
        refuse_marked(self.name, [f"health check {hc['Id']} probes {FAILING_PATH}" for hc in route53.health_checks(target)
                                  if hc["HealthCheckConfig"].get("ResourcePath") == FAILING_PATH])
        return {"role": role, "checks": route53.health_check_ids(target)}

    def inject(self, target: Target, checks: list[str] | None = None, **_: Any) -> dict[str, Any]:
        for hc in checks or []:
            route53.r53(target).update_health_check(HealthCheckId=hc, ResourcePath=FAILING_PATH)
        return {}

    def undo(self, target: Target, checks: list[str] | None = None, **_: Any) -> None:
        for hc in _ours(target, checks or []):
            route53.r53(target).update_health_check(HealthCheckId=hc,
                                                    ResourcePath=target.cfg.route53.health_check.path)

    def calls(self, ctx: Ctx) -> list[Call]:
        return [aws("route53", "ListHealthChecks", GLOBAL, "*"),
                aws("elbv2", "DescribeLoadBalancers", ctx.region("primary"), "*"),
                aws("route53", "UpdateHealthCheck", GLOBAL, "arn:aws:route53:::healthcheck/*", True,
                    "ResourcePath to a failing path; the policy's path on undo")]


class _Flag(Fault):
    flag = ""
    state = {"before": dict}

    def capture(self, target: Target, **_: Any) -> dict[str, Any]:
        before = {hc["Id"]: bool(hc["HealthCheckConfig"].get(self.flag, False)) for hc in route53.health_checks(target)}
        refuse_marked(self.name, [f"health check {hc} is already {self.flag}" for hc, on in before.items() if on])
        return {"before": before}

    def inject(self, target: Target, before: dict[str, bool] | None = None, **_: Any) -> dict[str, Any]:
        for hc in before or {}:
            route53.r53(target).update_health_check(HealthCheckId=hc, **{self.flag: True})
        return {}

    def undo(self, target: Target, before: dict[str, bool] | None = None, **_: Any) -> None:
        before = before or {}
        for hc in _ours(target, list(before)):
            route53.r53(target).update_health_check(HealthCheckId=hc, **{self.flag: bool(before[hc])})

    def calls(self, ctx: Ctx) -> list[Call]:
        return [aws("route53", "ListHealthChecks", GLOBAL, "*"),
                aws("route53", "UpdateHealthCheck", GLOBAL, "arn:aws:route53:::healthcheck/*", True, self.flag)]


@register
class HealthCheckInverted(_Flag):
    name = "health_check_inverted"
    description = "every policy health check reports the opposite of what it sees"
    flag = "Inverted"


@register
class HealthCheckDisabled(_Flag):
    name = "health_check_disabled"
    description = "every policy health check is disabled (always healthy)"
    flag = "Disabled"
