"""The return to the primary region, by the policy's failback procedure (section 6), from whatever
state the target is in: after a quarterly failover, after an interrupted one (``drill failback``),
or as a drill's restore. Each step looks at the target first and does only what is left, so it
can be repeated.

Phases: stabilization (the policy's wait, without failure), sync (the primary rebuilt as a replica
of DR with its old settings, after a final snapshot; S3 copied back with metadata and replicated
back with its own role), write pause (canaries stop; the primary holds what DR had; it is
promoted), DNS (records back, users served by the primary), standby (DR rebuilt as a replica of
the primary, reverse replication off, the DR side scaled back to standby).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from drill.core.waits import wait_until
from drill.engine.failover import scale_dr, switch_dns
from drill.engine.results import RunbookState
from drill.ops import eks, rds, route53, s3
from drill.targets.base import Target

if TYPE_CHECKING:
    from drill.engine.drill import Drill
    from drill.traffic.stores import Store


def runbook_state(target: Target) -> RunbookState:
    cfg = target.cfg
    p, d = rds.instance(target, "primary"), rds.instance(target, "dr")
    dr_lbs = {lb.dns for lb in route53.dr_lbs(target).values()}
    at = route53.records_at(target)
    try:
        nodes = eks.scaling(target, "dr").get("desiredSize", cfg.eks.dr.nodes)
    except Exception:
        nodes = cfg.eks.dr.nodes
    return RunbookState(
        dr_writer=d is not None and not rds.is_replica(d),
        primary_replica_of_dr=rds.is_replica(p) and str(p.get("ReadReplicaSourceDBInstanceIdentifier")).endswith(
            cfg.rds.replica.id),
        records_at_dr=sorted(name for name, dns in at.items() if dns in dr_lbs),
        dr_nodes=int(nodes), standby_nodes=cfg.eks.dr.nodes)


def stabilization(drill: Drill) -> None:
    wait = drill.cfg.failback.stabilization_s
    with drill.phase("failback_stabilization", measured=False,
                     detail=f"policy wait: {wait:g} s without failure (policy {drill.policy.failback.stabilization_s:g} s)"):
        end = time.monotonic() + wait
        ids = route53.health_check_ids(drill.target)
        while time.monotonic() < end:
            if any(route53.health_failing(drill.target, h) for h in ids):
                end = time.monotonic() + wait  # the clock restarts while anything still fails
            time.sleep(drill.interval)


def fail_back(drill: Drill, stabilize: bool = True) -> dict[str, Any]:
    """Policy section 6, from wherever the target is; returns what each phase did."""
    cfg, t = drill.cfg, drill.target
    done: dict[str, Any] = {}
    state = runbook_state(t)
    drill.journal.write("runbook_state", remaining=state.remaining(), **state.__dict__)
    if stabilize:
        stabilization(drill)
    if state.dr_writer and not state.primary_replica_of_dr:
        with drill.phase("failback_sync") as info:
            old = rds.instance(t, "primary")
            if old is not None:
                drill.journal.write("rds_settings", durable=True, role="primary", settings=rds.settings_of(old))
            info["rds"] = rds.rebuild_as_replica(t, "primary", drill.deadline, settings=_journaled(drill, "primary"))
            info["s3_reverse"] = s3.reverse_replication(t, on=True)
            info["s3_copied"] = s3.copy_back(t)
        done["sync"] = True
    if rds.is_replica(rds.instance(t, "primary")):
        with drill.phase("failback_write_pause") as info:
            if drill.traffic is not None:
                drill.traffic.stop_canaries()
                for name, store in drill.traffic.stores.items():  # everything written in DR is in the primary
                    wanted = store.surviving("dr")

                    def arrived(s: Store = store, w: set[int] = wanted) -> bool:
                        return s.surviving("primary") >= w

                    wait_until(arrived, drill.deadline, f"{name} written in DR present in the primary region",
                               drill.interval)
                    info[name] = len(wanted)
            info["copied_late"] = s3.copy_back(t)
            info["rds"] = rds.promote(t, "primary", drill.deadline)
        done["promoted"] = True
    if runbook_state(t).records_at_dr:
        with drill.phase("failback_dns") as info:
            info.update(switch_dns(drill, "primary"))
        done["dns"] = True
        drill.notifier.send("switchover_done", "failback to the primary region", since=drill.marks.get("in_dr"))
        notice = cfg.communication.notices["failback"]
        drill.notifier.send("user_notice", notice.ko if drill.notifier.lang == "ko" else notice.en)
    with drill.phase("failback_standby") as info:
        if not rds.is_replica(rds.instance(t, "dr")):
            old = rds.instance(t, "dr")
            if old is not None:
                drill.journal.write("rds_settings", durable=True, role="dr", settings=rds.settings_of(old))
            info["rds"] = rds.rebuild_as_replica(t, "dr", drill.deadline, settings=_journaled(drill, "dr"))
        info["s3_reverse_off"] = s3.reverse_replication(t, on=False)
        info.update(scale_dr(drill, cfg.eks.dr.nodes, full=False))
    wait_until(lambda: (lag := rds.replica_lag_s(t, "dr")) is not None and 0 <= lag <= cfg.rds.lag_threshold_s,
               drill.deadline, "DR replica replicating from the primary", drill.interval)
    drill.journal.write("runbook_state", remaining=runbook_state(t).remaining())
    return done


def _journaled(drill: Drill, role: str) -> dict[str, Any] | None:
    """The settings an instance had, as journaled before it was deleted (for a repeated failback)."""
    from drill.core.journal import iter_journal

    found = None
    for ev in iter_journal(drill.journal.path):
        if ev.event == "rds_settings" and ev.get("role") == role:
            found = ev.get("settings")
    return found
