"""Safe on an account: guardrails that cannot be bypassed, faults that heal themselves, one drill
per target, a rollback that trusts nothing but the catalog and the current config, an undo loop
that survives a full disk, a private twin on loopback, and read-only commands that cannot write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from conftest import loaded_config
from drill.core.errors import InvalidInput, ReadOnlyViolation
from drill.core.journal import Journal
from drill.core.procs import cmdline, signal_if
from drill.faults import registry
from drill.faults.manager import FaultManager
from drill.faults.registry import Fault
from drill.targets.factory import make_target
from tests.conftest import CFG, client, drill, events_of, sandbox_sets, start_drill, wait_journal, world

ACCOUNT = CFG.policy.accounts[0]


def _one_line(res: Any) -> str:
    """The error: one line, alone on stderr (status lines are held until the target is reached)."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and "Traceback" not in res.stderr, (res.returncode, res.stderr)
    return str(lines[0])


# 1. destructiveness from what pytest collected; guardrails that only narrow -------------------


def test_a_deselecting_k_still_needs_confirm_and_nothing_is_touched(account: dict[str, str], tmp_path: Path) -> None:
    res = drill("run", "--target", "aws", "--cadence", "quarterly", "-k", "not cognito", "--reports", str(tmp_path),
                *sandbox_sets(), env=account)
    assert f"--confirm {ACCOUNT}" in _one_line(res)
    for folder in tmp_path.iterdir():
        assert not [e for e in events_of(folder) if e.event == "aws_call"]


@pytest.mark.parametrize("loosen, words", [
    (["--set", "aws.destructive_tag=nothing"], "aws.destructive_tag"),
    (["--set", "aws.allowed_accounts=['111111111111']"], "never widened"),
    (["--profile", "../../etc"], "not a profile name"),
])
def test_guardrails_cannot_be_loosened(loosen: list[str], words: str, account: dict[str, str],
                                       tmp_path: Path) -> None:
    res = drill("run", "--target", "aws", "--confirm", ACCOUNT, "--reports", str(tmp_path), *loosen, env=account)
    assert words in _one_line(res)


@pytest.mark.parametrize("sets, env, words", [
    # a VPC the account does not have: region_outage would cut nothing, and the drill would measure
    # a failover from a region that never went dark
    (["--set", "network.primary.vpc=portforge-vpc-typo"], {}, "VPC portforge-vpc-typo not found"),
    # a kubeconfig without the policy's clusters: the scale-up would fail in the middle of the failover
    ([], {"KUBECONFIG": "/nonexistent/kubeconfig"}, "Kubernetes: no client for the primary cluster"),
], ids=["missing-vpc", "missing-kubeconfig"])
def test_what_a_drill_acts_on_is_checked_before_anything_changes(sets: list[str], env: dict[str, str], words: str,
                                                                  account: dict[str, str], tmp_path: Path) -> None:
    before = world(account)
    res = drill("run", "--target", "aws", "--confirm", ACCOUNT, "--cadence", "quarterly", "-k", "failover_under_load",
                "--reports", str(tmp_path), *sandbox_sets(), *sets, env={**account, **env})
    assert words in _one_line(res)
    assert world(account) == before
    for folder in tmp_path.iterdir():
        assert not [e for e in events_of(folder) if e.event == "aws_call"]


def test_every_scenario_that_changes_anything_is_tagged_destructive() -> None:
    plan = json.loads(drill("plan", "--cadence", "all", "--json", check=True).stdout)
    assert plan["scenarios"]
    for sc in plan["scenarios"]:
        changes = [c for st in sc["steps"] for c in st["calls"] if c["mutating"]]
        assert sc["destructive"] == bool(changes), (sc["scenario"], changes[:3])


# 2. a fault on an account heals itself when the harness is gone ---------------------------------


