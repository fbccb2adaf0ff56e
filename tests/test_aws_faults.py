"""The aws implementations of the faults the scenarios use, against the emulator standing in for
AWS: what they change in the account, that undo puts it back, and that `drill rollback` finishes
the job after a hard kill (the undo and the state it restores were journaled first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drill import cli
from drill.config import load_config
from drill.engine import Drill
from drill.faults import FAILING_PATH, NACL_TAG
from drill.journal import read_journal
from drill.rollback import rollback_drill

ACCOUNT = "023490709500"


def _acls(drill: Drill) -> dict[str, str]:
    """subnet -> network ACL, for every subnet of the primary VPC."""
    cfg = drill.cfg
    ec2 = drill.target.client("ec2", cfg.regions.primary.name, journaled=False)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [cfg.network.primary.vpc]}])["Vpcs"][0]["VpcId"]
    out = {}
    for acl in ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkAcls"]:
        for assoc in acl.get("Associations", []):
            out[assoc["SubnetId"]] = acl["NetworkAclId"]
    return out


def _drill_acl_ids(drill: Drill) -> list[str]:
    ec2 = drill.target.client("ec2", drill.cfg.regions.primary.name, journaled=False)
    return [a["NetworkAclId"] for a in ec2.describe_network_acls(
        Filters=[{"Name": f"tag:{NACL_TAG}", "Values": ["region_outage"]}])["NetworkAcls"]]


@pytest.fixture
def aws_drill(as_aws: list[tuple[str, str]], tmp_path: Path) -> Drill:
    return Drill(load_config(None, "aws"), "aws", "fault-test", tmp_path,
                 target_options={"confirm": ACCOUNT, "destructive": True})


def test_region_outage_on_aws_cuts_every_subnet_and_rollback_after_a_kill_restores_them(aws_drill: Drill) -> None:
    before = _acls(aws_drill)
    assert len(before) == len(aws_drill.cfg.network.primary.public_subnets) * 3
    aws_drill.faults.inject("region_outage", role="primary")
    during = _acls(aws_drill)
    [deny_all] = _drill_acl_ids(aws_drill)
    assert set(during.values()) == {deny_all} and set(during) == set(before)
    ec2 = aws_drill.target.client("ec2", aws_drill.cfg.regions.primary.name, journaled=False)
    entries = ec2.describe_network_acls(NetworkAclIds=[deny_all])["NetworkAcls"][0]["Entries"]
    assert not [e for e in entries if e["RuleAction"] == "allow"]  # no allow entry: nothing gets through
    # the process dies here (no revert); `drill rollback` reads the journal and undoes it
    aws_drill.journal.close()
    result = rollback_drill(aws_drill.dir)
    assert result["undone"] == ["region_outage-1"], result
    assert _acls(aws_drill) == before
    assert _drill_acl_ids(aws_drill) == []
    events = read_journal(aws_drill.dir / "journal.jsonl")
    changes = [(e.get("service"), e.get("operation")) for e in events if e.event == "aws_call"]
    assert ("ec2", "CreateNetworkAcl") in changes and ("ec2", "DeleteNetworkAcl") in changes
    planned = next(e for e in events if e.event == "fault_planned")
    assert planned.get("params")["original"] == before  # the state the undo restores, before the fault


def test_health_endpoint_failing_on_aws_points_the_health_checks_at_a_failing_path(aws_drill: Drill) -> None:
    r53 = aws_drill.target.client("route53", "us-east-1", journaled=False)
    from drill.probes import health_check_ids

    ids = health_check_ids(aws_drill.target)
    assert ids
    paths = {i: r53.get_health_check(HealthCheckId=i)["HealthCheck"]["HealthCheckConfig"]["ResourcePath"] for i in ids}
    fault_id = aws_drill.faults.inject("health_endpoint_failing")
    assert {r53.get_health_check(HealthCheckId=i)["HealthCheck"]["HealthCheckConfig"]["ResourcePath"]
            for i in ids} == {FAILING_PATH}
    assert aws_drill.faults.revert(fault_id)
    assert {i: r53.get_health_check(HealthCheckId=i)["HealthCheck"]["HealthCheckConfig"]["ResourcePath"]
            for i in ids} == paths
    aws_drill.journal.close()


def test_a_fault_on_aws_needs_confirm(as_aws: list[tuple[str, str]], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str], sandbox: dict[str, Any]) -> None:
    assert cli.main(["fault", "region_outage", "--target", "aws", "--reports", str(tmp_path)]) == 2
    assert f"--confirm {ACCOUNT}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert [c for c in as_aws if c[0] == "ec2"] == []


def test_plan_on_aws_lists_the_fault_calls_and_nothing_is_unavailable(as_aws: list[tuple[str, str]],
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "--target", "aws", "--cadence", "all"]) == 0
    out = capsys.readouterr().out
    assert "CHANGE ec2:ReplaceNetworkAclAssociation" in out and "CHANGE route53:UpdateHealthCheck" in out
    assert "cannot run here" not in out and "no implementation" not in out
