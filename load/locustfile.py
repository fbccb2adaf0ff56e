"""PortForge's traffic profile, run by locust in its own process (never imported by pytest).

Reads and writes across the services through api.<domain> and grafana.<domain>. Every request
is appended to a per-process log (``DRILL_REQUEST_LOG``, CSV: start time, method, name, status,
latency ms, serving region, ok) that the engine reads to measure user-facing RTO.

Environment: DRILL_API_HOST / DRILL_GRAFANA_HOST (Host headers when the target URL is an edge;
empty to use the URL as is), DRILL_GRAFANA_URL (grafana's own base URL when hostnames resolve
through real DNS), DRILL_USER_RPS (per-user request rate), DRILL_REQUEST_LOG.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment

API_HOST = os.environ.get("DRILL_API_HOST", "")
GRAFANA_HOST = os.environ.get("DRILL_GRAFANA_HOST", "")
GRAFANA_URL = os.environ.get("DRILL_GRAFANA_URL", "").rstrip("/")
USER_RPS = float(os.environ.get("DRILL_USER_RPS", "10"))
LOG_PATH = os.environ.get("DRILL_REQUEST_LOG", "")
REGION_HEADER = "X-Drill-Region"

_buffer: list[str] = []
_fh: Any = None


def _open_log() -> None:
    global _fh
    if LOG_PATH and _fh is None:
        path = LOG_PATH if "{pid}" not in LOG_PATH else LOG_PATH.format(pid=os.getpid())
        _fh = open(path, "a", encoding="utf-8", buffering=1 << 16)


def _flush() -> None:
    if _fh is not None and _buffer:
        _fh.write("".join(_buffer))
        _buffer.clear()
        _fh.flush()


PARENT_PID = int(os.environ.get("DRILL_PARENT_PID", "0") or 0)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    import gevent

    _open_log()
    if PARENT_PID:
        def watch_parent() -> None:
            """A drill killed with SIGKILL cannot stop its load: stop when the drill is gone."""
            while True:
                gevent.sleep(0.5)
                try:
                    os.kill(PARENT_PID, 0)
                except ProcessLookupError:
                    _flush()
                    if environment.runner is not None:
                        environment.runner.quit()
                    os._exit(0)

        gevent.spawn(watch_parent)
    if LOG_PATH:
        def flusher() -> None:
            while True:
                gevent.sleep(0.25)
                _flush()

        gevent.spawn(flusher)


@events.request.add_listener
def _on_request(request_type: str, name: str, response_time: float, response: Any = None,
                 exception: Any = None, start_time: float | None = None, **_: Any) -> None:
    if not LOG_PATH:
        return
    status = getattr(response, "status_code", 0) or 0
    region = ""
    headers = getattr(response, "headers", None)
    if headers is not None:
        region = headers.get(REGION_HEADER) or ""
    ok = exception is None and 200 <= status < 400
    t = start_time if start_time is not None else time.time() - response_time / 1000.0
    _buffer.append(f"{t:.6f},{request_type},{name},{status},{response_time:.2f},{region},{int(ok)}\n")


@events.test_stop.add_listener
def _on_stop(**_: Any) -> None:
    _flush()


@events.quitting.add_listener
def _on_quit(**_: Any) -> None:
    _flush()


class PortForgeUser(FastHttpUser):
    wait_time = constant_throughput(USER_RPS)
    network_timeout = 3.0
    connection_timeout = 2.0

    def _h(self, host: str = "") -> dict[str, str]:
        host = host or API_HOST
        return {"Host": host} if host else {}

    @task(30)
    def health(self) -> None:
        self.client.get("/health", headers=self._h(), name="GET /health")

    @task(20)
    def list_projects(self) -> None:
        self.client.get("/projects/api/projects", headers=self._h(), name="GET projects")

    @task(10)
    def create_project(self) -> None:
        self.client.post("/projects/api/projects", json={"name": f"p-{random.randint(0, 10**9)}", "owner": "load"},
                         headers=self._h(), name="POST projects")

    @task(10)
    def auth_health(self) -> None:
        self.client.get("/auth/health", headers=self._h(), name="GET auth")

    @task(8)
    def team_health(self) -> None:
        self.client.get("/teams/health", headers=self._h(), name="GET teams")

    @task(5)
    def post_chat(self) -> None:
        self.client.post("/teams/api/chats", json={"room_id": f"room-{random.randint(1, 50)}", "text": "hello"},
                         headers=self._h(), name="POST chats")

    @task(5)
    def ai(self) -> None:
        self.client.get("/ai/health", headers=self._h(), name="GET ai")

    @task(2)
    def grafana(self) -> None:
        self.client.get(f"{GRAFANA_URL}/api/health", headers=self._h(GRAFANA_HOST), name="GET grafana")
