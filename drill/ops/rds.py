"""RDS: the instances by role, their logins (Secrets Manager), replica lag (CloudWatch), and the
runbook's steps: promote a replica, stop and start a replica's replication (RDS for MySQL's
``mysql.rds_stop_replication``), and rebuild an instance as a replica of the other region's
writer with the settings the old one had (final snapshot first, deletion waited for).

Every waiter has a deadline and starts only after the status changed (``wait_transition``).
"""

from __future__ import annotations

import time
from typing import Any, TypeGuard

import pymysql

from drill.core.errors import ActionFailed
from drill.core.waits import wait_transition, wait_until
from drill.targets.base import Target


def instance(target: Target, role: str) -> dict[str, Any] | None:
    side = target.cfg.side(role)
    rds = target.client("rds", side.region)
    try:
        return dict(rds.describe_db_instances(DBInstanceIdentifier=side.db.id)["DBInstances"][0])
    except rds.exceptions.DBInstanceNotFoundFault:
        return None


def is_replica(desc: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    return bool(desc and desc.get("ReadReplicaSourceDBInstanceIdentifier"))


def status(target: Target, role: str) -> str:
    desc = instance(target, role)
    return str(desc["DBInstanceStatus"]) if desc else "deleted"


def login(target: Target, admin: bool = False) -> tuple[str, str]:
    data = target.secret_json(target.cfg.rds.admin_secret if admin else target.cfg.rds.login_secret)
    return str(data["username"]), str(data["password"])


def endpoint(target: Target, role: str) -> tuple[str, int]:
    desc = instance(target, role)
    if desc is None:
        raise ActionFailed(f"{target.cfg.side(role).db.id}: no such instance")
    return str(desc["Endpoint"]["Address"]), int(desc["Endpoint"]["Port"])


def connect(target: Target, role: str, admin: bool = False, timeout: float = 3.0,
            where: tuple[str, int] | None = None) -> pymysql.connections.Connection[Any]:
    host, port = where or endpoint(target, role)
    user, password = login(target, admin)
    return pymysql.connect(host=host, port=port, user=user, password=password, database=target.cfg.rds.database,
                           connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout, autocommit=True)


def writable(target: Target, role: str) -> bool:
    with connect(target, role) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@read_only")
        row = cur.fetchone()
        return row is not None and int(row[0]) == 0


def replica_lag_s(target: Target, role: str = "dr") -> float | None:
    """The latest ReplicaLag datapoint CloudWatch has for the instance (-1: replication not running),
    or None when there is none in the last five periods."""
    side = target.cfg.side(role)
    period = target.cfg.measure.metric_period_s
    now = time.time()
    points = target.client("cloudwatch", side.region).get_metric_statistics(
        Namespace="AWS/RDS", MetricName="ReplicaLag", Dimensions=[{"Name": "DBInstanceIdentifier", "Value": side.db.id}],
        StartTime=now - 5 * period - 1, EndTime=now + 1, Period=period, Statistics=["Maximum"])["Datapoints"]
    if not points:
        return None
    return float(max(points, key=lambda p: p["Timestamp"])["Maximum"])


def promote(target: Target, role: str, deadline_s: float) -> dict[str, Any]:
    """``aws rds promote-read-replica``, then wait until the instance is available and writable."""
    side = target.cfg.side(role)
    rds = target.client("rds", side.region)
    rds.promote_read_replica(DBInstanceIdentifier=side.db.id)
    seen = wait_transition(lambda: status(target, role), "available", deadline_s, f"{side.db.id} promoted",
                           change_s=min(10.0, deadline_s))
    wait_until(lambda: writable(target, role), deadline_s, f"{side.db.id} writable")
    desc = instance(target, role) or {}
    return {"instance": side.db.id, "statuses": seen, "source_after": desc.get("ReadReplicaSourceDBInstanceIdentifier")}


def set_replication(target: Target, role: str, running: bool) -> None:
    """``CALL mysql.rds_stop_replication`` / ``rds_start_replication`` on the replica (master login)."""
    proc = "mysql.rds_start_replication" if running else "mysql.rds_stop_replication"
    if target.journal is not None:
        target.journal.write("db_call", durable=True, instance=target.cfg.side(role).db.id, call=f"CALL {proc}")
    with connect(target, role, admin=True) as conn, conn.cursor() as cur:
        cur.execute(f"CALL {proc}()")


SETTINGS = ("DBInstanceClass", "MultiAZ", "BackupRetentionPeriod", "KmsKeyId", "StorageEncrypted")


def settings_of(desc: dict[str, Any]) -> dict[str, Any]:
    """What a rebuilt replica must keep of the instance it replaces."""
    out = {k: desc[k] for k in SETTINGS if k in desc}
    out["DBSubnetGroupName"] = (desc.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
    out["VpcSecurityGroupIds"] = [g["VpcSecurityGroupId"] for g in desc.get("VpcSecurityGroups", [])]
    out["DBParameterGroupName"] = next((g["DBParameterGroupName"] for g in desc.get("DBParameterGroups", [])), None)
    return {k: v for k, v in out.items() if v not in (None, [])}


def rebuild_as_replica(target: Target, role: str, deadline_s: float,
                       settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Replace ``role``'s instance by a new read replica of the other region's writer, under the
    policy's own id and with the old instance's settings: final snapshot, delete, wait until it is
    gone, create the replica, wait until it is available. ``settings`` (captured and journaled
    earlier) stands in when the instance is already gone."""
    side, source = target.cfg.side(role), target.cfg.side(target.cfg.side(role).other)
    rds = target.client("rds", side.region)
    desc = instance(target, role)
    settings = settings_of(desc) if desc else dict(settings or {})
    snapshot = None
    if desc is not None:
        snapshot = f"drill-final-{side.db.id}-{time.strftime('%Y%m%d%H%M%S')}"
        rds.delete_db_instance(DBInstanceIdentifier=side.db.id, FinalDBSnapshotIdentifier=snapshot,
                               DeleteAutomatedBackups=False)
        wait_until(lambda: instance(target, role) is None, deadline_s, f"{side.db.id} deleted", 0.5)
    source_arn = (instance(target, source.role) or {}).get("DBInstanceArn")
    if not source_arn:
        raise ActionFailed(f"{source.db.id}: the writer to replicate from is missing")
    create = dict(settings)
    if not create.pop("StorageEncrypted", None):
        create.pop("KmsKeyId", None)
    retention = create.pop("BackupRetentionPeriod", None)  # set once it exists: a replica is created without it
    rds.create_db_instance_read_replica(DBInstanceIdentifier=side.db.id, SourceDBInstanceIdentifier=source_arn,
                                        SourceRegion=source.region, **create)
    seen = wait_transition(lambda: status(target, role), "available", deadline_s, f"{side.db.id} created",
                           change_s=min(10.0, deadline_s))
    if retention and (instance(target, role) or {}).get("BackupRetentionPeriod") != retention:
        rds.modify_db_instance(DBInstanceIdentifier=side.db.id, BackupRetentionPeriod=retention, ApplyImmediately=True)
        wait_until(lambda: status(target, role) == "available", deadline_s, f"{side.db.id} backup retention set")
    return {"instance": side.db.id, "region": side.region, "source": source_arn, "final_snapshot": snapshot,
            "settings": settings, "statuses": seen}
