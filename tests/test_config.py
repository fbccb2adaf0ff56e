from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drill.config import DEFAULT_CONFIG, load_config
from drill.errors import InvalidInput
from tests.conftest import drill


def _write(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    mutate(data)  # type: ignore[operator]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_policy_file_loads_with_every_section() -> None:
    cfg = load_config().config
    assert cfg.regions.primary.name == "ap-northeast-2" and cfg.regions.dr.name == "ap-northeast-1"
    assert cfg.budgets.rto_s == 2400 and cfg.budgets.rpo_s["rds"] == 5
    assert cfg.declaration.outage_s == 1200 and cfg.failback.stabilization_s == 1800
    assert cfg.route53.health_check.path == "/health" and cfg.route53.health_check.interval_s == 30
    assert [c.id for c in cfg.checklist] == list(range(1, 9))
    assert cfg.checklist[1].ko == "RDS Read Replica Promote 성공"
    assert {g.key for g in cfg.known_gaps} == {"dynamodb_streams", "route53_health_check", "route53_failover",
                                               "cloudfront_origin_failover", "ecr_replication"}
    assert len(cfg.monitoring.alarms) == 5 and len(cfg.ecr.repositories) == 7


def test_profile_and_set_apply_and_are_reported() -> None:
    loaded = load_config(profile="sandbox", overrides=["sandbox.rds.replication_delay_s=3"])
    assert loaded.config.declaration.outage_s == 4
    assert loaded.config.sandbox.rds.replication_delay_s == 3
    assert loaded.applied()["overrides"]["declaration.outage_s"] == 4
    assert load_config(profile="aws").config.declaration.outage_s == 1200


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["sandbox"]["rds"].update(replicaton_delay_s=1),
     "sandbox.rds.replicaton_delay_s: unknown key (did you mean 'replication_delay_s'?)"),
    (lambda d: d["route53"]["health_check"].update(interval_s="often"),
     "route53.health_check.interval_s: Input should be a valid number"),
    (lambda d: d["budgets"].pop("rto_s"), "budgets.rto_s: required key is missing"),
    (lambda d: d["workloads"][0].update(kind="pod"), "workloads[0].kind: Input should be"),
    (lambda d: d["ingresses"][0].update(service="nope"), "unknown service 'nope'"),
])
def test_bad_file_names_file_key_and_problem(tmp_path: Path, mutate: object, expected: str) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(InvalidInput) as err:
        load_config(path)
    assert str(err.value).startswith(str(path) + ": ")
    assert expected in str(err.value)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("policy:\n  name: [unclosed\n")
    with pytest.raises(InvalidInput, match=r"broken.yaml: line \d+, column \d+: YAML syntax error"):
        load_config(path)


def test_bad_set_is_caught() -> None:
    with pytest.raises(InvalidInput, match="did you mean 'sandbox'"):
        load_config(overrides=["sandbx.rds.replication_delay_s=1"])
    with pytest.raises(InvalidInput, match="expected key.path=value"):
        load_config(overrides=["sandbox.rds.replication_delay_s"])


def test_cli_config_typo_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["route53"].update(tll_s=5))
    res = drill("config", "check", "--config", str(path))
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "route53.tll_s: unknown key (did you mean 'ttl_s'?)" in lines[0]


def test_cli_config_show_states_applied_values() -> None:
    res = drill("config", "show", "--json", "--set", "measure.canary_rate_per_s=50")
    assert res.returncode == 0
    assert '"canary_rate_per_s": 50' in res.stdout and '"profile": "sandbox"' in res.stdout
    ok = drill("config", "check", "--target", "aws")
    assert ok.returncode == 0 and "ok (PortForge" in ok.stdout
