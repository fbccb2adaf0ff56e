"""What the steps use of the engine, in one place: the step decorators (with their planned calls),
the calls library, the Drill, and each procedure a step calls. Steps import this and nothing else."""

from __future__ import annotations

import time
from typing import Any

from drill.checks import alert as alert_checks
from drill.checks import consistency
from drill.checks.cognito import CognitoCheck
from drill.core.errors import ActionFailed
from drill.core.waits import wait_until, wait_value
from drill.engine.drill import Drill
from drill.engine.failback import fail_back, runbook_state
from drill.engine.failover import declare, failover, inject, served_by, switch_dns, verify_services, wait_detection
from drill.engine.measure import measure_rpo, measure_rto
from drill.engine.results import SteadyState
from drill.engine.steady import wait_steady
from drill.engine.traffic import Traffic, apply_twin_settings, start_traffic
from drill.ops import eks, rds, route53
from drill.plan import library as calls
from drill.plan.registry import given, parsers, then, when

__all__ = ["Drill", "SteadyState", "calls", "declare", "failover", "given", "inject", "parsers", "served_by",
           "start_traffic", "switch_dns", "then", "verify_services", "wait_detection", "when"]


def steady(drill: Drill) -> SteadyState:
    apply_twin_settings(drill)
    return wait_steady(drill, drill.deadline)


def health_settings_problems(drill: Drill) -> list[str]:
    """The policy's health checks against the policy file's own values (not a profile's)."""
    want = drill.policy.route53.health_check
    checks = route53.health_checks(drill.target)
    problems = [] if checks else ["no Route 53 health check on the policy's primary load balancers"]
    for hc in checks:
        conf = hc["HealthCheckConfig"]
        interval = 10 if want.interval_s <= 10 else 30
        got = (conf.get("ResourcePath"), conf.get("RequestInterval"), conf.get("FailureThreshold"))
        if got != (want.path, interval, want.failure_threshold):
            problems.append(f"{hc['Id']}: path/interval/threshold {got}, policy ({want.path!r}, {interval}, "
                            f"{want.failure_threshold})")
    drill.journal.write("health_check_settings", checks=len(checks), problems=problems)
    return problems


def detection_took(drill: Drill) -> tuple[float, float]:
    """(how long detection took, how long the policy's interval x threshold allows on this run's clock)."""
    hc = drill.cfg.route53.health_check
    wait_detection(drill)
    allowed = hc.interval_s * (hc.failure_threshold + 1) + hc.propagation_s + drill.interval
    return drill.marks["detected"] - drill.marks["fault"], allowed


def alarm_delivered(drill: Drill) -> alert_checks.Alert:
    alert = alert_checks.wait_alarm_delivered(drill.target, drill.marks["fault"], drill.deadline, drill.interval)
    drill.journal.write("alert_alarm", alarms=alert.alarms, delivered=alert.delivered, subscriptions=alert.subscriptions)
    return alert


def alert_in_channel(drill: Drill) -> list[dict[str, Any]] | None:
    found = alert_checks.wait_in_channel(drill.target, drill.marks["fault"], drill.deadline, drill.interval)
    drill.journal.write("alert_channel", checked=found is not None, messages=len(found or []),
                        first=(found or [{}])[0].get("text"))
    return found


def undo_faults(drill: Drill) -> bool:
    return drill.faults.revert_all().ok


def health_recovered(drill: Drill) -> None:
    """The policy's health checks healthy again and their alarm back to OK."""
    from drill.core.calls import GLOBAL
    from drill.ops import cloudwatch

    ids = route53.health_check_ids(drill.target)
    ha = drill.cfg.route53.health_check.alarm
    wait_until(lambda: not any(route53.health_failing(drill.target, h) for h in ids), drill.deadline,
               "health checks healthy again", drill.interval)
    wait_until(lambda: all(a.get("StateValue") == "OK" for a in cloudwatch.alarms(drill.target, GLOBAL, prefix=ha.name)),
               drill.deadline, f"alarm {ha.name} back to OK", drill.interval)


def dr_workloads_problems(drill: Drill) -> list[str]:
    """Every DR workload the policy lists (deployments and daemonsets) Ready, with no restarts."""
    cfg = drill.cfg
    states = eks.workloads(drill.target, "dr")
    want = [w.deployment for w in cfg.workloads] + [d.name for d in cfg.daemonsets]
    problems = []
    for name in want:
        st = states.get(name)
        if st is None:
            problems.append(f"{name}: not in the DR cluster")
        elif not st.ok:
            problems.append(f"{name}: {st.ready}/{st.desired} Ready" + (f" ({', '.join(st.waiting)})" if st.waiting else ""))
        elif st.restarts:
            problems.append(f"{name}: {st.restarts} restarts")
    drill.journal.write("dr_workloads", checked=len(want), problems=problems)
    return problems


