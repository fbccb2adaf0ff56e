"""Step definitions: parse the words, call the engine. The engine does the work."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from drill.engine import Drill


@given("the target is in steady state")
def _(drill: Drill) -> None:
    drill.apply_drill_settings()
    state = drill.wait_steady_state(60)
    assert state["ok"], f"not in steady state: {state['problems']}"


@given("user traffic and canary writes are running")
def _(drill: Drill) -> None:
    drill.start_traffic()


@when("the primary region suffers an outage")
def _(drill: Drill) -> None:
    drill.inject_outage()


@then("the Route 53 health check detects the outage")
def _(drill: Drill) -> None:
    drill.wait_detection()


@when("DR is declared by the policy's rule")
def _(drill: Drill) -> None:
    drill.declare()


@when("the runbook fails over to the DR region")
def _(drill: Drill) -> None:
    drill.failover()


@then("users are served by the DR region")
def _(drill: Drill) -> None:
    from drill import actions

    actions.wait_edge_serves(drill.target, "dr", 60, drill.interval)


@then("RTO and RPO are measured")
def _(drill: Drill) -> None:
    drill.measure()


@then("every store's data loss is within its RPO budget")
def _(drill: Drill) -> None:
    missed = {s: r for s, r in drill.results["rpo"].items() if not r["met"]}
    assert not missed, "; ".join(
        f"{s}: RPO {r['measured_s']:.3f} s > budget {r['budget_s']:g} s ({r['lost']} acknowledged writes lost)"
        for s, r in missed.items())


@then("the user-facing RTO is within the RTO budget")
def _(drill: Drill) -> None:
    rto = drill.results["rto"]
    assert rto["rto_s"] is not None, "users never saw a sustained recovery served by the DR region"
    assert rto["met"], (f"projected RTO {rto['projected_s']:.1f} s > budget {rto['budget_s']:g} s "
                        f"(measured {rto['rto_s']:.1f} s with a {rto['policy_wait_applied_s']:g} s declaration wait)")


@then("the Route 53 health check has the policy's settings")
def _(drill: Drill) -> None:
    problems = drill.check_health_check_settings()
    assert not problems, "; ".join(problems)


@when("the primary region's health endpoint fails")
def _(drill: Drill) -> None:
    drill.inject("health_endpoint_failing", role="primary")


@then("the health check goes unhealthy within interval times threshold")
def _(drill: Drill) -> None:
    hc = drill.cfg.route53.health_check
    drill.wait_detection()
    took = drill.marks["detected"] - drill.marks["fault"]
    allowed = hc.interval_s * (hc.failure_threshold + 1) + drill.interval
    assert took <= allowed, f"detected after {took:.2f} s; the policy allows {allowed:.2f} s"


@then("the alert reaches the policy's Slack channel")
def _(drill: Drill) -> None:
    alerts = drill.wait_alert(drill.cfg.route53.health_check.alert_channel, since=drill.marks["fault"])
    assert alerts, f"no alert in {drill.cfg.route53.health_check.alert_channel}"


@then(parsers.re(r"(?P<hosts>[\w.]+(?: and [\w.]+)*) (?:is|are) served by the DR region"))
def _(drill: Drill, hosts: str) -> None:
    from drill import actions

    actions.wait_edge_serves(drill.target, "dr", drill.cfg.measure.action_deadline_s, drill.interval,
                             hosts=hosts.split(" and "))


@when("the fault is undone")
def _(drill: Drill) -> None:
    assert drill.faults.revert_all(), "a fault's undo failed"


@then("everything is healthy again and served by the primary region")
def _(drill: Drill) -> None:
    state = drill.wait_steady_state(drill.cfg.measure.action_deadline_s)
    assert state["ok"], f"not back to steady state: {state['problems']}"


@then("a probe write to each global table in each region shows in the other region within the DynamoDB RPO budget")
def _(drill: Drill) -> None:
    results = drill.probe_global_tables()
    budget = drill.cfg.budgets.rpo_s.get("dynamodb")
    slow = [r for r in results if r["seen_after_s"] is None or (budget is not None and r["seen_after_s"] > budget)]

    def show(r: dict[str, object]) -> str:
        seen = r["seen_after_s"]
        return f"{r['table']} {r['from']}->{r['to']}: " + ("never seen" if seen is None else f"{seen:.2f} s")

    assert not slow, f"budget {budget} s: " + "; ".join(show(r) for r in slow)


@when("replication has caught up")
def _(drill: Drill) -> None:
    drill.wait_replication_caught_up()


@then(parsers.parse("the {store} copies match"))
def _(drill: Drill, store: str) -> None:
    diffs = drill.compare(store)
    assert not diffs, f"{len(diffs)} differences: " + "; ".join(diffs[:10])


@then("the synced user logs in to the primary user pool")
def _(drill: Drill) -> None:
    assert drill.cognito.login("primary", drill.cognito.password), "login to the primary pool failed"


@then("the synced user exists in the DR user pool")
def _(drill: Drill) -> None:
    assert drill.cognito.user_exists("dr"), f"{drill.cfg.cognito.test_user} is not in the DR pool"


@then("the primary password does not work in the DR user pool")
def _(drill: Drill) -> None:
    assert not drill.cognito.login("dr", drill.cognito.password), "the DR pool accepted the primary password"


@when("the user resets the password as the failover notice says")
def _(drill: Drill) -> None:
    notice = drill.cfg.communication.notices["failover"]
    assert "password" in notice.en.lower() and "비밀번호" in notice.ko
    drill.cognito.reset_password("dr")


@then("the synced user logs in to the DR user pool")
def _(drill: Drill) -> None:
    assert drill.cognito.login("dr", drill.cognito.new_password), "login to the DR pool failed after the reset"


@given("the target has failed over to the DR region and takes writes there")
def _(drill: Drill) -> None:
    drill.fail_over_quietly()


@when("the runbook fails back to the primary region")
def _(drill: Drill) -> None:
    drill.fail_back()


@then("every write acknowledged in the DR region is in the primary region")
def _(drill: Drill) -> None:
    rpo = drill.results["rpo_failback"]
    lost = {s: r for s, r in rpo.items() if r["lost"]}
    assert all(r["acked"] > 0 for r in rpo.values()), f"no write was acknowledged in DR: {rpo}"
    assert not lost, "; ".join(f"{s}: {r['lost']} of {r['acked']} lost (gaps {r['gaps'][:5]})" for s, r in lost.items())


@then("users are served by the primary region")
def _(drill: Drill) -> None:
    from drill import actions

    actions.wait_edge_serves(drill.target, "primary", drill.cfg.measure.action_deadline_s, drill.interval)


@then("the DR region is back to standby with replication from the primary region")
def _(drill: Drill) -> None:
    from drill import probes

    lag = probes.replica_lag_s(drill.target)
    assert lag is not None and lag <= drill.cfg.rds.lag_threshold_s, f"DR replica lag {lag}"
    assert probes.ready_nodes(drill.target, "dr") == drill.cfg.eks.dr.nodes
