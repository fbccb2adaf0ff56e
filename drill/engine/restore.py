"""A drill's restore, after each scenario and whatever ended it: traffic stopped, faults undone (the
one undo loop), the policy's failback run if any runbook change is still in place (on every
target: the twin is returned the way an account is), the drill's own data removed (canary rows,
items and objects, the test user), and steady state checked.

A drill halted by a signal or a stop condition undoes its faults but takes no further runbook
action: the changes left in place are named with the one command that returns them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drill.engine.failback import fail_back, runbook_state
from drill.engine.steady import wait_steady
from drill.traffic.stores import stores

if TYPE_CHECKING:
    from drill.engine.drill import Drill


def cleanup(drill: Drill) -> dict[str, Any]:
    """Remove the drill's canary data in both regions, and its test user from both pools."""
    removed: dict[str, Any] = {}
    for name, store in stores(drill.target, drill.drill_id).items():
        for role in ("primary",) if store.ordered else ("primary", "dr"):  # a replica takes its writer's deletes
            try:
                removed[f"{name}:{role}"] = store.delete_all(role)
            except Exception as exc:  # no canary table yet, a replica that refuses writes: nothing to remove
                removed[f"{name}:{role}"] = f"{type(exc).__name__}"
    if drill.cognito is not None and drill.cognito.created:
        removed["cognito"] = drill.cognito.remove()
    drill.journal.write("canaries_removed", removed=removed)
    return removed


def restore(drill: Drill) -> dict[str, Any]:
    if drill.traffic is not None:
        drill.traffic.stop()
    undo = drill.faults.revert_all()
    detail: dict[str, Any] = {"faults_reverted": undo.undone, "faults_failed": undo.failed}
    remaining = runbook_state(drill.target).remaining()
    if remaining and drill.halted:
        detail["left"] = remaining  # interrupted or stopped: no further runbook action; the exit line names it
    elif remaining:
        detail["returned"] = remaining
        fail_back(drill, stabilize=False)
    drill.traffic = None
    detail["removed"] = cleanup(drill)
    if "left" in detail:  # not steady by construction: the primary region does not serve yet
        detail["steady_state"] = {"ok": False, "problems": [f"runbook changes left: {'; '.join(detail['left'])}"]}
        ok = undo.ok
    else:
        state = wait_steady(drill, drill.deadline)
        detail["steady_state"] = {"ok": state.ok, "problems": state.problems}
        ok = undo.ok and state.ok
    drill.journal.write("restored", ok=ok, **detail)
    drill.marks.clear()
    return {"ok": ok, **detail}