def test_a_fis_fault_heals_itself_after_a_hard_kill(steady: dict[str, Any], account: dict[str, str],
                                                   sandbox_env: dict[str, str], tmp_path: Path) -> None:
    proc = start_drill(["fault", "s3_replication_paused", "--hold", "300", "--reports", str(tmp_path),
                        "--set", "stop.time_budget_s=8"], sandbox_env)
    folder = wait_journal(tmp_path, proc, lambda e: e.event == "fault_injected", "the pause", timeout=90)
    proc.kill()
    proc.communicate(timeout=30)
    fis = client(account, "fis", CFG.regions.primary.name)
    exp_id = next(e for e in events_of(folder) if e.event == "fault_injected").get("details")["experiment_id"]
    assert fis.get_experiment(id=exp_id)["experiment"]["state"]["status"] == "running"
    end = time.monotonic() + 30
    while fis.get_experiment(id=exp_id)["experiment"]["state"]["status"] == "running":
        assert time.monotonic() < end, "the experiment outlived its duration"
        time.sleep(0.5)
    assert fis.get_experiment(id=exp_id)["experiment"]["state"]["status"] == "completed"
    pair = CFG.s3.buckets[0]
    client(account, "s3", CFG.regions.primary.name).put_object(Bucket=pair.name, Key="healed.txt", Body=b"x")
    dr = client(account, "s3", CFG.regions.dr.name)
    end = time.monotonic() + 20
    while dr.list_objects_v2(Bucket=pair.dr, Prefix="healed.txt").get("KeyCount", 0) == 0:
        assert time.monotonic() < end, "replication did not resume after the experiment ended"
        time.sleep(0.3)
    res = drill("rollback", "--reports", str(tmp_path), env=sandbox_env, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads((folder / "result.json").read_text())
    assert "FIS experiment ends after its duration" in result["faults"][0]["heals"]
    assert "heals itself" in (folder / "report.md").read_text()


# 3. one drill per target; capture refuses a drill's own marks; rollback leaves a live drill -----


def test_one_drill_per_target_and_a_live_drill_is_not_rolled_back(steady: dict[str, Any], account: dict[str, str],
                                                                   sandbox_env: dict[str, str], tmp_path: Path) -> None:
    first = tmp_path / "first"
    proc = start_drill(["fault", "health_endpoint_failing", "--hold", "120", "--reports", str(first)], sandbox_env)
    try:
        folder = wait_journal(first, proc, lambda e: e.event == "fault_injected", "the first drill's fault")
        second = drill("fault", "node_group_zero", "--hold", "1", "--reports", str(tmp_path / "second"),
                       env=sandbox_env)
        assert "another drill holds" in _one_line(second)
        res = drill("rollback", "--reports", str(first), env=sandbox_env)
        assert res.returncode == 0 and "not touched" in res.stdout, res.stdout + res.stderr
        assert not [e for e in events_of(folder) if e.event == "fault_reverted"]
        # a drill that got past the lock would refuse to capture the first one's fault as "original"
        target = make_target("sandbox", loaded_config(), read_only=True, start_sandbox=False)
        with pytest.raises(InvalidInput, match="still in place"):
            registry.get("health_endpoint_failing").capture(target)
        target.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert any(e.event == "fault_reverted" for e in events_of(folder))


# 4. rollback on aws: --confirm, the current config's guardrails, nothing taken from the journal --


def _crafted(tmp_path: Path, target: str, faults: list[tuple[str, dict[str, Any]]], profile: str) -> Path:
    d = tmp_path / "20260101T000000Z-quarterly-c0de"
    j = Journal(d / "journal.jsonl")
    j.write("drill_started", drill_id=d.name, target=target, cadence="quarterly", policy="x",
            applied={"config": "/etc/passwd", "profile": profile, "overrides": {"aws.allowed_accounts": ["1" * 12]}})
    for n, (name, params) in enumerate(faults, 1):
        j.write("fault_planned", fault_id=f"{name}-{n}", name=name, params={}, undo={"name": name, "params": params})
    j.close()
    return d


def test_rollback_on_aws_needs_confirm_and_trusts_only_the_catalog(steady: dict[str, Any], account: dict[str, str],
                                                                    tmp_path: Path) -> None:
    s3 = client(account, "s3", CFG.regions.primary.name)
    victim = f"drill-test-victim-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=victim, CreateBucketConfiguration={"LocationConstraint": CFG.regions.primary.name})
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                                 "Action": "s3:GetObject",
                                                                 "Resource": f"arn:aws:s3:::{victim}/*"}]})
    s3.put_bucket_policy(Bucket=victim, Policy=policy)
    try:
        _rollback_crafted(account, tmp_path, victim, policy)
    finally:
        s3.delete_bucket_policy(Bucket=victim)
        s3.delete_bucket(Bucket=victim)


def _rollback_crafted(account: dict[str, str], tmp_path: Path, victim: str, policy: str) -> None:
    s3 = client(account, "s3", CFG.regions.primary.name)
    d = _crafted(tmp_path, "aws", [("front_origin_denied", {"bucket": victim, "before": None}),
                                   ("region_outage", {"role": "primary", "region": "us-west-2"})], "../../..")
    before = (d / "journal.jsonl").read_bytes()
    res = drill("rollback", "--target", "aws", str(d), *sandbox_sets(), env=account)
    assert f"--confirm {ACCOUNT}" in _one_line(res)
    assert (d / "journal.jsonl").read_bytes() == before
    res = drill("rollback", "--target", "aws", "--confirm", ACCOUNT, str(d), *sandbox_sets(), env=account, timeout=180)
    assert res.returncode == 1, res.stdout + res.stderr  # the region_outage undo was refused
    assert "failed: region_outage-2" in res.stdout and "undone: front_origin_denied-1" in res.stdout, res.stdout
    assert s3.get_bucket_policy(Bucket=victim)["Policy"] == policy  # the config's bucket was restored, not this
    events = events_of(d)
    refused = next(e for e in events if e.event == "fault_revert_failed")
    assert "us-west-2" in refused.get("error")
    assert any(e.event == "rollback_finished" and "steady" in (e.model_extra or {}) for e in events)


