"""The quarterly drill on an account, rehearsed against a twin reached as an account is
(`eval $(drill sandbox env)`, then `drill run --target aws --confirm <account>`), with the sandbox
profile's short clocks as --set values. This twin is its own, started with an RDS replication
delay, on its own loopback addresses.

- every scenario passes, the same scenarios `--target sandbox` collects, with the load run as locust
  workers in a Deployment in the DR cluster (``load.mode: kubernetes``, the twin's kubelet running
  each pod as a process) streaming every request to the drill's master, removed at the end;
- the RDS RPO is the delay the twin was started with (within 0.25 s);
- the DNS phase lasts at least the record TTL applied;
- the Route 53 records, the databases' roles and the node groups are as they were before;
- every AWS call the drill made is in `drill plan --target aws` and granted by `drill iam-policy`;
- an interrupted run names the one command that returns its runbook changes, and that command does.
"""

from __future__ import annotations

import json
import shlex
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drill.core.journal import iter_journal
from drill.plan.arns import arn_of
from drill.plan.catalogue import all_calls
from drill.plan.iam import grants
from tests.conftest import (
    CFG,
    account_env,
    drill,
    events_of,
    leftovers,
    only_drill,
    sandbox_sets,
    start_drill,
    wait_journal,
    world,
)
from tests.test_load_kubernetes import MODE as LOAD_AS_PODS
from tests.test_load_kubernetes import NONE_LEFT, _until, workers_left

DELAY_S = 1.5
ACCOUNT = CFG.policy.accounts[0]


@pytest.fixture(scope="module")
def delayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    base = tmp_path_factory.mktemp("delayed-twin")
    base.chmod(0o700)
    runtime = {"DRILL_RUNTIME_DIR": str(base / "run")}
    drill("sandbox", "up", "--set", f"sandbox.rds.replication_delay_s={DELAY_S}", "--set",
          "sandbox.address_block='127.78'", env=runtime, check=True, timeout=180)
    try:
        yield account_env(runtime)
    finally:
        drill("sandbox", "down", env=runtime, check=True)


def _run_aws(env: dict[str, str], reports: Path, *extra: str) -> Any:
    return drill("run", "--target", "aws", "--confirm", ACCOUNT, "--reports", str(reports), *sandbox_sets(),
                 *extra, env=env, timeout=900)


def _recorded_calls(folder: Path) -> list[dict[str, Any]]:
    calls = [e for e in iter_journal(folder / "journal.jsonl") if e.event == "aws_call"]
    calls += [e for e in iter_journal(folder / "calls.jsonl") if e.event == "aws_read"]
    return [dict(e.model_extra or {}) for e in calls]


def test_quarterly_on_the_aws_path_passes_and_leaves_the_account_as_found(delayed: dict[str, str],
                                                                           tmp_path: Path) -> None:
    before = world(delayed)
    twin_pid = int(json.loads((Path(delayed["DRILL_RUNTIME_DIR"]) / "state.json").read_text())["pid"])
    assert workers_left(delayed, twin_pid) == NONE_LEFT
    res = _run_aws(delayed, tmp_path, "--cadence", "all", *LOAD_AS_PODS)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    folder = only_drill(tmp_path)

    # the load ran as pods, every request through the master, and the pods are gone
    events = events_of(folder)
    k8s_calls = [e.get("operation") for e in events if e.event == "k8s_call"]
    for op in ("create_namespace", "create_namespaced_deployment", "delete_namespaced_deployment", "delete_namespace"):
        assert op in k8s_calls, (op, k8s_calls)
    assert any(e.event == "load_workers_removed" for e in events)
    started = [e for e in events if e.event == "load_started"]
    assert started and all(len(e.get("pids")) == 1 for e in started)  # the master only: no worker runs here
    summary = next(e for e in events if e.event == "requests_summary")
    assert summary.get("total") > 1000, summary
    # the Deployment and namespace are gone when the drill ends; their processes are the twin's
    # kubelet's to stop (SIGTERM, then up to 10 s), as pods terminate after their Deployment
    left = workers_left(delayed, twin_pid)
    assert (left["deployments"], left["namespaces"]) == ([], []), left
    _until(lambda: not workers_left(delayed, twin_pid)["workers"],
           f"the workers' processes gone after the drill: {workers_left(delayed, twin_pid)}", 30)
    result = json.loads((folder / "result.json").read_text())
    names = {s["name"]: s["status"] for s in result["scenarios"]}
    plan = json.loads(drill("plan", "--target", "sandbox", "--cadence", "all", "--json", check=True).stdout)
    assert set(names) == {s["scenario"] for s in plan["scenarios"]}
    assert set(names.values()) == {"passed"}, names

    rds = result["rpo"]["rds"]
    assert rds["unbounded"] is False and rds["lost"] > 0, rds
    assert abs(rds["rpo_s"] - DELAY_S) <= 0.25, rds

    phases = {p["name"]: p for p in result["rto"]["phases"]}
    ttl = next(float(a.split("=", 1)[1]) for a in sandbox_sets()[1::2]
               if a.startswith("route53.ttl_s="))  # the record TTL this run applied (the profile's)
    assert phases["dns"]["duration_s"] >= ttl, phases["dns"]

    assert world(delayed) == before
    left = leftovers(delayed, result["drill_id"])  # its data too, as on the sandbox target
    assert not left, f"{len(left)} left, e.g. {left[:3]}"

    # every AWS call made is planned and granted
    plan_aws = json.loads(drill("plan", "--target", "aws", "--cadence", "all", "--json", *sandbox_sets(),
                                env=delayed, check=True).stdout)
    planned = {(c["service"], c["operation"]) for c in all_calls(plan_aws) if c["kind"] == "aws"}
    policy = json.loads(drill("iam-policy", "--target", "aws", "--cadence", "all", "--resolve", *sandbox_sets(),
                              env=delayed, check=True).stdout)
    made = _recorded_calls(folder)
    assert len(made) > 100
    missing = sorted({(c["service"], c["operation"]) for c in made} - planned)
    assert not missing, f"called but not in the plan: {missing}"
    from drill.core.calls import Call

    refused = sorted({f"{action} on {arn_of(c, ACCOUNT)}" for c in made
                      for action in Call("aws", c["service"], c["operation"], "", (), False).iam_actions()
                      if not grants(policy, action, arn_of(c, ACCOUNT))})
    assert not refused, f"the IAM policy would refuse: {refused}"


def test_an_interrupted_run_names_the_command_that_returns_the_account(delayed: dict[str, str],
                                                                        tmp_path: Path) -> None:
    before = world(delayed)
    proc = start_drill(["run", "--target", "aws", "--confirm", ACCOUNT, "--reports", str(tmp_path),
                        "--cadence", "quarterly", "-k", "failover_under_load", *sandbox_sets()], delayed)
    wait_journal(tmp_path, proc, lambda e: e.event == "phase" and e.get("name") == "dns", "the DNS switch",
                 timeout=300)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, out[-3000:]
    changed = world(delayed)
    assert changed != before, "the interrupted run changed nothing: the test proves nothing"
    line = next(ln for ln in out.splitlines() if "return them with:" in ln)
    command = shlex.split(line.split("return them with:", 1)[1])
    assert command[:2] == ["drill", "failback"] and "--confirm" in command, command
    result = json.loads((only_drill(tmp_path) / "result.json").read_text())
    assert result["runbook_left"], result["runbook_left"]
    res = drill(*command[1:], "--reports", str(tmp_path), env=delayed, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert world(delayed) == before
