from __future__ import annotations

import json
from pathlib import Path

from drill.faults import pending_from_journal
from drill.journal import Journal, read_journal
from drill.redact import Redactor
from drill.report import build_result


def test_events_are_flushed_as_written_and_read_back_typed(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.jsonl")
    j.write("drill_started", drill_id="d1", target="sandbox", cadence="quarterly")
    j.write("mark", name="fault")
    # another reader sees both lines before the journal is closed
    events = read_journal(tmp_path / "j.jsonl")
    assert [e.event for e in events] == ["drill_started", "mark"]
    assert events[0].get("drill_id") == "d1" and events[1].seq == 2
    assert events[1].mono >= events[0].mono and events[0].ts.endswith("Z")
    j.close()


def test_torn_last_line_is_skipped_and_report_says_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    j.write("drill_started", drill_id="d2", target="sandbox", cadence="quarterly")
    j.write("fault_planned", fault_id="region_outage-1", name="region_outage", params={"role": "primary"},
            undo={"name": "region_outage", "params": {"role": "primary"}})
    j.write("fault_injected", fault_id="region_outage-1", name="region_outage")
    j.close()
    with open(path, "a") as fh:
        fh.write('{"seq": 4, "ts": "2026-')  # killed mid-write
    events = read_journal(path)
    assert len(events) == 3
    result = build_result(events)
    assert result["complete"] is False and result["verdict"] == "incomplete"
    assert pending_from_journal(events) == [("region_outage-1", "region_outage", {"role": "primary"})]


def test_reverted_faults_are_not_pending(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.jsonl")
    j.write("fault_planned", fault_id="a", name="replication_lag", undo={"name": "replication_lag", "params": {}})
    j.write("fault_reverted", fault_id="a")
    j.close()
    assert pending_from_journal(read_journal(tmp_path / "j.jsonl")) == []


def test_secrets_never_reach_the_journal(tmp_path: Path) -> None:
    redactor = Redactor()
    redactor.add("s3cr3t-value-123")
    j = Journal(tmp_path / "j.jsonl", redactor)
    j.write("aws_call", detail="password=s3cr3t-value-123 in a message")
    j.close()
    text = (tmp_path / "j.jsonl").read_text()
    assert "s3cr3t-value-123" not in text and json.loads(text)["detail"] == "password=*** in a message"
