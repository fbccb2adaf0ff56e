"""Canary writers: one thread per store, writing sequenced, timestamped records at a fixed rate to
the store's copy in a role's region, and classifying each write (Jepsen's rule: anything that
cannot be proven either way is indeterminate, never ok and never lost).

The writers keep their schedule and never back up behind slow calls. Each write is journaled
(``canary``: store, seq, started, ack, outcome, region): that record is also the journal's
record of the call itself.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pymysql

from drill.core.journal import Journal
from drill.core.measure import Write, WriteLog


class CanaryWriter:
    """One store's writer thread. ``do_write(seq, role)`` raises to report failure."""

    def __init__(self, store: str, rate: float, journal: Journal | None, do_write: Callable[[int, str], None],
                 classify: Callable[[BaseException], str], role: str, region_of: Callable[[str], str],
                 first_seq: int = 1):
        self.store = store
        self.rate = rate
        self.interval = 1.0 / rate
        self.journal = journal
        self.do_write = do_write
        self.classify = classify
        self.role = role
        self.region_of = region_of
        self.writes = WriteLog(store)  # every write, for the RPO (compact: a drill of hours)
        self.first_seq = first_seq
        self._seq = first_seq - 1
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=f"canary-{store}", daemon=True)

    def start(self) -> None:
        if not self.thread.is_alive() and not self._stop.is_set():
            self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def retarget(self, role: str) -> None:
        with self._lock:
            self.role = role

    def _run(self) -> None:
        nxt = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now < nxt:
                self._stop.wait(nxt - now)
                continue
            nxt = max(nxt + self.interval, time.monotonic())
            self._seq += 1
            self.write_one(self._seq)

    def write_one(self, seq: int) -> Write:
        with self._lock:
            role = self.role
        started = time.time()
        error = ""
        try:
            self.do_write(seq, role)
            outcome, ack = "ok", time.time()
        except Exception as exc:
            outcome, ack = self.classify(exc), None
            error = f"{type(exc).__name__}: {str(exc)[:120]}"
        w = Write(self.store, seq, started, ack, outcome, self.region_of(role))
        self.writes.append(w)
        if self.journal is not None:
            self.journal.write("canary", store=self.store, seq=seq, started=round(started, 6),
                               ack=round(ack, 6) if ack else None, outcome=outcome, region=w.region, role=role,
                               error=error or None)
        return w


def classify_mysql(exc: BaseException) -> str:
    if isinstance(exc, pymysql.err.OperationalError | pymysql.err.InternalError):
        code = exc.args[0] if exc.args else 0
        if code in (2003, 1290, 1045, 1044, 1049):  # could not connect / read-only / access: not applied
            return "failed"
        return "indeterminate"  # 2013 lost connection, 2006 gone away, timeouts: unknown
    if isinstance(exc, pymysql.err.IntegrityError | pymysql.err.ProgrammingError):
        return "failed"
    return "indeterminate"


def classify_aws(exc: BaseException) -> str:
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return "failed"  # never reached the service
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
        return "failed" if 400 <= status < 500 else "indeterminate"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "indeterminate"
    return "indeterminate"
