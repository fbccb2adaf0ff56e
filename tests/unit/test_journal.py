"""The drill journal (drill.core.journal): round trip, durability, typed reading, torn tails,
rotation and redaction, on files in a tmp dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drill.core import journal as journal_mod
from drill.core.errors import InvalidInput
from drill.core.journal import Journal, iso, iter_journal, read_journal, segments
from drill.core.redact import Redactor


def _rec(seq: int, event: str = "note", **data: Any) -> str:
    return json.dumps({"seq": seq, "ts": iso(1.7e9 + seq), "t": 1.7e9 + seq, "mono": float(seq), "event": event,
                       **data}) + "\n"


def _journal(tmp_path: Path, **kw: Any) -> Journal:
    kw.setdefault("redactor", Redactor(from_env=False))
    return Journal(tmp_path / "journal.jsonl", **kw)


def test_round_trip(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    recs = [j.write("drill_started", drill_id="d1", target="sandbox", cadence="monthly", applied={"a": 1}),
            j.write("note", text="안녕 \"quoted\" \\ back", n=[1, 2.5, None]),
            j.write("mark", at=1234.5, name="fault")]
    j.close()
    events = read_journal(j.path)
    assert [e.seq for e in events] == [1, 2, 3]
    assert [e.event for e in events] == ["drill_started", "note", "mark"]
    assert events[0].get("applied") == {"a": 1}
    assert events[1].get("text") == "안녕 \"quoted\" \\ back" and events[1].get("n") == [1, 2.5, None]
    assert events[1].get("absent", "dflt") == "dflt"
    assert (events[2].t, events[2].ts) == (1234.5, iso(1234.5)) == (1234.5, "1970-01-01T00:20:34.500Z")
    assert events[0].ts.endswith("Z") and events[0].mono <= events[1].mono
    assert [e.model_dump() for e in events] == recs
    assert [e.seq for e in iter_journal(j.path)] == [1, 2, 3]


def test_reopen_continues_the_sequence(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    j.write("a")
    j.write("b")
    j.close()
    j2 = _journal(tmp_path)
    assert j2.write("c")["seq"] == 3
    j2.close()
    assert [e.event for e in read_journal(j2.path)] == ["a", "b", "c"]


def test_each_write_is_on_disk_before_close(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    j.write("one", k=1)
    assert [e.event for e in read_journal(j.path)] == ["one"]
    j.close()


def test_durable_write_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(journal_mod.os, "fsync", lambda fd: synced.append(fd))
    j = _journal(tmp_path)
    j.write("plain")
    assert synced == []
    j.write("fault_planned", durable=True, fault_id="f1", name="x", params={}, undo={"op": "y"})
    assert synced == [j._fh.fileno()]
    j.close()
    assert read_journal(j.path)[-1].get("undo") == {"op": "y"}


def test_missing_journal(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no journal"):
        read_journal(tmp_path / "journal.jsonl")
    assert list(iter_journal(tmp_path / "journal.jsonl", missing_ok=True)) == []


BAD_LINES = {
    "garbage": ("this is not json\n", "not a JSON record"),
    "empty": ("\n", "empty line"),
    "array": ("[1, 2, 3]\n", "JSON object"),
    "string": ('"text"\n', "JSON object"),
    "seq_type": ('{"seq": "two", "ts": "x", "t": 1.0, "mono": 1.0, "event": "note"}\n', "seq"),
    "no_event": ('{"seq": 2, "ts": "x", "t": 1.0, "mono": 1.0}\n', "event"),
    "params_type": (_rec(2, "fault_planned", fault_id="f", name="n", params="oops", undo={}), "params"),
    "undo_missing": (_rec(2, "fault_planned", fault_id="f", name="n", params={}), "undo"),
    "fault_id_type": (_rec(2, "fault_reverted", fault_id=["f"]), "fault_id"),
    "pids_type": (_rec(2, "load_started", pids=["one"]), "pids"),
    "applied_type": (_rec(2, "drill_started", drill_id="d", target="t", cadence="c", applied=[1]), "applied"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
@pytest.mark.parametrize("reader", [read_journal, lambda p: list(iter_journal(p))], ids=["read", "iter"])
def test_malformed_line_in_the_middle(tmp_path: Path, case: str, reader: Any) -> None:
    line, words = BAD_LINES[case]
    path = tmp_path / "journal.jsonl"
    path.write_text(_rec(1) + line + _rec(3), encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        reader(path)
    msg = str(exc.value)
    assert "journal.jsonl" in msg and "line 2" in msg and words in msg
    assert "\n" not in msg


def test_deeply_nested_line_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(_rec(1) + "[" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 2"):
        read_journal(path)


def test_iter_yields_the_good_records_before_the_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(_rec(1, "first") + "garbage\n", encoding="utf-8")
    it = iter_journal(path)
    assert next(it).event == "first"
    with pytest.raises(InvalidInput, match="line 2"):
        next(it)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(_rec(1).encode() + b'{"seq": 2, "x": "\xff\xfe"}\n')
    with pytest.raises(InvalidInput, match="UTF-8"):
        read_journal(path)


def test_a_bad_last_line_with_its_newline_is_not_torn(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(_rec(1) + '{"seq": 2, "ts\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 2"):
        read_journal(path)


def test_torn_last_line_is_skipped_then_repaired_on_append(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    torn = '{"seq": 3, "ts": "2024-01-0'
    path.write_text(_rec(1, "a") + _rec(2, "b") + torn, encoding="utf-8")
    assert [e.event for e in read_journal(path)] == ["a", "b"]
    j = _journal(tmp_path)
    assert (tmp_path / "journal.jsonl.torn").read_text(encoding="utf-8") == torn
    assert path.read_text(encoding="utf-8") == _rec(1, "a") + _rec(2, "b")
    assert j.write("c")["seq"] == 3
    j.close()
    events = read_journal(path)
    assert [(e.seq, e.event) for e in events] == [(1, "a"), (2, "b"), (3, "c")]


def test_torn_line_in_an_older_segment_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "journal-000001.jsonl").write_text(_rec(1) + '{"seq": 2, "t', encoding="utf-8")
    (tmp_path / "journal.jsonl").write_text(_rec(3), encoding="utf-8")
    with pytest.raises(InvalidInput, match="journal-000001.jsonl line 2"):
        read_journal(tmp_path / "journal.jsonl")


def test_rotation_keeps_every_event_whole_and_in_order(tmp_path: Path) -> None:
    j = _journal(tmp_path, rotate_bytes=1500)
    for i in range(200):
        j.write("canary", store="rds", i=i, pad="x" * (i % 37))
    j.close()
    parts = segments(j.path)
    assert len(parts) > 10  # past journal-000009: names must still sort in order
    assert [p.name for p in parts[:2]] == ["journal-000001.jsonl", "journal-000002.jsonl"]
    assert parts[-1] == j.path and parts[-2].name == f"journal-{len(parts) - 1:06d}.jsonl"
    assert all(p.stat().st_size <= 1500 for p in parts)
    events = read_journal(j.path)
    assert [e.seq for e in events] == list(range(1, 201))
    assert [e.get("i") for e in iter_journal(j.path)] == list(range(200))
    assert all(e.get("pad") == "x" * (e.get("i") % 37) for e in events)
    j2 = _journal(tmp_path, rotate_bytes=1500)
    assert j2.write("after")["seq"] == 201
    j2.close()


def test_rotation_limit_is_in_bytes_for_non_ascii_records(tmp_path: Path) -> None:
    j = _journal(tmp_path, rotate_bytes=2000)
    for i in range(12):  # each record ~700 bytes but ~400 characters
        j.write("note", i=i, text="서울에서도쿄로" * 30)
    j.close()
    parts = segments(j.path)
    assert len(parts) > 2
    assert [p.stat().st_size for p in parts if p.stat().st_size > 2000] == []


SECRETS = ['pa"ss\\wd-0ne', 'tok\\en"4"2', "비밀-암호-42", "s3cr3t\nline"]


def _forms(secret: str) -> list[bytes]:
    return [f.encode() for f in {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
                                 repr(secret)[1:-1]}]


def test_redacted_journal_never_holds_a_secret(tmp_path: Path) -> None:
    red = Redactor(from_env=False)
    for s in [*SECRETS, 'x"y']:
        red.add(s)
    j = _journal(tmp_path, redactor=red)
    for s in SECRETS:
        j.write("note", durable=True, value=s, text=f"login with {s} now", nested={"k": [s, {s: (s, 1)}]})
    j.write("short", value='x"y', items=['x"y'])
    j.close()
    raw = j.path.read_bytes()
    for s in SECRETS:
        for form in _forms(s):
            assert form not in raw, (s, form)
    assert b'"x\\"y"' not in raw  # a short secret as a whole value, as JSON writes it
    events = read_journal(j.path)
    assert events[0].get("value") == "***" and events[0].get("text") == "login with *** now"
    assert events[0].get("nested") == {"k": ["***", {"***": ["***", 1]}]}
    assert events[-1].get("items") == ["***"]


def test_secret_with_a_quote_leaves_the_journal_readable(tmp_path: Path) -> None:
    red = Redactor(from_env=False)
    red.add('hunter2"')
    j = _journal(tmp_path, redactor=red)
    j.write("note", msg="my hunter2")  # not the secret: the closing quote is JSON's, not the value's
    j.write("note", msg='my hunter2" leaked')
    j.close()
    events = read_journal(j.path)
    assert events[0].get("msg") == "my hunter2"
    assert events[1].get("msg") == "my *** leaked"
