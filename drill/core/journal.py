"""The drill journal: an append-only JSONL event log, flushed as each event happens.

Every record carries UTC wall time (``ts`` ISO, ``t`` epoch seconds) and a monotonic offset
from the journal's start (``mono``), so durations never depend on the wall clock. Records that
rollback depends on (``durable=True``) are fsynced before the call returns. Values are redacted
as structured data before they are serialised (``Redactor.scrub_obj``).

A long drill's journal is rotated by size: ``journal.jsonl`` is the segment being written,
``journal-000001.jsonl`` ... the full ones, oldest first; readers read every segment in order.
Reading is typed: a malformed record raises ``InvalidInput`` naming the file and line (a line
cut short by a crash at the very end is the one exception, and is repaired before appending).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from drill.core.errors import InvalidInput
from drill.core.redact import Redactor

ROTATE_BYTES = 64 * 1024 * 1024


class Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    seq: int
    ts: str
    t: float
    mono: float
    event: str

    def get(self, key: str, default: Any = None) -> Any:
        return (self.model_extra or {}).get(key, default)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="allow")


class DrillStarted(_Strict):
    drill_id: str
    target: str
    cadence: str
    applied: dict[str, Any]


class FaultPlanned(_Strict):
    fault_id: str
    name: str
    params: dict[str, Any]
    undo: dict[str, Any]


class FaultDone(_Strict):
    fault_id: str


class LoadStarted(_Strict):
    pids: list[int]


# the records rollback and the report act on: each must have its fields, with their types
SHAPES: dict[str, type[BaseModel]] = {"drill_started": DrillStarted, "fault_planned": FaultPlanned,
                                      "fault_injected": FaultDone, "fault_reverted": FaultDone,
                                      "load_started": LoadStarted}


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def segments(path: Path) -> list[Path]:
    """Every segment of the journal at ``path``, oldest first (the current one last)."""
    rotated = sorted(path.parent.glob(f"{path.stem}-[0-9][0-9][0-9][0-9][0-9][0-9]{path.suffix}"))
    return rotated + ([path] if path.exists() else [])


class Journal:
    def __init__(self, path: Path, redactor: Redactor | None = None, rotate_bytes: int = ROTATE_BYTES):
        self.path = path
        self.rotate_bytes = rotate_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        self._lock = threading.Lock()
        self._seq = 0
        self._t0_mono = time.monotonic()
        self._t0 = time.time()
        self.redactor = redactor or Redactor()
        for ev in iter_journal(path, missing_ok=True):
            self._seq = ev.seq
        self._fh = open(path, "a", encoding="utf-8")
        self._size = path.stat().st_size

    def _repair_torn_tail(self) -> None:
        """A record cut short by a crash (no final newline) is moved aside before appending."""
        if not self.path.exists() or not self.path.stat().st_size:
            return
        with open(self.path, "rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) == b"\n":
                return
            fh.seek(0)
            data = fh.read()
            cut = data.rfind(b"\n") + 1
            (self.path.parent / (self.path.name + ".torn")).write_bytes(data[cut:])
            fh.truncate(cut)

    def now(self) -> tuple[float, float]:
        """(epoch seconds, monotonic offset) on one clock: wall time derived from the monotonic clock."""
        mono = time.monotonic() - self._t0_mono
        return self._t0 + mono, mono

    def write(self, event: str, durable: bool = False, at: float | None = None, **data: Any) -> dict[str, Any]:
        """Append one record. Raises OSError when the disk refuses it (callers that must go on,
        such as an undo loop, catch it)."""
        with self._lock:
            self._seq += 1
            t, mono = self.now()
            if at is not None:  # an observation timestamped by its source (e.g. a request log)
                mono, t = mono - (t - at), at
            rec = {"seq": self._seq, "ts": iso(t), "t": round(t, 6), "mono": round(mono, 6), "event": event}
            # redacted as values, before serialising (a secret with a quote would break the JSON)
            rec.update(self.redactor.scrub_obj(json.loads(json.dumps(data, default=str))))
            line = json.dumps(rec, ensure_ascii=False) + "\n"
            size = len(line.encode())
            if self._size + size > self.rotate_bytes and self._size:
                self._rotate()
            self._fh.write(line)
            self._fh.flush()
            self._size += size
            if durable:
                os.fsync(self._fh.fileno())
        return rec

    def _rotate(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        n = len(segments(self.path))
        os.replace(self.path, self.path.parent / f"{self.path.stem}-{n:06d}{self.path.suffix}")
        self._fh = open(self.path, "a", encoding="utf-8")
        self._size = 0

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()


def iter_journal(path: Path, missing_ok: bool = False) -> Iterator[Event]:
    """Every record of every segment, in order, typed. Raises InvalidInput on a malformed record
    (file and line named); a torn last line of the last segment is skipped."""
    parts = segments(path)
    if not parts and not missing_ok:
        raise InvalidInput(f"{path}: no journal here")
    for n_part, part in enumerate(parts):
        last_part = n_part == len(parts) - 1
        try:
            fh = open(part, encoding="utf-8", errors="strict")
        except OSError as exc:
            raise InvalidInput(f"{part}: cannot read: {exc.strerror}") from None
        with fh:
            lineno = 0
            pending: str | None = None
            try:
                for raw in fh:
                    if pending is not None:
                        yield _parse(part, lineno, pending)
                    lineno += 1
                    pending = raw
            except UnicodeDecodeError:
                raise InvalidInput(f"{part}: line {lineno + 1}: not UTF-8 text") from None
            if pending is not None:
                torn = not pending.endswith("\n")
                if torn and last_part:
                    try:
                        yield _parse(part, lineno, pending)
                    except InvalidInput:
                        return  # cut short by a crash: what came before stands
                else:
                    yield _parse(part, lineno, pending)


def _parse(part: Path, lineno: int, line: str) -> Event:
    where = f"{part.name} line {lineno}"
    if not line.strip():
        raise InvalidInput(f"{where}: empty line in a journal")
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        raise InvalidInput(f"{where}: not a JSON record") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: a record must be a JSON object")
    try:
        ev = Event.model_validate(data)
        shape = SHAPES.get(ev.event)
        if shape is not None:
            shape.model_validate(ev.model_extra or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "record"
        raise InvalidInput(f"{where}: {data.get('event', 'record')!s:.40}: {loc}: {first['msg']}") from None
    return ev


def read_journal(path: Path) -> list[Event]:
    return list(iter_journal(path))
