"""AWS FIS experiments, run: moto keeps experiments as state only; the twin applies the actions
the drill uses, keeps the experiment running for its actions' duration, then undoes them and
marks it completed (StopExperiment undoes at once and marks it stopped; an alarm of the
template's stop conditions in ALARM stops it too). So a fault made as an experiment heals
itself when its duration ends even if the drill is gone, as on an account.

Actions: ``aws:network:disrupt-connectivity`` (scope all: the target subnets moved to a new
network ACL that allows nothing, as FIS does; undo moves them back and deletes it),
``aws:dynamodb:global-table-pause-replication`` (the tables' replication out of that region
held) and ``aws:s3:bucket-pause-replication`` (the buckets' CRR held). Any other action fails
the experiment with a reason, as an unsupported action fails on an account.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.fis.models import Experiment, FISBackend
from moto.moto_api import state_manager

from sandbox.replication.dynamodb import source_name

_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
_runner: list[FisRunner] = []


def duration_s(text: str | None) -> float:
    m = _DURATION.match(text or "")
    if not m or not any(m.groups()):
        raise ValueError(f"duration {text!r}: expected ISO 8601 like PT10M")
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


class FisRunner:
    def __init__(self, ec2: Callable[[str], Any], pause: Callable[[str, str, bool], None],
                 alarm_state: Callable[[str], str | None]):
        self.ec2 = ec2  # region -> the emulator's EC2 backend
        self.pause = pause  # (kind "dynamodb"/"s3", source, paused)
        self.alarm_state = alarm_state  # alarm ARN -> state
        self.undo: dict[str, list[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self.log: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self, exp: Experiment) -> None:
        exp.status = "initiating"
        self.undo[exp.id] = []
        threading.Thread(target=self._run, args=(exp,), name=f"fis-{exp.id[:8]}", daemon=True).start()

    def _run(self, exp: Experiment) -> None:
        end = time.monotonic()
        for name, action in exp.actions.items():
            try:
                end = max(end, time.monotonic() + duration_s((action.get("parameters") or {}).get("duration")))
                action["startTime"] = time.time()
                self._apply(exp, action)
                action["state"] = {"status": "running", "reason": "Action is running"}
            except Exception as exc:
                action["state"] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:300]}
                self.log.append({"at": time.time(), "experiment": exp.id, "action": name, "error": str(exc)[:300]})
                self.finish(exp, "failed", f"action {name} failed: {exc}"[:300])
                return
        exp.status = "running"
        while time.monotonic() < end and exp.status == "running":
            alarm = next((s["value"] for s in exp.stop_conditions or []
                          if s.get("source") == "aws:cloudwatch:alarm" and self.alarm_state(s.get("value", "")) == "ALARM"),
                         None)
            if alarm:
                self.finish(exp, "stopped", f"stop condition {alarm} in ALARM")
                return
            time.sleep(0.1)
        if exp.status == "running":
            self.finish(exp, "completed", "Experiment completed")

    def finish(self, exp: Experiment, status: str, reason: str) -> None:
        with self._lock:
            undos = self.undo.pop(exp.id, [])
        for undo in reversed(undos):
            try:
                undo()
            except Exception as exc:
                self.log.append({"at": time.time(), "experiment": exp.id, "undo_error": str(exc)[:300]})
        for action in exp.actions.values():
            if action.get("state", {}).get("status") == "running":
                action["state"] = {"status": status, "reason": reason}
                action["endTime"] = time.time()
        exp.status = status
        exp.drill_reason = reason  # type: ignore[attr-defined]  # the twin's own, on moto's object
        exp.end_time = time.time()

    def stop(self, exp: Experiment) -> None:
        if exp.status in ("initiating", "running", "pending"):
            exp.status = "stopping"
            threading.Thread(target=self.finish, args=(exp, "stopped", "Experiment stopped"), daemon=True).start()

    # ------------------------------------------------------------------ actions

    def _targets(self, exp: Experiment, action: dict[str, Any]) -> list[str]:
        arns: list[str] = []
        for target_name in (action.get("targets") or {}).values():
            arns += (exp.targets.get(target_name) or {}).get("resourceArns") or []
        if not arns:
            raise ValueError("no target resources (the twin resolves targets given by ARN)")
        return arns

    def _apply(self, exp: Experiment, action: dict[str, Any]) -> None:
        kind = action.get("actionId")
        arns = self._targets(exp, action)
        if kind == "aws:network:disrupt-connectivity":
            if (action.get("parameters") or {}).get("scope", "all") != "all":
                raise ValueError("the twin supports scope all")
            self._cut(exp, arns)
        elif kind == "aws:dynamodb:global-table-pause-replication":
            for arn in arns:
                region, table = arn.split(":")[3], arn.split("/", 1)[1]
                self.pause("dynamodb", source_name(table, region), True)

                def resume_table(t: str = table, r: str = region) -> None:
                    self.pause("dynamodb", source_name(t, r), False)

                self.undo[exp.id].append(resume_table)
        elif kind == "aws:s3:bucket-pause-replication":
            for arn in arns:
                bucket = arn.split(":::", 1)[1]
                self.pause("s3", bucket, True)

                def resume_bucket(b: str = bucket) -> None:
                    self.pause("s3", b, False)

                self.undo[exp.id].append(resume_bucket)
        else:
            raise ValueError(f"{kind}: not an action the twin runs")

    def _cut(self, exp: Experiment, arns: list[str]) -> None:
        by_region: dict[str, list[str]] = {}
        for arn in arns:
            by_region.setdefault(arn.split(":")[3], []).append(arn.rsplit("/", 1)[1])
        for region, subnets in by_region.items():
            ec2 = self.ec2(region)
            vpc_id = ec2.get_subnet(subnets[0]).vpc_id
            acl = ec2.create_network_acl(vpc_id, tags=[{"Key": "managedByFIS", "Value": "true"}])
            original: dict[str, str] = {}
            for subnet in subnets:
                for other in ec2.describe_network_acls(filters={"association.subnet-id": [subnet]}):
                    assoc = next(a for a in other.associations if a.subnet_id == subnet)
                    original[subnet] = other.id
                    ec2.replace_network_acl_association(assoc.id, acl.id)

            def undo(ec2: Any = ec2, acl_id: str = acl.id, original: dict[str, str] = original) -> None:
                for subnet, acl_back in original.items():
                    for current in ec2.describe_network_acls(filters={"association.subnet-id": [subnet]}):
                        assoc = next(a for a in current.associations if a.subnet_id == subnet)
                        if current.id != acl_back:
                            ec2.replace_network_acl_association(assoc.id, acl_back)
                ec2.delete_network_acl(acl_id)

            self.undo[exp.id].append(undo)


def install(runner: FisRunner) -> None:
    """Experiments stay in the state the runner gives them (moto would advance them by itself)."""
    _runner[:] = [runner]
    state_manager.set_transition(model_name="fis::experiment", transition={"progression": "manual",
                                                                            "times": 10**9})
    original_start = FISBackend.start_experiment
    original_stop = FISBackend.stop_experiment
    original_sync = Experiment._sync_state

    def start(self: FISBackend, *args: Any, **kwargs: Any) -> dict[str, Any]:
        result = original_start(self, *args, **kwargs)
        exp = self.experiments[result["id"]]
        exp.drill_managed = True  # type: ignore[attr-defined]  # the twin's own, on moto's object
        _runner[0].start(exp)
        return dict(exp.to_dict(tags=self.tagger.get_tag_dict_for_resource(exp.arn)))

    def stop(self: FISBackend, id: str) -> dict[str, Any]:  # noqa: A002 - moto's name
        exp = self.experiments.get(id)
        if exp is not None and getattr(exp, "drill_managed", False):
            _runner[0].stop(exp)
            return dict(exp.to_dict(tags=self.tagger.get_tag_dict_for_resource(exp.arn)))
        return dict(original_stop(self, id))

    def sync(self: Experiment) -> str:
        if not getattr(self, "drill_managed", False):
            return str(original_sync(self))
        return str(self._status)

    original_to_dict = Experiment.to_dict

    def to_dict(self: Experiment, tags: dict[str, str] | None = None) -> dict[str, Any]:
        out = dict(original_to_dict(self, tags))
        reason = getattr(self, "drill_reason", None)
        if reason:
            out["state"] = {"status": self._status, "reason": reason}
        return out

    FISBackend.start_experiment = start  # type: ignore[method-assign]
    FISBackend.stop_experiment = stop  # type: ignore[method-assign]
    Experiment._sync_state = sync  # type: ignore[method-assign]
    Experiment.to_dict = to_dict  # type: ignore[method-assign]
