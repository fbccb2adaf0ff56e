"""Stop conditions end a drill early; rollback still runs and the report says why."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3

from drill.config import load_config
from sandbox.state import control
from tests.conftest import drill

CFG = load_config(profile="sandbox").config


def _result(out: str) -> dict[str, Any]:
    m = re.search(r"^report: (.+)$", out, re.M)
    assert m, out
    return dict(json.loads((Path(m.group(1)).parent / "result.json").read_text()))


def test_time_budget_stops_the_drill_and_it_still_rolls_back(sandbox_env: dict[str, str], sandbox: dict[str, Any],
                                                            tmp_path: Path) -> None:
    res = drill("run", "--reports", str(tmp_path), "--set", "stop.time_budget_s=12", env=sandbox_env, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    result = _result(res.stdout)
    assert result["verdict"] == "stopped" and result["stopped_by"]["condition"] == "time_budget"
    assert "STOPPED by time_budget" in res.stdout
    assert all(f["reverted_at"] for f in result["faults"]) and result["restored"] is True
    assert control(sandbox, "GET", "/status")["healthy"]


def test_an_alarm_in_alarm_state_stops_the_drill(sandbox_env: dict[str, str], sandbox: dict[str, Any],
                                                 tmp_path: Path) -> None:
    cw = boto3.client("cloudwatch", region_name=CFG.regions.dr.name, endpoint_url=sandbox["aws_endpoint"],
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    alarm = CFG.stop.alarms[0]
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="drill test")
    try:
        res = drill("run", "--cadence", "monthly", "--reports", str(tmp_path), env=sandbox_env, timeout=300)
    finally:
        cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="drill test over")
    assert res.returncode == 1, res.stdout + res.stderr
    result = _result(res.stdout)
    assert result["stopped_by"]["condition"] == "alarm" and alarm in result["stopped_by"]["detail"]
    assert control(sandbox, "GET", "/status")["healthy"]
