"""A region goes dark, done to each store as an outage does it, with the account's own APIs.

One AWS FIS experiment, whose duration is the drill's remaining time budget (so it heals itself
if the drill is gone): ``aws:network:disrupt-connectivity`` (scope all) on every subnet of the
region's VPC, ``aws:dynamodb:global-table-pause-replication`` on the policy's tables and
``aws:s3:bucket-pause-replication`` on its buckets there (where the target can pause them). No
FIS action pauses RDS replication: the other region's replica stops replicating at the fault
instant (``mysql.rds_stop_replication``), and the undo starts it again if it is still a replica.
"""

from __future__ import annotations

from typing import Any

from drill.core.calls import GLOBAL, Call, Ctx, aws, other
from drill.core.errors import InvalidInput
from drill.faults.registry import Fault, refuse_running_experiments, register
from drill.ops import fis, rds
from drill.targets.base import Target


def vpc_subnets(target: Target, role: str) -> list[str]:
    side = target.cfg.side(role)
    ec2 = target.client("ec2", side.region)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [side.vpc.vpc]}])["Vpcs"]
    if not vpcs:
        raise InvalidInput(f"VPC {side.vpc.vpc} not found in {side.region}")
    return [s["SubnetId"] for page in ec2.get_paginator("describe_subnets").paginate(
        Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}]) for s in page["Subnets"]]