def measure(drill: Drill) -> None:
    measure_rto(drill)
    measure_rpo(drill, fault_at=drill.marks["fault_in_effect"])


def cognito_check(drill: Drill) -> CognitoCheck:
    if drill.cognito is None:
        drill.cognito = CognitoCheck(drill.target, drill.journal, drill.drill_id)
    return drill.cognito


def fail_over_quietly(drill: Drill) -> None:
    """The DR state a failback starts from: outage, promotion, records to DR; canary writes then run
    against the DR region (no user traffic: this scenario measures the return)."""
    traffic = Traffic(drill, role="dr")
    traffic.prepare()
    drill.traffic = traffic
    inject(drill, "region_outage", role="primary")
    with drill.phase("failback_setup_failover") as info:
        info.update(rds.promote(drill.target, "dr", drill.deadline))
        info.update(switch_dns(drill, "dr"))
    traffic.start_canaries()
    time.sleep(2.0)
    drill.mark("in_dr")


def fail_back_measured(drill: Drill) -> dict[str, Any]:
    undo_faults(drill)  # the primary region is healthy again
    fail_back(drill)
    out = measure_rpo(drill, written="dr", read="primary", event="rpo_failback")
    return {s: r.as_dict() for s, r in out.items()}


def standby_problems(drill: Drill) -> list[str]:
    cfg = drill.cfg
    problems = runbook_state(drill.target).remaining()
    lag = rds.replica_lag_s(drill.target, "dr")
    if lag is None or not 0 <= lag <= cfg.rds.lag_threshold_s:
        problems.append(f"DR ReplicaLag {lag}")
    nodes = eks.ready_nodes(drill.target, "dr")
    if nodes != cfg.eks.dr.nodes:
        problems.append(f"DR cluster has {nodes} Ready nodes (standby {cfg.eks.dr.nodes})")
    return problems


def probe_tables(drill: Drill) -> list[dict[str, Any]]:
    budget = drill.cfg.budgets.rpo_s.get("dynamodb", 1.0)
    out = consistency.probe_tables(drill.target, drill.drill_id, max(10.0, budget * 10))
    drill.journal.write("probes", store="dynamodb", results=out)
    return out


def probe_buckets(drill: Drill) -> list[dict[str, Any]]:
    budget = drill.cfg.budgets.rpo_s.get("s3", 900.0)
    out = consistency.probe_buckets(drill.target, drill.drill_id, min(budget, drill.deadline))
    drill.journal.write("probes", store="s3", results=out)
    return out


def probe_database(drill: Drill) -> dict[str, Any]:
    budget = drill.cfg.budgets.rpo_s.get("rds", 5.0)
    out = consistency.probe_database(drill.target, drill.drill_id, max(budget, 5.0))
    drill.journal.write("probes", store="rds", results=[out])
    return out


def replication_caught_up(drill: Drill) -> None:
    """Until the DR replica has applied everything (ReplicaLag 0); the stores that replicate
    asynchronously are compared until they agree or their wait runs out (``compare``)."""
    wait_until(lambda: rds.replica_lag_s(drill.target, "dr") == 0, drill.deadline, "ReplicaLag 0", drill.interval)
    drill.journal.write("replication_caught_up")


def compare(drill: Drill, store: str) -> list[str]:
    """The store's differences between the regions. A store that replicates asynchronously is
    compared again until the copies agree, for up to three times its RPO budget (at least 5 s, at
    most the action deadline): a difference still there after that is one replication left."""
    if store not in consistency.CHECKS:
        raise ActionFailed(f"no comparison for {store!r} (known: {', '.join(consistency.CHECKS)})")
    check = consistency.CHECKS[store]
    budget = next((float(v) for k, v in drill.cfg.budgets.rpo_s.items() if k == store), None)
    diffs = check(drill.target)
    if diffs and budget is not None:
        wait_s = min(drill.deadline, max(5.0, 3 * float(budget)))
        try:
            diffs = wait_value(lambda: check(drill.target), lambda d: not d, wait_s, f"{store} copies agreeing",
                               drill.interval * 5)
        except ActionFailed:
            diffs = check(drill.target)
    drill.journal.write("consistency", store=store, differences=diffs, count=len(diffs))
    return diffs


def front_end_status(drill: Drill) -> int:
    ans = drill.web.get(drill.cfg.route53.zone, "/index.html")
    drill.journal.write("front_end", status=ans.status, address=ans.address, error=ans.error or None)
    return ans.status
