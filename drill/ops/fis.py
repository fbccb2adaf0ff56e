"""AWS FIS: a fault as an experiment with a duration, so it ends by itself even if the drill is
gone (the dead-man's switch). Create a template with the actions and their targets by ARN, start
it, wait until it runs; stop it, wait until it stopped; delete the template."""

from __future__ import annotations

import uuid
from typing import Any

from drill.core.errors import ActionFailed
from drill.core.waits import wait_value
from drill.targets.base import Target

TERMINAL = ("completed", "stopped", "failed", "cancelled")


def iso_duration(seconds: float) -> str:
    return f"PT{max(1, int(seconds))}S"


def stop_alarms(target: Target, region: str) -> list[str]:
    """The ARNs of the config's stop alarms that exist in ``region`` (FIS stops the experiment when
    one goes to ALARM, even if the drill is gone)."""
    names = list(target.cfg.stop.alarms)
    if not names:
        return []
    found = target.client("cloudwatch", region).describe_alarms(AlarmNames=names)["MetricAlarms"]
    return [str(a["AlarmArn"]) for a in found]


def drill_experiments(target: Target, region: str) -> list[tuple[str, str]]:
    """(experiment id, drill:fault tag) of the experiments of a drill still running in ``region``."""
    fis = target.client("fis", region)
    out = []
    for page in fis.get_paginator("list_experiments").paginate():
        for exp in page["experiments"]:
            tag = exp.get("tags", {}).get("drill:fault")
            if tag and exp.get("state", {}).get("status") not in TERMINAL:
                out.append((str(exp["id"]), str(tag)))
    return out


def start(target: Target, region: str, actions: dict[str, dict[str, Any]], targets: dict[str, dict[str, Any]],
          description: str, deadline_s: float, tags: dict[str, str]) -> dict[str, Any]:
    fis = target.client("fis", region)
    role = f"arn:aws:iam::{target.account}:role/{target.cfg.aws.fis_role}"
    stops = [{"source": "aws:cloudwatch:alarm", "value": a} for a in stop_alarms(target, region)] or [
        {"source": "none"}]
    template = fis.create_experiment_template(clientToken=uuid.uuid4().hex, description=description[:512],
                                              roleArn=role, actions=actions, targets=targets, stopConditions=stops,
                                              tags=tags)["experimentTemplate"]["id"]
    exp = fis.start_experiment(clientToken=uuid.uuid4().hex, experimentTemplateId=template, tags=tags)["experiment"]
    state = wait_value(lambda: fis.get_experiment(id=exp["id"])["experiment"]["state"],
                       lambda s: s["status"] in ("running",) + TERMINAL, deadline_s, "FIS experiment running", 0.2)
    if state["status"] != "running":
        failed = fis.get_experiment(id=exp["id"])["experiment"].get("actions", {})
        detail = "; ".join(f"{n}: {a.get('state', {}).get('reason')}" for n, a in failed.items()
                           if a.get("state", {}).get("status") == "failed")
        raise ActionFailed(f"FIS experiment {exp['id']} {state['status']}: {state.get('reason')}"
                           + (f" ({detail})" if detail else ""))
    started = {name: a["startTime"].timestamp() for name, a in
               fis.get_experiment(id=exp["id"])["experiment"].get("actions", {}).items() if a.get("startTime")}
    return {"template_id": template, "experiment_id": exp["id"], "region": region, "action_starts": started}


def status(target: Target, region: str, experiment_id: str) -> str:
    return str(target.client("fis", region).get_experiment(id=experiment_id)["experiment"]["state"]["status"])


def stop(target: Target, region: str, experiment_id: str, template_id: str | None, deadline_s: float) -> str:
    """Stop it if it still runs, wait until it ended, delete the template (idempotent)."""
    fis = target.client("fis", region)
    try:
        current = status(target, region, experiment_id)
    except fis.exceptions.ResourceNotFoundException:
        current = "stopped"
    if current not in TERMINAL:
        fis.stop_experiment(id=experiment_id)
        current = wait_value(lambda: status(target, region, experiment_id), lambda s: s in TERMINAL, deadline_s,
                             "FIS experiment stopped", 0.2)
    if template_id:
        try:
            fis.delete_experiment_template(id=template_id)
        except fis.exceptions.ResourceNotFoundException:
            pass
    return current
