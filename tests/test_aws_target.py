"""The aws target's guardrails, with the sandbox's emulator standing in for AWS.

boto3 honours AWS_ENDPOINT_URL, so the aws target (plain credential chain, no endpoint of its own)
talks to the twin's moto, which answers as the policy's account. Every botocore call is recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drill import cli
from drill.config import load_config
from drill.errors import InvalidInput
from drill.plan import preflight
from drill.targets import READ_PREFIXES

ACCOUNT = "023490709500"


def test_plan_on_aws_makes_no_mutating_call(as_aws: list[tuple[str, str]],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "--target", "aws", "--cadence", "all", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert as_aws[0] == ("sts", "GetCallerIdentity")
    assert len(as_aws) > 3  # ids were resolved from the account, read-only
    mutating = [c for c in as_aws if not c[1].startswith(READ_PREFIXES)]
    assert mutating == [], mutating
    # and yet the plan lists the changes a drill would make, with the account's real ids
    changes = {(c["service"], c["operation"]) for sc in plan["scenarios"] for st in sc["steps"]
               for c in st["calls"] if c["mutating"]}
    assert {("rds", "PromoteReadReplica"), ("route53", "ChangeResourceRecordSets"),
            ("eks", "UpdateNodegroupConfig"), ("rds", "DeleteDBInstance")} <= changes
    zone = [c for sc in plan["scenarios"] for st in sc["steps"] for c in st["calls"]
            if c["operation"] == "ChangeResourceRecordSets"][0]["resources"][0]
    assert zone.startswith("arn:aws:route53:::hostedzone/") and not zone.endswith("/*")
    assert plan["account"] == ACCOUNT
    assert plan["unavailable"] == []  # every fault the scenarios use has an aws implementation


def test_wrong_account_is_refused_before_any_call_but_sts(as_aws: list[tuple[str, str]], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "--target", "aws", "--cadence", "quarterly", "--reports", str(tmp_path),
                     "--set", 'aws.allowed_accounts=["111111111111"]'])
    err = capsys.readouterr().err
    assert code == 2
    assert as_aws == [("sts", "GetCallerIdentity")]
    assert err.strip() == ("drill: error: account 023490709500 is not in aws.allowed_accounts (111111111111): "
                           "refused before any call but sts:GetCallerIdentity")
    assert list(tmp_path.iterdir()) == []  # no report, no journal: nothing happened
    as_aws.clear()
    assert cli.main(["plan", "--target", "aws", "--set", 'aws.allowed_accounts=["111111111111"]']) == 2
    assert as_aws == [("sts", "GetCallerIdentity")]


def test_destructive_scenarios_need_confirm_with_the_account_id(as_aws: list[tuple[str, str]], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--target", "aws", "--cadence", "quarterly", "--reports", str(tmp_path)]) == 2
    assert f"run again with --confirm {ACCOUNT}" in capsys.readouterr().err
    assert cli.main(["run", "--target", "aws", "--cadence", "quarterly", "--reports", str(tmp_path),
                     "--confirm", "999999999999"]) == 2
    assert "(got --confirm 999999999999)" in capsys.readouterr().err
    assert not [c for c in as_aws if not c[1].startswith(READ_PREFIXES)]
    assert list(tmp_path.iterdir()) == []
    # confirmed with the account STS reported: the preflight lets the drill start
    checked = preflight(load_config(None, "aws"), "aws", "quarterly", ACCOUNT, None)
    assert checked["destructive"] and checked["unavailable"] == []
    assert not [c for c in as_aws if not c[1].startswith(READ_PREFIXES)]


def test_no_credentials_is_bad_input(sandbox: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from drill.aws import AwsTarget

    with pytest.raises(InvalidInput, match="no AWS credentials"):
        AwsTarget(load_config(None, "aws"))
    with pytest.raises(InvalidInput, match="aws.profile"):
        AwsTarget(load_config(None, "aws", ["aws.profile=nosuchprofile"]))


def test_iam_policy_grants_exactly_the_plan_s_calls(as_aws: list[tuple[str, str]],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["iam-policy", "--target", "aws", "--resolve"]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert policy["Version"] == "2012-10-17"
    grants = {(a, r) for st in policy["Statement"] for a in st["Action"] for r in st["Resource"]}
    assert ("rds:PromoteReadReplica", f"arn:aws:rds:ap-northeast-1:{ACCOUNT}:db:portforge-dr-rds-replica") in grants
    assert ("rds:DeleteDBInstance", f"arn:aws:rds:ap-northeast-2:{ACCOUNT}:db:portforge-test-rds") in grants
    # no wildcard actions, and the one destructive RDS action is on the two named instances only
    assert all("*" not in a for a, _ in grants)
    assert {r for a, r in grants if a == "rds:DeleteDBInstance"} == {
        f"arn:aws:rds:ap-northeast-2:{ACCOUNT}:db:portforge-test-rds",
        f"arn:aws:rds:ap-northeast-1:{ACCOUNT}:db:portforge-dr-rds-replica"}
    assert ("s3:PutReplicationConfiguration", "arn:aws:s3:::portforge-team-dr") in grants
    assert not [c for c in as_aws if not c[1].startswith(READ_PREFIXES)]
