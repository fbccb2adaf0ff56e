"""`drill rollback` of a drill that finished but left something behind (load workers) finishes the
job without rewriting the drill's end: its status and end time stay the drill's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from drill.core.config import load_config
from drill.core.journal import Journal, read_journal
from drill.engine.rollback import rollback_drill, unfinished


def test_a_finished_drill_keeps_its_status_through_a_rollback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_RUNTIME_DIR", str(tmp_path / "no-twin"))  # the twin is gone
    drill_dir = tmp_path / "reports" / "20261129T000000Z-quarterly-abcd"
    drill_dir.mkdir(parents=True)
    journal = Journal(drill_dir / "journal.jsonl")
    journal.write("drill_started", drill_id="abcd", target="sandbox", cadence="quarterly", applied={})
    journal.write("load_workers_deploying", namespace="drill-load", deployment="drill-load-abcd")
    journal.write("drill_finished", status="passed")
    journal.close()
    assert unfinished(tmp_path / "reports") == [drill_dir]  # the workers were never removed

    result = rollback_drill(load_config(None, "sandbox"), drill_dir, None)

    assert result["ok"], result
    ends = [e for e in read_journal(drill_dir / "journal.jsonl") if e.event == "drill_finished"]
    assert [e.get("status") for e in ends] == ["passed"]
    assert any(e.event == "rollback_finished" for e in read_journal(drill_dir / "journal.jsonl"))
    assert unfinished(tmp_path / "reports") == []  # the workers went with the twin: nothing left to retry


def test_a_drill_killed_before_its_end_is_finished_as_rolled_back(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_RUNTIME_DIR", str(tmp_path / "no-twin"))
    drill_dir = tmp_path / "reports" / "20261129T000000Z-quarterly-efgh"
    drill_dir.mkdir(parents=True)
    journal = Journal(drill_dir / "journal.jsonl")
    journal.write("drill_started", drill_id="efgh", target="sandbox", cadence="quarterly", applied={})
    journal.close()

    rollback_drill(load_config(None, "sandbox"), drill_dir, None)

    ends = [e for e in read_journal(drill_dir / "journal.jsonl") if e.event == "drill_finished"]
    assert [e.get("status") for e in ends] == ["rolled_back"]
    assert unfinished(tmp_path / "reports") == []
