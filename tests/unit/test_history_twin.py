"""A run that started its own twin stops it at the end, and the twin's S3 with it: the history is
not published there (nothing would outlive the drill), and the run says why in one line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from drill.core.config import load_config
from drill.core.journal import read_journal
from drill.engine.runner import publish_history


def test_no_history_in_a_twin_the_run_stopped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_config(None, "sandbox", ["history.bucket=drill-history"]).config
    drill = SimpleNamespace(cfg=cfg, dir=tmp_path, journal=SimpleNamespace(redactor=None), started_twin=True,
                            target=None)  # no target: nothing may be called

    assert publish_history(drill) is None  # type: ignore[arg-type]

    out = capsys.readouterr().out
    assert "history NOT published to s3://drill-history/" in out and "drill sandbox up" in out
    assert [e.event for e in read_journal(tmp_path / "journal.jsonl")] == ["history_failed"]
