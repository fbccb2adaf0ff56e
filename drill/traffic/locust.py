"""Runs locust in its own process(es) and follows its request log.

Locust monkey-patches the standard library with gevent, so it never runs inside the engine: one
headless process, or a master plus ``workers`` local worker processes, or a master that also
waits for workers started elsewhere (``external_workers``). The master writes the one log (the
workers send it their records), gzip-compressed; ``LogReader`` follows it as it grows; ``records`` and
``follow`` yield the records in time order (the log is in completion order: ``Reorder`` holds a
short re-sort window).
"""

from __future__ import annotations

import bisect
import json
import operator
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from drill.core.measure import Req
from drill.core.paths import LOAD_DIR
from drill.core.schema import Config

LOCUSTFILE = LOAD_DIR / "locustfile.py"
REORDER_S = 10.0  # a record is final once a record 10 s later was read (requests time out in 3 s)


class RequestRecord(NamedTuple):  # a tuple: a long drill's log holds millions
    t: float
    method: str
    name: str
    status: int
    latency_ms: float
    region: str
    ok: bool
    address: str

    def req(self) -> Req:
        return Req(self.t, self.ok, self.region)


Fields = tuple[float, str, str, int, float, str, bool, str]


def fields(line: str) -> Fields | None:
    """A record's fields as a plain tuple: what Reorder holds. CPython's collector stops tracking
    a plain tuple of numbers and strings once it has survived a collection, while a NamedTuple
    stays tracked: ten seconds of records held at 17,000 req/s made every full collection walk
    them (13.6 s of collections in a 10,000,000-request measurement; 1.4 s with plain tuples)."""
    parts = line.rstrip("\n").split(",")  # a line of LogReader, or of a file
    if len(parts) != 8:
        return None  # a line torn by a kill
    try:
        t, method, name, status, latency, region, ok, address = parts
        return (float(t), method, name, int(status), float(latency), region, ok == "1", address)
    except ValueError:
        return None


def parse(line: str) -> RequestRecord | None:
    f = fields(line)
    return None if f is None else _record(f)


_record = RequestRecord._make


CHUNK = 1 << 20  # compressed bytes read at a time: memory stays bounded however long the log


class LogReader:
    """Follows a gzip log made of members appended one per flush; yields complete lines."""

    def __init__(self, path: Path):
        self.path = path
        self._pos = 0
        self._dec = zlib.decompressobj(wbits=31)
        self._partial = b""

    def lines(self) -> Iterator[str]:
        """The complete lines added since the last call (without their newline), read and inflated a
        chunk at a time."""
        try:
            fh = open(self.path, "rb")
        except OSError:
            return
        with fh:
            fh.seek(self._pos)
            while data := fh.read(CHUNK):
                self._pos += len(data)
                out: list[bytes] = []
                while data:
                    try:
                        out.append(self._dec.decompress(data))
                    except zlib.error:
                        break
                    if self._dec.eof:
                        data = self._dec.unused_data
                        self._dec = zlib.decompressobj(wbits=31)
                    else:
                        data = b""
                text = self._partial + b"".join(out)
                end = text.rfind(b"\n")
                self._partial = text[end + 1:]
                if end >= 0:
                    yield from text[:end].decode(errors="replace").split("\n")


class Reorder:
    """Records put back in time order, holding only the records of one re-sort window (and as many
    new ones again, or a batch): a record is released once a record ``REORDER_S`` newer was read
    (or, following a live log, once the wall clock is that far past it). Batches are sorted at
    once (nearly sorted: linear)."""

    BATCH = 8192

    def __init__(self) -> None:
        self._buf: list[Fields] = []  # plain tuples (see ``fields``), made records on release
        self._next = self.BATCH
        self.newest = float("-inf")

    def add_lines(self, lines: Iterable[str]) -> Iterator[RequestRecord]:
        """Take ``lines``; yield the records they make final."""
        buf = self._buf
        for line in lines:
            rec = fields(line)
            if rec is None:
                continue
            buf.append(rec)
            if rec[0] > self.newest:
                self.newest = rec[0]
            if len(buf) >= self._next:
                yield from self.release(self.newest - REORDER_S)

    def release(self, before: float) -> Iterator[RequestRecord]:
        """The held records older than ``before``, in time order (arrival order among equals), each
        made a record as it is taken (a list of them would keep up to a window of tracked objects
        alive across the collections their consumer's allocations trigger)."""
        buf = self._buf
        buf.sort(key=_time)
        i = bisect.bisect_left(buf, before, key=_time)
        out = map(_record, buf[:i])
        del buf[:i]
        # the next sort when the buffer has grown by the window it holds (or a batch): each sort
        # is then paid for by as many new records as it handles, at any request rate (a sort every
        # batch re-sorted the whole window each time: in bench/report.py, 10,000,000 requests at
        # 17,000 req/s took 72-123 s with that and held NamedTuples, see fields() above; 44.6 s
        # now). It holds up to two windows: 286 MiB peak there, against 217 MiB
        self._next = len(buf) + max(self.BATCH, len(buf))
        return out


