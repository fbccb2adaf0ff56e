"""Runs locust in its own process(es) and follows its request log.

Locust monkey-patches the standard library with gevent, so it never runs inside the engine: one
headless process, or a master plus ``workers`` local worker processes, or a master that also
waits for workers started elsewhere (``external_workers``). The master writes the one log (the
workers send it their records), gzip-compressed; ``LogReader`` follows it as it grows and yields
the records in time order (the log is in completion order: a short re-sort window orders it).
"""

from __future__ import annotations

import heapq
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drill.core.measure import Req
from drill.core.paths import LOAD_DIR
from drill.core.schema import Config

LOCUSTFILE = LOAD_DIR / "locustfile.py"
REORDER_S = 10.0  # a record is final once a record 10 s later was read (requests time out in 3 s)


@dataclass(frozen=True)
class RequestRecord:
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


def parse(line: str) -> RequestRecord | None:
    parts = line.rstrip("\n").split(",")
    if len(parts) != 8:
        return None  # a line torn by a kill
    try:
        return RequestRecord(float(parts[0]), parts[1], parts[2], int(parts[3]), float(parts[4]), parts[5],
                             parts[6] == "1", parts[7])
    except ValueError:
        return None


class LogReader:
    """Follows a gzip log made of members appended one per flush; yields complete lines."""

    def __init__(self, path: Path):
        self.path = path
        self._pos = 0
        self._dec = zlib.decompressobj(wbits=31)
        self._partial = b""

    def lines(self) -> Iterator[str]:
        try:
            fh = open(self.path, "rb")
        except OSError:
            return
        with fh:
            fh.seek(self._pos)
            data = fh.read()
        self._pos += len(data)
        out = b""
        while data:
            try:
                out += self._dec.decompress(data)
            except zlib.error:
                break
            if self._dec.eof:
                data = self._dec.unused_data
                self._dec = zlib.decompressobj(wbits=31)
            else:
                data = b""
        text = self._partial + out
        *complete, self._partial = text.split(b"\n")
        for raw in complete:
            yield raw.decode(errors="replace") + "\n"


def records(path: Path, final: bool = True) -> Iterator[RequestRecord]:
    """Every record of a finished log, in time order, with bounded memory (one re-sort window)."""
    reader = LogReader(path)
    heap: list[tuple[float, int, RequestRecord]] = []
    n = 0
    newest = float("-inf")
    for line in reader.lines():
        rec = parse(line)
        if rec is None:
            continue
        n += 1
        heapq.heappush(heap, (rec.t, n, rec))
        newest = max(newest, rec.t)
        while heap and heap[0][0] < newest - REORDER_S:
            yield heapq.heappop(heap)[2]
    while heap and final:
        yield heapq.heappop(heap)[2]


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
            for i in range(self.lc.workers):
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
