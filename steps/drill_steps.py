"""Step definitions: parse the words, call the engine. The engine does the work."""

from __future__ import annotations

from pytest_bdd import given, then, when

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