@register
class RegionOutage(Fault):
    name = "region_outage"
    description = ("a region goes dark: its VPC's network cut, its global-table and S3 replication paused "
                   "(one AWS FIS experiment), RDS replication stopped on the other region's replica")
    heals = ("network cut and replication pauses: the FIS experiment ends after its duration; "
             "RDS replication: no (undo: mysql.rds_start_replication)")
    params = {"role": str, "duration_s": (int, float)}
    state = {"region": str, "subnets": list, "tables": list, "buckets": list, "experiment_id": str,
             "template_id": str, "rds_stopped": bool, "in_effect": dict}

    def preflight(self, target: Target) -> None:
        if not vpc_subnets(target, "primary"):  # a VPC not found is refused there
            side = target.cfg.side("primary")
            raise InvalidInput(f"VPC {side.vpc.vpc} in {side.region} has no subnet: region_outage would cut nothing")

    def capture(self, target: Target, role: str = "primary", duration_s: float | None = None) -> dict[str, Any]:
        side = target.cfg.side(role)
        refuse_running_experiments(self.name, target, side.region)
        acct = target.account
        return {"role": role, "region": side.region,
                "duration_s": float(duration_s or target.cfg.stop.time_budget_s),
                "subnets": [f"arn:aws:ec2:{side.region}:{acct}:subnet/{s}" for s in vpc_subnets(target, role)],
                "tables": [f"arn:aws:dynamodb:{side.region}:{acct}:table/{t.name}" for t in target.cfg.dynamodb.tables]
                if target.can("pause:dynamodb") else [],
                "buckets": [f"arn:aws:s3:::{b}" for b in side.buckets] if target.can("pause:s3") else []}

    def inject(self, target: Target, role: str = "primary", region: str = "", duration_s: float = 600,
               subnets: list[str] | None = None, tables: list[str] | None = None,
               buckets: list[str] | None = None, fault_tag: str = "", **_: Any) -> dict[str, Any]:
        duration = fis.iso_duration(duration_s)
        actions: dict[str, Any] = {"cut-network": {"actionId": "aws:network:disrupt-connectivity",
                                                   "parameters": {"duration": duration, "scope": "all"},
                                                   "targets": {"Subnets": "subnets"}}}
        targets: dict[str, Any] = {"subnets": {"resourceType": "aws:ec2:subnet", "resourceArns": subnets or [],
                                               "selectionMode": "ALL"}}
        if tables:
            actions["pause-global-tables"] = {"actionId": "aws:dynamodb:global-table-pause-replication",
                                              "parameters": {"duration": duration}, "targets": {"Tables": "tables"}}
            targets["tables"] = {"resourceType": "aws:dynamodb:global-table", "resourceArns": tables,
                                 "selectionMode": "ALL"}
        if buckets:
            actions["pause-crr"] = {"actionId": "aws:s3:bucket-pause-replication",
                                    "parameters": {"duration": duration,
                                                   "region": target.cfg.side(target.cfg.side(role).other).region},
                                    "targets": {"Buckets": "buckets"}}
            targets["buckets"] = {"resourceType": "aws:s3:bucket", "resourceArns": buckets, "selectionMode": "ALL"}
        started = fis.start(target, region, actions, targets, f"drill {fault_tag}: {self.description}",
                            target.cfg.measure.action_deadline_s, {"drill:fault": fault_tag})
        replica = target.cfg.side(role).other
        stopped = False
        if rds.is_replica(rds.instance(target, replica)):
            rds.set_replication(target, replica, running=False)
            stopped = True
        starts = started["action_starts"]
        cut = starts.get("cut-network")
        # when each store's copy stopped receiving (what an account's FIS reports per action): writes
        # acknowledged later exist only because a simulated outage leaves that region's APIs up
        return {"experiment_id": started["experiment_id"], "template_id": started["template_id"],
                "rds_stopped": stopped, "in_effect": {"rds": cut, "dynamodb": starts.get("pause-global-tables", cut),
                                                      "s3": starts.get("pause-crr", cut)}}

    def undo(self, target: Target, role: str = "primary", region: str = "", experiment_id: str = "",
             template_id: str = "", rds_stopped: bool = False, fault_tag: str = "", **_: Any) -> None:
        if region != target.cfg.side(role).region:
            raise InvalidInput(f"region_outage undo: region {region!r} is not the {role} region")
        deadline = target.cfg.measure.action_deadline_s
        if experiment_id:
            fis.stop(target, region, experiment_id, template_id, deadline)
        else:  # killed between starting it and journaling it: find it by its tag
            api = target.client("fis", region)
            for page in api.get_paginator("list_experiments").paginate():
                for exp in page["experiments"]:
                    if exp.get("tags", {}).get("drill:fault") == fault_tag:
                        fis.stop(target, region, exp["id"], exp.get("experimentTemplateId"), deadline)
        replica = target.cfg.side(role).other
        if rds_stopped and rds.is_replica(rds.instance(target, replica)):
            rds.set_replication(target, replica, running=True)

    def calls(self, ctx: Ctx) -> list[Call]:
        r = ctx.region("primary")
        return [aws("ec2", "DescribeVpcs", r, "*", note=f"VPC {ctx.cfg.network.primary.vpc}"),
                aws("ec2", "DescribeSubnets", r, "*"),
                aws("cloudwatch", "DescribeAlarms", r, tuple(ctx.alarm(r, a) for a in ctx.cfg.stop.alarms),
                    note="the stop alarms: the experiment's stop conditions"),
                aws("fis", "CreateExperimentTemplate", r, ctx.experiment("primary"), True,
                    "network cut + global-table and CRR pause, for the remaining time budget"),
                aws("iam", "PassRole", GLOBAL, ctx.role(ctx.cfg.aws.fis_role), False, "the FIS role"),
                aws("fis", "StartExperiment", r, ctx.experiment("primary"), True),
                aws("fis", "GetExperiment", r, ctx.experiment("primary")),
                aws("fis", "ListExperiments", r, ctx.experiment("primary")),
                aws("fis", "StopExperiment", r, ctx.experiment("primary"), True, "undo"),
                aws("fis", "DeleteExperimentTemplate", r, ctx.experiment("primary"), True, "undo"),
                aws("rds", "DescribeDBInstances", ctx.region("dr"), ctx.db("dr")),
                aws("secretsmanager", "GetSecretValue", r, ctx.secret("primary", ctx.cfg.rds.admin_secret),
                    note="the master login"),
                other("mysql", ctx.cfg.rds.replica.id, "CALL mysql.rds_stop_replication / rds_start_replication",
                      [ctx.db("dr")], True, "at the fault instant; started again on undo", ctx.region("dr"))]

