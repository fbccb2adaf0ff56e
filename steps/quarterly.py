"""Steps of the quarterly tests: the failover simulation under load, the login in the DR pool,
and the failback to the primary region."""

from __future__ import annotations

from drill.engine.api import (
    Drill,
    calls,
    cognito_check,
    declare,
    dr_workloads_problems,
    fail_back_measured,
    fail_over_quietly,
    failover,
    given,
    inject,
    measure,
    standby_problems,
    start_traffic,
    then,
    verify_services,
    wait_detection,
    when,
)


@given("user traffic and canary writes are running", calls=calls.traffic)
def _(drill: Drill) -> None:
    start_traffic(drill)


@when("the primary region suffers an outage", fault="region_outage")
def _(drill: Drill) -> None:
    inject(drill, "region_outage", role="primary")


@then("the Route 53 health check detects the outage", calls=calls.detect)
def _(drill: Drill) -> None:
    wait_detection(drill)


@when("DR is declared by the policy's rule", calls=calls.notices)
def _(drill: Drill) -> None:
    declare(drill)


@when("the runbook fails over to the DR region", calls=calls.failover)
def _(drill: Drill) -> None:
    failover(drill)


@then("every DR service answers its health check from the DR region", calls=calls.served)
def _(drill: Drill) -> None:
    verify_services(drill, "dr")


@then("every DR workload the policy lists is Ready with no restarts", calls=calls.workloads)
def _(drill: Drill) -> None:
    problems = dr_workloads_problems(drill)
    assert not problems, "; ".join(problems)


@then("RTO and RPO are measured", calls=calls.measure)
def _(drill: Drill) -> None:
    measure(drill)


@then("every store's data loss is within its RPO budget")
def _(drill: Drill) -> None:
    missed = {s: r for s, r in drill.results.rpo.items() if not r.met}
    assert drill.results.rpo and not missed, "; ".join(f"{s}: {'; '.join(r.problems)}" for s, r in missed.items()) \
        or "no store was measured"


@then("each measured phase is within its section-4 budget")
def _(drill: Drill) -> None:
    budgets = {b.name: b.budget_s for b in drill.policy.budgets.rto_phases}
    over = [f"{name} {took:.1f} s > {budgets[name]:g} s" for name, took in drill.results.phases.items()
            if name in budgets and took > budgets[name]]
    assert not over, "; ".join(over)


@then("the user-facing RTO is within the RTO budget")
def _(drill: Drill) -> None:
    rto = drill.results.rto
    assert rto is not None and rto.rto.rto_s is not None, "users never saw a sustained recovery served by the DR region"
    assert rto.met, (f"projected RTO {rto.projected_s:.1f} s > budget {rto.budget_s:g} s (measured "
                     f"{rto.rto.rto_s:.1f} s on this run's clocks)")


@when("a test user signs up in the primary user pool", calls=calls.cognito)
def _(drill: Drill) -> None:
    cognito_check(drill).sign_up()


@then("the user logs in to the primary user pool", calls=calls.cognito)
def _(drill: Drill) -> None:
    assert cognito_check(drill).login("primary"), "login to the primary pool failed"


@then("the Post Confirmation trigger has synced the user to the DR user pool", calls=calls.cognito)
def _(drill: Drill) -> None:
    cognito_check(drill).wait_synced(drill.deadline, drill.interval)


@then("the primary password does not work in the DR user pool", calls=calls.cognito)
def _(drill: Drill) -> None:
    assert not cognito_check(drill).login("dr"), "the DR pool accepted the primary password"


@when("the user resets the password as the failover notice says", calls=calls.cognito)
def _(drill: Drill) -> None:
    notice = drill.cfg.communication.notices["failover"]
    assert notice.en and notice.ko, "the policy has no failover notice"
    cognito_check(drill).reset_password()


@then("the user logs in to the DR user pool with the new password", calls=calls.cognito)
def _(drill: Drill) -> None:
    assert cognito_check(drill).login("dr", new=True), "login to the DR pool failed after the reset"


@given("the target has failed over to the DR region and takes writes there", fault="region_outage",
       calls=calls.failover_with_canaries)
def _(drill: Drill) -> None:
    fail_over_quietly(drill)


@when("the runbook fails back to the primary region", calls=calls.failback)
def _(drill: Drill) -> None:
    fail_back_measured(drill)


@then("every write acknowledged in the DR region is in the primary region")
def _(drill: Drill) -> None:
    rpo = drill.results.rpo_failback
    assert rpo and all(r.loss.acked > 0 for r in rpo.values()), f"no write was acknowledged in DR: {rpo}"
    lost = {s: r for s, r in rpo.items() if not r.met}
    assert not lost, "; ".join(f"{s}: {r.loss.lost} of {r.loss.acked} lost ({'; '.join(r.problems)})"
                               for s, r in lost.items())


@then("the DR region is back to standby with replication from the primary region", calls=calls.steady)
def _(drill: Drill) -> None:
    problems = standby_problems(drill)
    assert not problems, "; ".join(problems)
