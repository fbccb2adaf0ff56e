"""Every fault of the catalog: injected (its effect observed), undone, and the twin back to steady
state; the undo is journaled durably before the fault starts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drill import probes
from drill.config import load_config
from drill.faults import REGISTRY, FaultManager
from drill.journal import Journal, read_journal
from drill.targets import SandboxTarget, wait_until

CFG = load_config(profile="sandbox").config
API = CFG.fqdn("api")


@pytest.fixture(scope="module")
def target(sandbox_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxTarget]:
    journal = Journal(tmp_path_factory.mktemp("faults") / "journal.jsonl")
    t = SandboxTarget(load_config(profile="sandbox"), journal, start=False)
    yield t
    journal.close()


def _edge_region(t: SandboxTarget) -> str:
    return probes.http_get(t, API, "/health")[1]


def _replication(t: SandboxTarget) -> dict[str, Any]:
    return dict(t.control("GET", "/replication"))


def _failing_hcs(t: SandboxTarget) -> int:
    return sum(probes.health_check_failing(t, h) for h in probes.health_check_ids(t))


EFFECTS: dict[str, tuple[dict[str, Any], Callable[[SandboxTarget], bool]]] = {
    "region_outage": ({"role": "primary"}, lambda t: probes.http_get(t, API, "/projects/health")[1] == CFG.regions.dr.name),
    "health_endpoint_failing": ({"role": "primary"}, lambda t: _failing_hcs(t) >= 1),
    "primary_db_crash": ({"role": "primary"}, lambda t: t.control("GET", "/status")["parts"]["rds"]["healthy"] is False),
    "replication_stopped": ({}, lambda t: _replication(t)["rds"]["link_cut"] is True),
    "replication_lag": ({"delay_s": 2.5}, lambda t: _replication(t)["rds"]["link_delay_s"] == 2.5),
    "dynamodb_replication_paused": ({}, lambda t: _replication(t)["dynamodb"]["paused"] is True),
    "s3_replication_paused": ({}, lambda t: t.client("s3", CFG.regions.primary.name).get_bucket_replication(
        Bucket=CFG.s3.buckets[0].name)["ReplicationConfiguration"]["Rules"][0]["Status"] == "Disabled"),
    "health_check_inverted": ({}, lambda t: _failing_hcs(t) >= 1),
    "health_check_disabled": ({}, lambda t: all(
        h["HealthCheckConfig"].get("Disabled") for h in t.client("route53", "us-east-1").list_health_checks()["HealthChecks"])),
    "node_group_zero": ({"role": "dr"}, lambda t: probes.ready_nodes(t, "dr") == 0),
    "pod_kill": ({"role": "primary", "deployment": "auth-deployment"},
                 lambda t: probes.deployments_ready(t, "primary", CFG.app_namespace)["auth-deployment"][0] < 2),
}


def test_every_registered_fault_is_covered() -> None:
    assert set(EFFECTS) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_fault_is_injected_then_undone(name: str, target: SandboxTarget) -> None:
    params, effect = EFFECTS[name]
    assert target.journal is not None
    faults = FaultManager(target, target.journal)
    fault_id = faults.inject(name, **params)
    planned = [e for e in read_journal(target.journal.path) if e.event == "fault_planned" and e.get("fault_id") == fault_id]
    assert planned and planned[0].get("undo")["name"] == name
    try:
        wait_until(lambda: effect(target), 20, f"{name} observable", 0.05)
    finally:
        assert faults.revert_all()
    assert any(e.event == "fault_reverted" and e.get("fault_id") == fault_id for e in read_journal(target.journal.path))
    reset_needed = name in ("region_outage", "primary_db_crash", "replication_stopped")
    if reset_needed:  # a lost link or a dead server needs the replica rebuilt: what restore does
        target.reset()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        st = target.control("GET", "/status")
        if st["healthy"] and _edge_region(target) == CFG.regions.primary.name and _failing_hcs(target) == 0:
            break
        time.sleep(0.2)
    st = target.control("GET", "/status")
    assert st["healthy"], {k: v for k, v in st["parts"].items() if not v["healthy"]}
    assert _edge_region(target) == CFG.regions.primary.name
    repl = _replication(target)["rds"]
    assert repl["io_running"] and repl["sql_running"] and repl["source"] == "primary"


def test_a_fault_the_target_cannot_do_is_refused(target: SandboxTarget, tmp_path: Path) -> None:
    from drill.errors import InvalidInput

    faults = FaultManager(target, Journal(tmp_path / "j.jsonl"))
    with pytest.raises(InvalidInput, match="unknown fault"):
        faults.inject("meteor_strike")