def test_a_malformed_journal_is_one_line_and_nothing_is_appended(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    d = tmp_path / "20260101T000000Z-quarterly-bad1"
    d.mkdir()
    good = '{"seq": 1, "ts": "x", "t": 1.0, "mono": 0.0, "event": "drill_started", "drill_id": "a", "target": "sandbox"}\n'
    (d / "journal.jsonl").write_text(good + '{"seq": 2, "event": 5}\n' + good)
    before = (d / "journal.jsonl").read_bytes()
    for args in (["rollback", "--reports", str(tmp_path)], ["rollback", str(d)], ["report", str(d)]):
        _one_line(drill(*args, env=sandbox_env))
        assert (d / "journal.jsonl").read_bytes() == before
    assert sorted(p.name for p in d.iterdir()) == ["journal.jsonl"]


# 5. the undo loop: removed from the active list only once undone; a full disk stops nothing ------


class _Recorder(Fault):
    name = "test_recorder"
    undone: list[str] = []
    params = {"which": str}

    def inject(self, target: Any, **state: Any) -> dict[str, Any]:
        return {}

    def undo(self, target: Any, which: str = "", **_: Any) -> None:
        if which == "broken":
            raise RuntimeError("the API refused")
        _Recorder.undone.append(which)


class _FullDisk(Journal):
    fail = False

    def write(self, event: str, durable: bool = False, at: float | None = None, **data: Any) -> dict[str, Any]:
        if self.fail:
            raise OSError(28, "No space left on device")
        return super().write(event, durable, at, **data)


def test_undo_goes_on_through_a_full_disk_and_keeps_what_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry.catalog()
    monkeypatch.setitem(registry.REGISTRY, "test_recorder", _Recorder())
    _Recorder.undone = []
    target = type("T", (), {"capabilities": frozenset(), "name": "fake"})()
    journal = _FullDisk(tmp_path / "journal.jsonl")
    faults = FaultManager(target, journal, "d")  # type: ignore[arg-type]
    for which in ("first", "broken", "last"):
        faults.inject("test_recorder", which=which)
    journal.fail = True
    result = faults.revert_all()
    assert _Recorder.undone == ["last", "first"]  # newest first, past the one that failed
    assert result.failed == ["test_recorder-2"] and len(result.journal_errors) == 3
    assert [p.fault_id for p in faults.active] == ["test_recorder-2"]


# 8. a private twin on loopback; a pid is signalled only when it is the expected program ----------


def test_the_twin_binds_loopback_only(tmp_path: Path) -> None:
    res = drill("sandbox", "up", "--set", "sandbox.host=0.0.0.0", env={"DRILL_RUNTIME_DIR": str(tmp_path / "run")})
    assert "loopback" in _one_line(res)
    assert not (tmp_path / "run").exists()


def test_a_runtime_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    rundir = tmp_path / "run"
    rundir.mkdir(mode=0o777)
    rundir.chmod(0o777)
    for args in (("sandbox", "up"), ("sandbox", "down")):
        assert "open to others" in _one_line(drill(*args, env={"DRILL_RUNTIME_DIR": str(rundir)}))


def test_a_pid_is_signalled_only_when_its_command_line_matches() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    end = time.monotonic() + 10
    while cmdline(proc.pid) in ([], [""]) and time.monotonic() < end:  # exec() still setting it up
        time.sleep(0.01)
    try:
        assert signal_if(proc.pid, ("sandbox.supervisor",), signal.SIGTERM) is False
        assert proc.poll() is None
        assert signal_if(proc.pid, ("time.sleep",), signal.SIGTERM) is True, cmdline(proc.pid)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)


# 9. plan and audit cannot write ------------------------------------------------------------------


def test_a_read_only_target_refuses_a_write_before_it_is_sent(steady: dict[str, Any], account: dict[str, str]) -> None:
    target = make_target("sandbox", loaded_config(), read_only=True, start_sandbox=False)
    bucket = CFG.s3.buckets[0].name
    with pytest.raises(ReadOnlyViolation):
        target.client("s3", CFG.regions.primary.name).put_object(Bucket=bucket, Key="read-only.txt", Body=b"x")
    target.client("s3", CFG.regions.primary.name).list_objects_v2(Bucket=bucket)  # reads pass
    target.close()
    keys = client(account, "s3", CFG.regions.primary.name).list_objects_v2(Bucket=bucket, Prefix="read-only")
    assert keys.get("KeyCount", 0) == 0


def test_audit_and_plan_run_read_only(account: dict[str, str]) -> None:
    """Every call they make passes the read-only hook (a write would be refused, exit 1 or 2)."""
    audit = drill("audit", "--target", "aws", "--json", *sandbox_sets(), env=account, timeout=120)
    assert audit.returncode == 0 and json.loads(audit.stdout)["gaps"] == 0, audit.stdout[-2000:] + audit.stderr
    plan = drill("plan", "--target", "aws", "--cadence", "all", *sandbox_sets(), env=account, timeout=120)
    assert plan.returncode == 0 and "nothing below has been done" in plan.stdout, plan.stderr[-500:]
