"""Steady state, as an account shows it: every routed name answers its health path from the
primary region; the policy's health checks report healthy (an observation, not "not yet
checked"); their alarm is OK; the DR instance is a replica of the primary with a ReplicaLag under
the policy's threshold (CloudWatch); the records point at the primary region."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drill.core.calls import GLOBAL
from drill.core.errors import ActionFailed
from drill.core.waits import wait_until
from drill.engine.results import SteadyState
from drill.ops import cloudwatch, rds, route53

if TYPE_CHECKING:
    from drill.engine.drill import Drill


def steady_state(drill: Drill) -> SteadyState:
    cfg, t = drill.cfg, drill.target
    primary = cfg.side("primary").region
    problems: list[str] = []
    for host in cfg.routed_hosts():
        ans = drill.web.get(cfg.fqdn(host), cfg.route53.health_check.path)
        if not (ans.ok and ans.region == primary):
            problems.append(f"{ans.host}: HTTP {ans.status} from {ans.region or ans.address or 'nowhere'}"
                            + (f" ({ans.error})" if ans.error else ""))
    checks = route53.health_check_ids(t)
    failing = [h for h in checks if route53.health_failing(t, h)]
    if failing:
        problems.append(f"health checks not healthy: {failing}")
    ha = cfg.route53.health_check.alarm
    alarmed = [a["AlarmName"] for a in cloudwatch.alarms(t, GLOBAL, prefix=ha.name) if a.get("StateValue") == "ALARM"]
    if alarmed:
        problems.append(f"alarms in ALARM: {alarmed}")
    replica = rds.instance(t, "dr")
    if not rds.is_replica(replica) or not str(replica.get("ReadReplicaSourceDBInstanceIdentifier")).endswith(
            cfg.rds.primary.id):
        problems.append(f"{cfg.rds.replica.id} is not a read replica of {cfg.rds.primary.id}")
    lag = rds.replica_lag_s(t, "dr")
    if lag is None:
        problems.append("no ReplicaLag datapoint in CloudWatch")
    elif lag < 0 or lag > cfg.rds.lag_threshold_s:
        problems.append(f"ReplicaLag {lag:g} s (replication not running)" if lag < 0 else
                        f"ReplicaLag {lag:g} s > threshold {cfg.rds.lag_threshold_s:g} s")
    primary_lbs = {lb.dns for lb in route53.primary_lbs(t).values()}
    off = [name for name, dns in route53.records_at(t).items() if dns not in primary_lbs]
    if off:
        problems.append(f"records not at the primary region: {off}")
    result = SteadyState(not problems, problems, lag)
    drill.journal.write("steady_state", ok=result.ok, problems=problems, replica_lag_s=lag)
    return result


def wait_steady(drill: Drill, deadline_s: float = 60.0) -> SteadyState:
    last = SteadyState(False, ["not checked"])

    def ok() -> bool:
        nonlocal last
        last = steady_state(drill)
        return last.ok

    try:
        wait_until(ok, deadline_s, "steady state", interval_s=0.5)
    except ActionFailed:
        pass
    return last
