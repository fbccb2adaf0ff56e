"""`drill run` end to end on the shared sandbox, as a user runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from drill.config import load_config
from drill.plan import build, uncovered
from sandbox.state import control
from tests.conftest import drill


def _run(sandbox_env: dict[str, str], tmp_path: Path, delay: float) -> tuple[int, str, dict[str, Any], Path]:
    res = drill("run", "--cadence", "quarterly", "-k", "failover_under_load", "--reports", str(tmp_path), "--set",
                f"sandbox.rds.replication_delay_s={delay}", env=sandbox_env, timeout=400)
    m = re.search(r"^report: (.+)$", res.stdout, re.M)
    assert m, res.stdout + res.stderr
    report = Path(m.group(1)).with_name("report.md")
    return res.returncode, res.stdout, json.loads((report.parent / "result.json").read_text()), report


def test_quarterly_drill_measures_rds_rpo_near_the_injected_delay_and_passes(
        sandbox_env: dict[str, str], sandbox: dict[str, Any], tmp_path: Path) -> None:
    code, out, result, report = _run(sandbox_env, tmp_path, 3)
    assert code == 0, out
    assert result["verdict"] == "pass" and result["target"] == "sandbox" and result["cadence"] == "quarterly"
    for key in ("drill_id", "started_at", "finished_at", "scenarios", "rto", "rpo", "faults"):
        assert key in result
    rds = result["rpo"]["rds"]
    # within one canary interval (50 ms) plus 100 ms of the injected 3 s
    assert abs(rds["measured_s"] - 3.0) <= 0.15, rds
    assert rds["met"] and rds["budget_s"] == 5 and rds["lost"] > 0 and rds["acked"] > rds["lost"]
    for store in ("dynamodb", "s3"):
        assert set(result["rpo"][store]) >= {"measured_s", "budget_s", "met", "acked", "lost", "indeterminate"}
    rto = result["rto"]
    assert rto["measured_s"] is not None and rto["met"] and rto["budget_s"] == 2400
    names = [p["name"] for p in rto["phases"]]
    assert names == ["detection", "declaration", "promotion", "dns", "scale_up", "verification"]
    assert [p["measured"] for p in rto["phases"]] == [True, False, True, True, True, True]
    # each phase beside its section-4 budget (the declaration by the policy's wait, not the applied one)
    budgets = {p["name"]: (p.get("budget_s"), p.get("budget_met")) for p in rto["phases"]}
    assert budgets == {"detection": (None, None), "declaration": (1200, True), "promotion": (600, True),
                       "dns": (300, True), "scale_up": (None, None), "verification": (300, True)}
    assert "| declaration |" in report.read_text() and "1200.0 s: met |" in report.read_text()
    assert result["faults"][0]["name"] == "region_outage" and result["faults"][0]["reverted_at"]
    assert [s["status"] for s in result["scenarios"]] == ["passed"]
    assert report.read_text().startswith(f"# DR drill {result['drill_id']}: PASS")
    # `drill plan` foretold every change this drill made through the AWS API
    events = [json.loads(line) for line in (report.parent / "journal.jsonl").read_text().splitlines()]
    changes = [e for e in events if e.get("event") == "aws_call"]
    assert {e["operation"] for e in changes} >= {"PromoteReadReplica", "ChangeResourceRecordSets"}
    assert uncovered(build(load_config(None, "sandbox").config, "quarterly", "sandbox"), events) == []
    # the shared sandbox was left up and back in steady state
    state = control(sandbox, "GET", "/status")
    assert state["healthy"], state["parts"]
    assert "api->ap-northeast-2" in state["parts"]["edge"]["detail"]


def test_quarterly_drill_with_a_7s_lag_misses_the_rpo_budget_and_says_by_how_much(
        sandbox_env: dict[str, str], tmp_path: Path) -> None:
    code, out, result, report = _run(sandbox_env, tmp_path, 7)
    assert code == 1, out
    rds = result["rpo"]["rds"]
    assert abs(rds["measured_s"] - 7.0) <= 0.15 and rds["met"] is False
    assert result["verdict"] == "fail"
    m = re.search(r"RPO rds: (\d+\.\d+) s \(budget 5\.000 s\).*MISSED by (\d+\.\d+) s", out)
    assert m and abs(float(m.group(2)) - (float(m.group(1)) - 5.0)) < 0.002, out
    assert f"MISSED by {m.group(2)} s" in report.read_text()
    # rollback still happened and the report was still written
    assert result["faults"][0]["reverted_at"] and result["restored"] is True


def test_run_refuses_bad_input_with_exit_2(sandbox_env: dict[str, str]) -> None:
    res = drill("run", "--cadence", "yearly", env=sandbox_env)
    assert res.returncode == 2 and "invalid choice" in res.stderr
    res = drill("run", "--set", "measure.canary_rate_per_s=-1", env=sandbox_env)
    assert res.returncode == 2 and "measure.canary_rate_per_s" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
