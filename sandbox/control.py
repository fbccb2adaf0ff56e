"""The supervisor's control API: status, the data plane's sync, and the twin-only knobs.

Everything a drill observes or changes goes through what an account offers (AWS, Kubernetes,
DNS, the applications, Slack). What is here is what only a twin has: its status, network
conditions such as a replication delay, a crashed database server, and a reset to steady
state (for tests). A route table over the ``Twin`` facade.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.httpserver import Request, Response

if TYPE_CHECKING:
    from sandbox.supervisor import Supervisor
    from sandbox.twin import Twin

Handler = Callable[["Twin", "Supervisor", Request, dict[str, Any]], Any]
ROUTES: dict[tuple[str, str], Handler] = {}


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES[(method, path)] = fn
        return fn

    return register


def make_control_app(twin: Twin, sup: Supervisor) -> Callable[[Request], Response]:
    def app(req: Request) -> Response:
        handler = ROUTES.get((req.method, req.path))
        if handler is None:
            return Response.json({"error": f"no route {req.method} {req.path}"}, 404)
        try:
            body = req.json() if req.body else {}
            return Response.json(handler(twin, sup, req, body))
        except (KeyError, ValueError) as exc:
            return Response.json({"error": f"{type(exc).__name__}: {exc}"}, 400)

    return app


@route("GET", "/status")
def _status(twin: Twin, sup: Supervisor, req: Request, body: dict[str, Any]) -> Any:
    return twin.refresh_state()


@route("GET", "/events")
def _events(twin: Twin, sup: Supervisor, req: Request, body: dict[str, Any]) -> Any:
    since = float(req.arg("since", "0") or 0)
    out = []
    if twin.events_path.exists():
        out = [e for e in map(json.loads, twin.events_path.read_text(encoding="utf-8").splitlines()) if e["at"] >= since]
    out += [{"event": "dns_answer", **c} for c in twin.dns_changes if c["at"] >= since]
    for cluster, _ in twin.clusters.values():
        out += [{"cluster": cluster.name, **e} for e in cluster.events if e["at"] >= since]
    return sorted(out, key=lambda e: e["at"])


@route("GET", "/dataplane/state")
def _dp_state(twin: Twin, sup: Supervisor, req: Request, body: dict[str, Any]) -> Any:
    return twin.dataplane_state()


@route("POST", "/dataplane/health")
def _dp_health(twin: Twin, sup: Supervisor, req: Request, body: dict[str, Any]) -> Any:
    twin.dataplane_health(body)
    return {"ok": True}


@route("GET", "/replication")
def _replication(twin: Twin, sup: Supervisor, req: Request, body: dict[str, Any]) -> Any:
    return {"rds": twin.rds.replica_status(), "dynamodb": twin.ddb_repl.status(), "s3": twin.s3_repl.status()}


@route("POST", "/replication/rds")
def _repl_rds(twin: Twin, sup: Supervisor, req: Request, body: dict[str, Any]) -> Any:
    """Twin-only: the cross-region network's delay for the binlog stream."""
    if "delay_s" in body:
        twin.rds.set_delay(float(body["delay_s"]))
    twin.event("replication_rds", **body)
    return twin.rds.replica_status()


@route("POST", "/replication/dynamodb")
@route("POST", "/replication/s3")
def _repl_worker(twin: Twin, sup: Supervisor, req: Request, body: dict[str, Any]) -> Any:
    """Twin-only: a replication worker's delay, or all of it held (a network condition)."""
    worker = twin.ddb_repl if req.path.endswith("dynamodb") else twin.s3_repl
    if worker.external:
        raise ValueError(f"{worker.name} replication is done by {worker.external} here: it cannot be "
                         "delayed or held")
    if "delay_s" in body:
        worker.delay_s = float(body["delay_s"])
    if "paused" in body:
        worker.paused = bool(body["paused"])
    twin.event("replication_" + worker.name, **body)
    return worker.status()


@route("POST", "/rds")
def _rds(twin: Twin, sup: Supervisor, req: Request, body: dict[str, Any]) -> Any:
    """Twin-only: a database server dies (stop) or comes back (start)."""
    role, action = body.get("role", "primary"), body["action"]
    if role not in ("primary", "dr") or action not in ("stop", "start"):
        raise ValueError("role must be primary or dr, action stop or start")
    (twin.rds.stop_server if action == "stop" else twin.rds.start_server)(role)
    twin.event("rds_server", role=role, action=action)
    return {"role": role, "running": twin.rds.servers[role].running()}


@route("POST", "/reset")
def _reset(twin: Twin, sup: Supervisor, req: Request, body: dict[str, Any]) -> Any:
    from sandbox.reset import reset

    return reset(twin, sup)
