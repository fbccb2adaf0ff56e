"""Nothing of PortForge's is in the code: a second policy (examples/acme: us-east-1 primary, where
Route 53, CloudFront and S3's default location live, with a us-west-2 standby; other names,
services, tables, buckets, hosts and its own features) runs its quarterly failover on the
sandbox, unchanged, on a twin of its own; and grep finds none of PortForge's names in the code
(its quoted host names included)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO
from drill.core.config import load_config
from tests.conftest import drill, only_drill

ACME = REPO / "examples" / "acme" / "acme.yaml"


@pytest.fixture(scope="module")
def acme_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    base = tmp_path_factory.mktemp("acme-twin")
    base.chmod(0o700)
    env = {"DRILL_RUNTIME_DIR": str(base / "run")}
    drill("sandbox", "up", "--config", str(ACME), env=env, check=True, timeout=180)
    yield env
    drill("sandbox", "down", env=env, check=True)


def test_a_second_policy_runs_its_quarterly_failover_unchanged(acme_twin: dict[str, str], tmp_path: Path) -> None:
    res = drill("run", "--config", str(ACME), "--cadence", "quarterly", "--reports", str(tmp_path), env=acme_twin,
                timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    result = json.loads((only_drill(tmp_path) / "result.json").read_text())
    assert result["policy"] == "Acme Shop" and result["regions"]["primary"] == "us-east-1"
    assert [s["status"] for s in result["scenarios"]] == ["passed"]
    assert set(result["rpo"]) == {"rds", "dynamodb", "s3"} and all(v["met"] for v in result["rpo"].values())
    assert {c["id"]: c["status"] for c in result["checklist"]} == {1: "passed", 2: "passed"}


def test_no_portforge_name_in_the_code() -> None:
    cfg = load_config(None, None).config
    names = {cfg.policy.name, cfg.policy.domain, cfg.regions.primary.name, cfg.regions.dr.name,
             cfg.rds.primary.id, cfg.rds.replica.id, cfg.rds.database, cfg.eks.primary.cluster, cfg.eks.dr.cluster,
             cfg.route53.health_check.alarm.name, *cfg.policy.accounts, *(t.name for t in cfg.dynamodb.tables),
             *(b.name for b in cfg.s3.buckets), *(w.deployment for w in cfg.workloads if "-" in w.deployment),
             cfg.cognito.sync_function, cfg.communication.alert_function,
             *(f"{q}{h}{q}" for h in {cfg.app_host, *(w.host for w in cfg.workloads if w.host)} for q in "'\"")}
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.I)
    found = []
    for folder in ("drill", "steps", "sandbox", "load"):
        for path in sorted((REPO / folder).rglob("*.py")) + sorted((REPO / folder).rglob("*.j2")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(REPO)}:{n}: {line.strip()[:100]}")
    assert not found, "\n".join(found[:20])


def test_no_branch_on_the_target_outside_targets_and_the_cli() -> None:
    res = subprocess.run(["grep", "-rnE", r"isinstance\([^)]*Target\)|(target|target_name|\.name) *[!=]= *['\"]"
                          r"(sandbox|aws|localstack)['\"]|in \(['\"](sandbox|aws|localstack)['\"]", "drill", "steps"],
                         cwd=REPO, capture_output=True, text=True)
    hits = [ln for ln in res.stdout.splitlines() if not ln.startswith(("drill/targets/", "drill/cli.py"))]
    assert not hits, "\n".join(hits)
