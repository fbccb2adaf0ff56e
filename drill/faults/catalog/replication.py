"""Faults of replication. With an account's APIs on every target: global-table and S3 replication
paused (AWS FIS's pause actions: they heal themselves after their duration), RDS replication
stopped on the replica (``mysql.rds_stop_replication``). Twin-only, because no account API makes
them: a replication lag (a network condition) and a crashed database server."""

from __future__ import annotations

from typing import Any

from drill.core.calls import Call, Ctx, aws, other
from drill.core.errors import InvalidInput
from drill.faults.registry import Fault, refuse_running_experiments, register
from drill.ops import fis, rds
from drill.targets.base import Target


class _FisPause(Fault):
    action = ""
    resource_type = ""
    target_key = ""
    heals = "the FIS experiment ends after its duration"
    params = {"duration_s": (int, float)}
    state = {"region": str, "arns": list, "experiment_id": str, "template_id": str}

    def arns(self, target: Target) -> list[str]:
        raise NotImplementedError

    def capture(self, target: Target, duration_s: float | None = None) -> dict[str, Any]:
        refuse_running_experiments(self.name, target, target.cfg.side("primary").region)
        return {"region": target.cfg.side("primary").region, "arns": self.arns(target),
                "duration_s": float(duration_s or target.cfg.stop.time_budget_s)}

    def inject(self, target: Target, region: str = "", arns: list[str] | None = None, duration_s: float = 600,
               fault_tag: str = "", **_: Any) -> dict[str, Any]:
        key = self.target_key
        params: dict[str, Any] = {"duration": fis.iso_duration(duration_s)}
        if self.action.startswith("aws:s3"):
            params["region"] = target.cfg.side("dr").region
        started = fis.start(target, region, {"pause": {"actionId": self.action, "parameters": params,
                                                       "targets": {key: "resources"}}},
                            {"resources": {"resourceType": self.resource_type, "resourceArns": arns or [],
                                           "selectionMode": "ALL"}},
                            f"drill {fault_tag}: {self.description}", target.cfg.measure.action_deadline_s,
                            {"drill:fault": fault_tag})
        return {"experiment_id": started["experiment_id"], "template_id": started["template_id"]}

    def undo(self, target: Target, region: str = "", experiment_id: str = "", template_id: str = "", **_: Any) -> None:
        if region != target.cfg.side("primary").region:
            raise InvalidInput(f"{self.name} undo: region {region!r} is not the primary region")
        if experiment_id:
            fis.stop(target, region, experiment_id, template_id, target.cfg.measure.action_deadline_s)

    def calls(self, ctx: Ctx) -> list[Call]:
        r = ctx.region("primary")
        return [aws("fis", "ListExperiments", r, ctx.experiment("primary"), note="no drill's experiment running"),
                aws("cloudwatch", "DescribeAlarms", r, tuple(ctx.alarm(r, a) for a in ctx.cfg.stop.alarms),
                    note="the stop alarms: the experiment's stop conditions"),
                aws("fis", "CreateExperimentTemplate", r, ctx.experiment("primary"), True, self.action),
                aws("fis", "StartExperiment", r, ctx.experiment("primary"), True),
                aws("fis", "GetExperiment", r, ctx.experiment("primary")),
                aws("fis", "StopExperiment", r, ctx.experiment("primary"), True, "undo"),
                aws("fis", "DeleteExperimentTemplate", r, ctx.experiment("primary"), True, "undo")]


@register
class DynamoPaused(_FisPause):
    name = "dynamodb_replication_paused"
    description = "global-table replication out of the primary region pauses (changes queue up)"
    requires = frozenset({"pause:dynamodb"})
    action = "aws:dynamodb:global-table-pause-replication"
    resource_type = "aws:dynamodb:global-table"
    target_key = "Tables"

    def arns(self, target: Target) -> list[str]:
        region = target.cfg.side("primary").region
        return [f"arn:aws:dynamodb:{region}:{target.account}:table/{t.name}" for t in target.cfg.dynamodb.tables]


@register
class S3Paused(_FisPause):
    name = "s3_replication_paused"
    description = "S3 cross-region replication out of the primary buckets pauses"
    requires = frozenset({"pause:s3"})
    action = "aws:s3:bucket-pause-replication"
    resource_type = "aws:s3:bucket"
    target_key = "Buckets"

    def arns(self, target: Target) -> list[str]:
        return [f"arn:aws:s3:::{b}" for b in target.cfg.side("primary").buckets]


@register
class ReplicationStopped(Fault):
    name = "replication_stopped"
    description = "RDS replication stops on the DR replica (mysql.rds_stop_replication)"

    def inject(self, target: Target, **_: Any) -> dict[str, Any]:
        rds.set_replication(target, "dr", running=False)
        return {}

    def undo(self, target: Target, **_: Any) -> None:
        if rds.is_replica(rds.instance(target, "dr")):
            rds.set_replication(target, "dr", running=True)

    def calls(self, ctx: Ctx) -> list[Call]:
        return [other("mysql", ctx.cfg.rds.replica.id, "CALL mysql.rds_stop_replication / rds_start_replication",
                      [ctx.db("dr")], True, region=ctx.region("dr"))]


@register
class ReplicationLag(Fault):
    name = "replication_lag"
    description = "cross-region RDS replication runs delay_s behind (a network condition)"
    requires = frozenset({"twin"})
    twin_only = True
    params = {"delay_s": (int, float)}
    state = {"previous_s": (int, float)}

    def capture(self, target: Target, delay_s: float = 5.0) -> dict[str, Any]:
        return {"delay_s": float(delay_s),
                "previous_s": float(target.twin.replication()["rds"].get("link_delay_s") or 0.0)}

    def inject(self, target: Target, delay_s: float = 5.0, **_: Any) -> dict[str, Any]:
        target.twin.set_replication("rds", delay_s=delay_s)
        return {}

    def undo(self, target: Target, previous_s: float = 0.0, **_: Any) -> None:
        target.twin.set_replication("rds", delay_s=previous_s)

    def calls(self, ctx: Ctx) -> list[Call]:
        return [other("twin", "control", "replication delay", ["the twin's network"], True, "twin-only")]


@register
class PrimaryDbCrash(Fault):
    name = "primary_db_crash"
    description = "a region's database server dies"
    requires = frozenset({"twin"})
    twin_only = True
    params = {"role": str}

    def inject(self, target: Target, role: str = "primary", **_: Any) -> dict[str, Any]:
        target.twin.db_server(role, "stop")
        return {}

    def undo(self, target: Target, role: str = "primary", **_: Any) -> None:
        if role not in ("primary", "dr"):
            raise InvalidInput(f"primary_db_crash undo: role {role!r}")
        target.twin.db_server(role, "start")

    def calls(self, ctx: Ctx) -> list[Call]:
        return [other("twin", "control", "database server stop, then start", ["the twin's database"], True,
                      "twin-only")]
