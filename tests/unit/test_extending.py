"""The "how to add ..." of docs/design-notes.md, tried: a fault in one module, a target by one
class, a report format by one renderer of DrillResult, a checklist item by the policy file and a
feature. Each is added here the way the notes say, and the harness picks it up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from drill.cli import main
from drill.core.calls import Call, Ctx, aws
from drill.core.config import load_config
from drill.core.journal import Journal, iter_journal
from drill.faults import registry
from drill.faults.registry import Fault
from drill.plan.catalogue import build
from drill.report.result import DrillResult
from drill.report.result import build as build_result
from drill.targets.base import Target

REPO = Path(__file__).resolve().parents[2]


class TagTheVpc(Fault):
    """A fault as a new module of drill/faults/catalog would define it."""

    name = "test_vpc_tagged"
    description = "the primary VPC gets a tag (a harmless fault, for the test)"
    requires = frozenset({"pause:dynamodb"})
    params = {"role": str}

    def capture(self, target: Target, role: str = "primary") -> dict[str, Any]:
        return {"role": role}

    def inject(self, target: Target, **state: Any) -> dict[str, Any]:
        return {}

    def undo(self, target: Target, **state: Any) -> None:
        return None

    def calls(self, ctx: Ctx) -> list[Call]:
        return [aws("ec2", "CreateTags", ctx.region("primary"), ctx.ec2("primary", "vpc"), True, "the tag")]


def test_a_fault_is_one_class(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    registry.catalog()
    monkeypatch.setitem(registry.REGISTRY, TagTheVpc.name, TagTheVpc())
    assert main(["fault", "--list"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(TagTheVpc.name))
    assert "sandbox" in line and "aws" in line and "localstack" not in line.split(TagTheVpc.description)[0]
    assert registry.get(TagTheVpc.name).calls(Ctx(load_config(None, None).config, "1" * 12))[0].mutating


def test_a_target_is_one_class() -> None:
    class Staging(Target):
        name = "staging"
        capabilities = frozenset({"pause:dynamodb"})

    loaded = load_config(None, "sandbox")
    plan = build(loaded, "quarterly", Staging.name, Staging.capabilities)
    assert plan["target"] == "staging" and plan["scenarios"] and not plan["unavailable"]
    twin_only = [f for f in registry.catalog().values() if f.requires - Staging.capabilities]
    assert {f.name for f in twin_only} >= {"replication_lag", "primary_db_crash"}  # what it cannot run, named


def test_a_report_format_is_one_renderer(tmp_path: Path) -> None:
    def render_csv(r: DrillResult) -> str:
        return "\n".join(f"{s['name']},{s['status']}" for s in r.scenarios)

    j = Journal(tmp_path / "journal.jsonl")
    j.write("drill_started", drill_id="d", target="sandbox", cadence="monthly", policy="P", applied={})
    j.write("scenario_started", nodeid="n1", name="one", feature="f", feature_file="x.feature", tags=[])
    j.write("scenario_finished", nodeid="n1", status="failed", error="AssertionError: no", step="Then it works")
    j.write("drill_finished", status="finished")
    j.close()
    assert render_csv(build_result(iter_journal(tmp_path / "journal.jsonl"))) == "one,failed"


def test_a_checklist_item_is_the_policy_file_and_a_feature(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    cfg = yaml.safe_load((REPO / "config" / "portforge.yaml").read_text())
    cfg["checklist"].append({"id": 9, "key": "backups", "en": "backups exist", "ko": "backups exist"})
    shutil.copytree(REPO / "features", tmp_path / "features")
    (tmp_path / "features" / "weekly" / "backups.feature").write_text(
        "@weekly @checklist_9\nFeature: backups\n  @read_only\n  Scenario: 9. the DR data can be compared\n"
        "    Given the target is in steady state\n    When replication has caught up\n    Then the rds copies match\n")
    cfg["policy"]["features"] = "features"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    assert main(["plan", "--config", str(path), "--cadence", "weekly", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    new = next(s for s in plan["scenarios"] if s["scenario"].startswith("9. "))
    assert "checklist_9" in new["tags"] and not new["destructive"]
    assert any(c["operation"] == "Scan" or c["kind"] == "mysql" for st in new["steps"] for c in st["calls"])
