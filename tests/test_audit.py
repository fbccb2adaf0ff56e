"""`drill audit`: the readiness scorecard finds exactly the policy's known gaps, read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drill import cli
from drill.config import load_config
from drill.targets import READ_PREFIXES
from tests.conftest import drill


def test_as_is_posture_shows_exactly_the_five_known_gaps(tmp_path: Path) -> None:
    env = {"DRILL_RUNTIME_DIR": str(tmp_path / "as-is")}
    drill("sandbox", "up", "--posture", "as-is", env=env, check=True, timeout=180)
    try:
        res = drill("audit", "--json", env=env, timeout=120)
        human = drill("audit", env=env, timeout=120)
    finally:
        drill("sandbox", "down", env=env, check=True)
    assert res.returncode == 1, res.stdout + res.stderr
    out = json.loads(res.stdout)
    gaps = [c for c in out["checks"] if not c["ok"]]
    known = {g.key: g.id for g in load_config(None, "sandbox").config.known_gaps}
    assert out["gaps"] == 5 and len(known) == 5
    assert {g["key"]: g["known_gap"] for g in gaps} == known
    assert all(g["problems"] for g in gaps)
    assert human.returncode == 1
    assert human.stdout.strip().endswith("8/13 ready; 5 gaps (5 listed in the policy's known gaps, 0 new)")
    assert "GAP Route 53 health check: none  [known gap #2]" in human.stdout


def test_policy_posture_has_no_gap(sandbox_env: dict[str, str]) -> None:
    res = drill("audit", "--json", env=sandbox_env, timeout=120)
    out = json.loads(res.stdout)
    assert res.returncode == 0, [c for c in out["checks"] if not c["ok"]]
    assert out["gaps"] == 0 and len(out["checks"]) == 13


def test_audit_on_aws_only_reads(as_aws: list[tuple[str, str]], capsys: pytest.CaptureFixture[str],
                                 sandbox: dict[str, Any]) -> None:
    """Against the account (the emulator standing in), every AWS call the audit makes is a read."""
    code = cli.main(["audit", "--target", "aws", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert as_aws[0] == ("sts", "GetCallerIdentity") and len(as_aws) > 20
    assert [c for c in as_aws if not c[1].startswith(READ_PREFIXES)] == []
    by_key = {c["key"]: c for c in out["checks"]}
    # what the account answers is judged as on the twin; the DR cluster needs a kubeconfig context
    # (and the replica lag a DB login secret), which this machine has not: those say why they failed
    for key in ("dynamodb_streams", "s3_crr", "ecr_replication", "route53_failover", "cloudwatch_alarms"):
        assert by_key[key]["ok"], by_key[key]
    assert code == (1 if out["gaps"] else 0)
