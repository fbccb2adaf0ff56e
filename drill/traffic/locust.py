"""Runs locust in its own process(es) and reads back its per-request log.

Locust monkey-patches the standard library with gevent, so it never runs inside the engine:
one headless process, or a master plus ``workers`` worker processes on this machine, or a
master that waits for workers started elsewhere (``external_workers``).
"""

from __future__ import annotations

import glob
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from drill.config import REPO_ROOT
from drill.measure import Req

LOCUSTFILE = REPO_ROOT / "load" / "locustfile.py"


@dataclass
class RequestRecord:
    t: float
    method: str
    name: str
    status: int
    latency_ms: float
    region: str
    ok: bool


def read_request_log(paths: list[Path]) -> list[RequestRecord]:
    out: list[RequestRecord] = []
    for path in paths:
        try:
            fh = open(path, encoding="utf-8")
        except OSError:
            continue
        with fh:
            for line in fh:
                parts = line.rstrip("\n").split(",")
                if len(parts) != 7:
                    continue  # a line torn by a kill
                try:
                    out.append(RequestRecord(float(parts[0]), parts[1], parts[2], int(parts[3]),
                                             float(parts[4]), parts[5], parts[6] == "1"))
                except ValueError:
                    continue
    out.sort(key=lambda r: r.t)
    return out


def as_reqs(records: list[RequestRecord]) -> list[Req]:
    return [Req(r.t, r.ok, r.region) for r in records]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoadRunner:
    def __init__(self, base_url: str, log_dir: Path, api_host: str = "", grafana_host: str = "",
                 users: int = 20, spawn_rate: float = 20, user_rps: float = 10, workers: int = 0,
                 external_workers: int = 0, max_run_s: float = 3600, log_requests: bool = True,
                 master_bind_host: str = "127.0.0.1", master_port: int = 0, grafana_url: str = ""):
        self.base_url = base_url
        self.grafana_url = grafana_url
        self.log_dir = log_dir
        self.api_host = api_host
        self.grafana_host = grafana_host
        self.users = users
        self.spawn_rate = spawn_rate
        self.user_rps = user_rps
        self.workers = workers
        self.external_workers = external_workers
        self.max_run_s = max_run_s
        self.log_requests = log_requests
        self.master_bind_host = master_bind_host
        self.master_port = master_port
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started_at = 0.0

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(DRILL_API_HOST=self.api_host, DRILL_GRAFANA_HOST=self.grafana_host, DRILL_GRAFANA_URL=self.grafana_url,
                   DRILL_PARENT_PID=str(os.getpid()),
                   DRILL_USER_RPS=str(self.user_rps),
                   DRILL_REQUEST_LOG=str(self.log_dir / "requests-{pid}.csv") if self.log_requests else "")
        return env

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
                "--loglevel", "WARNING", "-H", self.base_url, "-u", str(self.users), "-r", str(self.spawn_rate),
                "--run-time", f"{int(self.max_run_s)}s", "--stop-timeout", "2"]
        out = open(self.log_dir / "locust.out", "ab")
        n_workers = self.workers + self.external_workers
        if n_workers:
            port = self.master_port or _free_port()
            master = base + ["--master", "--expect-workers", str(n_workers), "--master-bind-host",
                             self.master_bind_host, "--master-bind-port", str(port)]
            self.procs.append(subprocess.Popen(master, stdout=out, stderr=out, env=self._env()))
            for _ in range(self.workers):
                worker = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host",
                          "127.0.0.1", "--master-port", str(port), "--loglevel", "WARNING"]
                self.procs.append(subprocess.Popen(worker, stdout=out, stderr=out, env=self._env()))
        else:
            self.procs.append(subprocess.Popen(base, stdout=out, stderr=out, env=self._env()))
        out.close()
        self.started_at = time.time()

    def wait_for_traffic(self, deadline_s: float = 30.0) -> bool:
        """True once requests are being logged (locust and the users are up)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            for path in self.log_paths():
                if path.stat().st_size > 0:
                    return True
            if all(p.poll() is not None for p in self.procs):
                return False
            time.sleep(0.1)
        return False

    def log_paths(self) -> list[Path]:
        return [Path(p) for p in glob.glob(str(self.log_dir / "requests-*.csv"))]

    def stop(self, timeout_s: float = 15.0) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        end = time.monotonic() + timeout_s
        for proc in self.procs:
            try:
                proc.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def records(self) -> list[RequestRecord]:
        return read_request_log(self.log_paths())
