"""A drill's restore, after each scenario and whatever ended it: traffic stopped, faults undone (the
one undo loop), the policy's failback run if any runbook change is still in place (on every
target: the twin is returned the way an account is), the drill's own data removed (canary rows,
items and objects, the test user), and steady state checked.

A drill halted by a signal or a stop condition undoes its faults but takes no further runbook
action: the changes left in place are named with the one command that returns them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drill.core.errors import ActionFailed
from drill.core.schema import ROLES
from drill.core.waits import wait_until
from drill.engine.failback import fail_back, runbook_state
from drill.engine.steady import wait_steady
from drill.traffic.stores import stores

if TYPE_CHECKING:
    from drill.engine.drill import Drill


def cleanup(drill: Drill, replica_follows: bool = True) -> dict[str, Any]:
    """Remove the drill's canary data in both regions, and its test user from both pools.

    A copy still in flight when its original is deleted arrives afterwards where a store's
    replication does not carry deletes (S3): the copies missing on the other side at the time are
    waited for (twice as long as replication was seen to take in this drill, plus a second; not
    seen: up to the action deadline) and removed too; any that did not arrive are journaled. Where
    the replica takes its writer's deletes (RDS) and ``replica_follows`` (the DR instance is a
    replica again: not when the runbook's changes were left in place), the delete is waited for
    in the replica (``_replica_took_delete``)."""
    removed: dict[str, Any] = {}
    in_flight: dict[str, int] = {}
    for name, store in stores(drill.target, drill.drill_id).items():
        if store.ordered:  # a replica takes its writer's deletes
            deleted = _delete(store, "primary")
            removed[f"{name}:primary"] = _count(deleted)
            left = _replica_took_delete(drill, store, deleted) if replica_follows and isinstance(deleted, set) else 0
            if left:
                in_flight[name] = left
            continue
        counts, left = _remove_with_copies(drill, store)
        removed.update({f"{name}:{role}": n for role, n in counts.items()})
        if left:
            in_flight[name] = left
    if drill.cognito is not None and drill.cognito.created:
        removed["cognito"] = drill.cognito.remove()
    if in_flight:
        drill.journal.write("canaries_in_flight", left=in_flight)
    drill.journal.write("canaries_removed", removed=removed)
    return removed


def _replica_took_delete(drill: Drill, store: Any, deleted: set[int]) -> int:
    """Wait until the DR replica no longer holds the rows its writer deleted; how many it still
    holds. The delete arrives a replication delay later: waited for twice as long as replication
    was seen to take plus 5 s, at least the replica lag the policy accepts (replication not seen:
    that lag), never past the action deadline. A later scenario cuts replication first: a row
    still in flight then stays in the DR copy for good. This keeps the account clean; it is not
    what keeps the verdicts right (each scenario writes sequence numbers of its own, so such a row
    is never read as one of its writes). A read that fails is not taken for the rows gone."""
    if not deleted:
        return 0
    left = set(deleted)
    seen = drill.replication_s
    bound = min(max(0.0 if seen is None else 2 * seen + 5, drill.cfg.rds.lag_threshold_s), drill.deadline)

    def gone() -> bool:
        nonlocal left
        left = deleted & set(store.surviving("dr"))  # raises: not yet known (wait_until goes on)
        return not left

    try:
        wait_until(gone, bound, f"{store.name} deletes replicated to the DR copy", drill.interval)
    except ActionFailed:
        pass
    return len(left)


def _remove_with_copies(drill: Drill, store: Any) -> tuple[dict[str, int | str], int]:
    """One store's canaries removed in both regions, with the copies that land after: how many were
    removed per region, and how many copies are still in flight."""
    before: dict[str, set[int]] = {role: _surviving(store, role) for role in ROLES}
    deleted: dict[str, set[int] | str] = {role: _delete(store, role) for role in ROLES}
    removed: dict[str, int | str] = {role: _count(d) for role, d in deleted.items()}
    if store.deletes_replicate:  # the copy's delete follows it
        return removed, 0
    gone: dict[str, set[int]] = {role: d if isinstance(d, set) else set() for role, d in deleted.items()}
    coming = {"dr": before["primary"] - before["dr"] - gone["dr"],
              "primary": before["dr"] - before["primary"] - gone["primary"]}
    if not any(coming.values()):
        return removed, 0
    arrived: dict[str, set[int]] = {role: set() for role in ROLES}

    def landed() -> bool:
        for role in ROLES:
            arrived[role] |= _surviving(store, role) & coming[role]
        return all(coming[r] <= arrived[r] for r in ROLES)

    seen = drill.replication_s
    try:
        wait_until(landed, drill.deadline if seen is None else min(2 * seen + 1, drill.deadline), "copies in flight",
                   drill.interval)
    except ActionFailed:
        pass
    for role in ROLES:
        if arrived[role]:
            first, later = deleted[role], _delete(store, role)
            removed[role] = (len(first) if isinstance(first, set) else 0) + (len(later) if isinstance(later, set) else 0)
    return removed, sum(len(coming[r] - arrived[r]) for r in ROLES)


def _surviving(store: Any, role: str) -> set[int]:
    try:
        return set(store.surviving(role))
    except Exception:  # no canary table yet, a region that does not answer
        return set()


def _delete(store: Any, role: str) -> set[int] | str:
    try:
        return set(store.delete_all(role))
    except Exception as exc:  # no canary table yet, a replica that refuses writes: nothing to remove
        return f"{type(exc).__name__}"


def _count(deleted: set[int] | str) -> int | str:
    return len(deleted) if isinstance(deleted, set) else deleted


def restore(drill: Drill) -> dict[str, Any]:
    left_running: list[str] = []
    if drill.traffic is not None:
        drill.traffic.stop()
        left_running = list(drill.traffic.problems)  # a load generator not removed: drill rollback retries
    undo = drill.faults.revert_all()
    detail: dict[str, Any] = {"faults_reverted": undo.undone, "faults_failed": undo.failed + left_running}
    remaining = runbook_state(drill.target).remaining()
    if remaining and drill.halted:
        detail["left"] = remaining  # interrupted or stopped: no further runbook action; the exit line names it
    elif remaining:
        detail["returned"] = remaining
        fail_back(drill, stabilize=False)
    drill.traffic = None
    detail["removed"] = cleanup(drill, replica_follows="left" not in detail)
    if "left" in detail:  # not steady by construction: the primary region does not serve yet
        detail["steady_state"] = {"ok": False, "problems": [f"runbook changes left: {'; '.join(detail['left'])}"]}
        ok = undo.ok and not left_running
    else:
        state = wait_steady(drill, drill.deadline)
        detail["steady_state"] = {"ok": state.ok, "problems": state.problems}
        ok = undo.ok and state.ok and not left_running
    drill.journal.write("restored", ok=ok, **detail)
    drill.marks.clear()
    return {"ok": ok, **detail}