_time = operator.itemgetter(0)  # a record's time, its first field


def records(path: Path, final: bool = True) -> Iterator[RequestRecord]:
    """Every record of a finished log, in time order, with bounded memory (one re-sort window)."""
    order = Reorder()
    yield from order.add_lines(LogReader(path).lines())
    yield from order.release(float("inf") if final else order.newest - REORDER_S)


def follow(path: Path, done: Callable[[], bool], deadline_s: float, then: Callable[[], None],
           poll_s: float = 0.5) -> Iterator[RequestRecord]:
    """Every record of a log that is still being written, in time order, in one pass: following it
    as it grows until ``done()`` (or ``deadline_s``), then ``then()`` (which ends the writing), then
    the rest of it."""
    reader, order = LogReader(path), Reorder()
    end = time.monotonic() + deadline_s
    while not done() and time.monotonic() < end:
        yield from order.add_lines(reader.lines())
        yield from order.release(max(order.newest, time.time()) - REORDER_S)
        if not done():
            time.sleep(poll_s)
    then()
    yield from order.add_lines(reader.lines())
    yield from order.release(float("inf"))


def profile_env(cfg: Config, resolver: str | None, region_albs: dict[str, list[str]]) -> dict[str, Any]:
    """What the locustfile needs: the requests, the hostnames, how to reach and attribute them."""
    ep = cfg.endpoints
    return {"requests": [r.model_dump(mode="json") for r in cfg.load.requests],
            "hosts": {h: cfg.fqdn(h) for a in cfg.albs for h in a.serves},
            "scheme": ep.scheme, "port": ep.port_or_default(), "resolver": resolver,
            "region_by": ep.region_by, "region_field": ep.region_field, "albs": region_albs,
            "user_rps": cfg.load.user_rps}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoadRunner:
    def __init__(self, cfg: Config, log_dir: Path, profile: dict[str, Any], max_run_s: float = 3600,
                 locustfile: Path | None = None):
        self.cfg = cfg
        self.lc = cfg.load
        self.log_dir = log_dir
        self.profile = profile
        self.max_run_s = max_run_s
        self.locustfile = locustfile or (Path(self.lc.locustfile) if self.lc.locustfile else LOCUSTFILE)
        self.log_path = log_dir / "requests.csv.gz"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.master_port = 0

    def _env(self, log: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(DRILL_PROFILE=json.dumps(self.profile), DRILL_PARENT_PID=str(os.getpid()),
                   DRILL_REQUEST_LOG=str(self.log_path) if log else "", **(extra or {}))
        return env

    def start(self, worker_env: list[dict[str, str]] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        base = [sys.executable, "-m", "locust", "-f", str(self.locustfile), "--headless", "--only-summary",
                "--loglevel", "WARNING", "-u", str(self.lc.users), "-r", str(self.lc.spawn_rate),
                "--run-time", f"{int(self.max_run_s)}s", "--stop-timeout", "2"]
        out = open(self.log_dir / "locust.out", "ab")
        n_workers = self.lc.workers + self.lc.external_workers
        if n_workers:
            self.master_port = self.lc.master_port or _free_port()
            master = base + ["--master", "--expect-workers", str(n_workers), "--master-bind-host",
                             self.lc.master_bind_host, "--master-bind-port", str(self.master_port)]
            self.procs.append(subprocess.Popen(master, stdout=out, stderr=out, env=self._env(True)))
            for i in range(self.lc.workers if self.lc.mode == "local" else 0):  # kubernetes: pods
                worker = [sys.executable, "-m", "locust", "-f", str(self.locustfile), "--worker", "--master-host",
                          "127.0.0.1", "--master-port", str(self.master_port), "--loglevel", "WARNING"]
                extra = (worker_env or [])[i] if worker_env and i < len(worker_env) else None
                self.procs.append(subprocess.Popen(worker, stdout=out, stderr=out, env=self._env(False, extra)))
        else:
            self.procs.append(subprocess.Popen(base, stdout=out, stderr=out, env=self._env(True)))
        out.close()

    def wait_for_traffic(self, deadline_s: float = 30.0) -> bool:
        """True once requests are being logged (locust and the users are up)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.log_path.exists() and self.log_path.stat().st_size > 0:
                return True
            if all(p.poll() is not None for p in self.procs):
                return False
            time.sleep(0.1)
        return False

    @property
    def running(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def stop(self, timeout_s: float = 15.0) -> None:
        for proc in reversed(self.procs):  # workers first, then the master flushes the last records
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        end = time.monotonic() + timeout_s
        for proc in self.procs:
            try:
                proc.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def records(self) -> Iterator[RequestRecord]:
        return records(self.log_path)
