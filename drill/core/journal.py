"""The drill journal: an append-only JSONL event log, flushed as each event happens.

Every record carries UTC wall time (``ts`` ISO, ``t`` epoch seconds) and a monotonic offset
from the journal's start (``mono``), so durations never depend on the wall clock. A crash
leaves every record written so far; ``read_journal`` tolerates a torn last line.
Records that rollback depends on (``durable=True``) are fsynced before the call returns.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from drill.redact import Redactor


class Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    seq: int
    ts: str
    t: float
    mono: float
    event: str

    def get(self, key: str, default: Any = None) -> Any:
        return (self.model_extra or {}).get(key, default)


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Journal:
    def __init__(self, path: Path, redactor: Redactor | None = None):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._seq = 0
        self._t0_mono = time.monotonic()
        self._t0 = time.time()
        self.redactor = redactor or Redactor()
        if path.stat().st_size:
            existing = read_journal(path)
            self._seq = existing[-1].seq if existing else 0

    def now(self) -> tuple[float, float]:
        """(epoch seconds, monotonic offset) on one clock: wall time derived from the monotonic clock."""
        mono = time.monotonic() - self._t0_mono
        return self._t0 + mono, mono

    def write(self, event: str, durable: bool = False, at: float | None = None, **data: Any) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            t, mono = self.now()
            if at is not None:  # an observation timestamped by its source (e.g. a request log)
                mono, t = mono - (t - at), at
            rec = {"seq": self._seq, "ts": iso(t), "t": round(t, 6), "mono": round(mono, 6), "event": event}
            rec.update(data)
            line = self.redactor.scrub(json.dumps(rec, ensure_ascii=False, default=str))
            self._fh.write(line + "\n")
            self._fh.flush()
            if durable:
                os.fsync(self._fh.fileno())
        return rec

    def close(self) -> None:
        with self._lock:
            self._fh.close()


_TORN = re.compile(r"^\s*$")


def read_journal(path: Path) -> list[Event]:
    """Read every complete record; a line cut short by a crash is skipped."""
    events: list[Event] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if _TORN.match(line):
                continue
            try:
                events.append(Event.model_validate(json.loads(line)))
            except (ValueError, TypeError):
                continue
    return events
