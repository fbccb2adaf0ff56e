"""Publishing the history: a run that started its own twin stops it at the end, and the twin's S3
with it, so the history is not published there (the run says why in one line); a published
report is linked where a browser opens it."""

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


def test_a_published_report_links_where_a_browser_opens_it() -> None:
    from drill.core.aws import make_client
    from drill.report.history import object_link

    key = "drill-reports/{id}/report.html"
    aws = make_client("s3", "ap-northeast-2", None, credentials=("AKIAEXAMPLE", "x"))
    assert object_link(aws, "reports", key, "d1") == (
        "https://s3.console.aws.amazon.com/s3/object/reports?region=ap-northeast-2&prefix=drill-reports/d1/report.html")
    gov = make_client("s3", "us-gov-west-1", None, credentials=("AKIAEXAMPLE", "x"))
    assert object_link(gov, "reports", key, "d1").startswith("https://console.amazonaws-us-gov.com/s3/object/reports?")
    twin = make_client("s3", "us-east-1", "http://127.0.0.1:4566", credentials=("AKIAEXAMPLE", "x"))
    link = object_link(twin, "reports", key, "d1")  # the bucket is private: a presigned GET, signed locally
    assert link.startswith("http://127.0.0.1:4566/reports/drill-reports/d1/report.html?") and "X-Amz-Signature=" in link
    assert "/us-east-1/s3/aws4_request" in link.replace("%2F", "/")  # SigV4: its scope routes it on the twin
