"""A drill interrupted while its fault is active still rolls back: SIGINT, SIGTERM, and SIGKILL
followed by `drill rollback`. Afterwards the twin is in steady state: services healthy,
replication running Seoul -> Tokyo, the edge sending traffic to Seoul."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from drill.journal import read_journal
from sandbox.state import control
from tests.conftest import drill


def _start(sandbox_env: dict[str, str], reports: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, **sandbox_env)
    return subprocess.Popen([sys.executable, "-m", "drill", "run", "--reports", str(reports)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_fault(reports: Path, proc: subprocess.Popen[str], timeout: float = 120) -> Path:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for journal in reports.glob("*/journal.jsonl"):
            if any(e.event == "fault_injected" for e in read_journal(journal)):
                return journal
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.1)
    raise AssertionError("the drill never injected its fault")


def _assert_steady(sandbox: dict[str, Any]) -> None:
    state = control(sandbox, "GET", "/status")
    assert state["healthy"], {k: v for k, v in state["parts"].items() if not v["healthy"]}
    assert "api->ap-northeast-2" in state["parts"]["edge"]["detail"]
    repl = control(sandbox, "GET", "/replication")["rds"]
    assert repl["source"] == "primary" and repl["role"] == "dr"
    assert repl["io_running"] and repl["sql_running"] and repl["read_only"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_the_outage_rolls_back(sig: signal.Signals, sandbox_env: dict[str, str],
                                            sandbox: dict[str, Any], tmp_path: Path) -> None:
    proc = _start(sandbox_env, tmp_path)
    journal = _wait_for_fault(tmp_path, proc)
    time.sleep(0.5)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 130, out
    events = read_journal(journal)
    assert any(e.event == "fault_reverted" for e in events), out
    assert any(e.event == "restored" and e.get("ok") for e in events), out
    assert events[-1].event == "drill_finished" and events[-1].get("status") == "interrupted"
    result = json.loads((journal.parent / "result.json").read_text())
    assert result["faults"][0]["reverted_at"] and "report:" in out
    _assert_steady(sandbox)


def test_sigkill_then_drill_rollback_finishes_the_job(sandbox_env: dict[str, str], sandbox: dict[str, Any],
                                                      tmp_path: Path) -> None:
    proc = _start(sandbox_env, tmp_path)
    journal = _wait_for_fault(tmp_path, proc)
    time.sleep(0.5)
    proc.kill()
    proc.communicate(timeout=30)
    # the outage is still in place: the primary's services are down
    assert control(sandbox, "GET", "/status")["region_down"]["primary"] is True
    res = drill("rollback", "--reports", str(tmp_path), env=sandbox_env, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "undone: region_outage-1" in res.stdout
    events = read_journal(journal)
    assert [e.get("status") for e in events if e.event == "drill_finished"] == ["rolled_back"]
    _assert_steady(sandbox)
    # the locust processes of the killed drill stopped by themselves
    pids = [p for e in events if e.event == "load_started" for p in e.get("pids")]
    time.sleep(1.5)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # nothing left to do the second time
    again = drill("rollback", "--reports", str(tmp_path), env=sandbox_env)
    assert again.returncode == 0 and "nothing to roll back" in again.stdout


FAULT_PARAMS = {"replication_lag": ["--param", "delay_s=2"], "pod_kill": ["--param", "deployment=auth-deployment"],
                "node_group_zero": ["--param", "role=dr"]}


def _all_faults() -> list[str]:
    from drill.faults import REGISTRY

    return sorted(REGISTRY)


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("fault", _all_faults())
def test_every_fault_is_undone_whatever_stops_the_drill(fault: str, how: str, sandbox_env: dict[str, str],
                                                        sandbox: dict[str, Any], tmp_path: Path) -> None:
    env = dict(os.environ, **sandbox_env)
    proc = subprocess.Popen([sys.executable, "-m", "drill", "fault", fault, "--hold", "120", "--reports",
                             str(tmp_path), *FAULT_PARAMS.get(fault, [])], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    journal = _wait_for_fault(tmp_path, proc, timeout=60)
    if how == "SIGKILL":
        proc.kill()
        proc.communicate(timeout=30)
        res = drill("rollback", "--reports", str(tmp_path), env=sandbox_env, timeout=180)
        assert res.returncode == 0 and f"undone: {fault}-1" in res.stdout, res.stdout + res.stderr
    else:
        proc.send_signal(getattr(signal, how))
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 130, out
    events = read_journal(journal)
    assert any(e.event == "fault_reverted" for e in events)
    assert events[-1].event == "drill_finished"
    _assert_steady(sandbox)
