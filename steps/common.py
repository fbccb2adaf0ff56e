"""Steps every cadence uses: steady state, faults undone, names served by a region."""

from __future__ import annotations

from drill.engine.api import Drill, calls, given, parsers, served_by, steady, then, undo_faults, when


@given("the target is in steady state", calls=calls.steady)
def _(drill: Drill) -> None:
    state = steady(drill)
    assert state.ok, f"not in steady state: {'; '.join(state.problems)}"


@when("the fault is undone")
def _(drill: Drill) -> None:
    assert undo_faults(drill), "a fault's undo failed (see the journal)"


@then(parsers.re(r"(?P<hosts>[\w.-]+(?: and [\w.-]+)*) (?:is|are) served by the (?P<role>DR|primary) region"),
      calls=calls.served)
def _(drill: Drill, hosts: str, role: str) -> None:
    served_by(drill, "dr" if role == "DR" else "primary", hosts=hosts.split(" and "))


@then(parsers.re(r"users are served by the (?P<role>DR|primary) region"), calls=calls.served)
def _(drill: Drill, role: str) -> None:
    served_by(drill, "dr" if role == "DR" else "primary")
