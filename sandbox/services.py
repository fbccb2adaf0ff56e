"""Regional service stand-ins: what each region's ALB serves.

One ``RegionServices`` per region holds the fault flags and the data clients; one ALB app per
(ALB, region) routes by Host and path to the services of section 3 the way the EKS ingresses
do. A service answers only while its deployment has a Ready pod in that region's cluster (the
ALB's targets), so scale-down, pod kills and region outages show up as users would see them.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pymysql

from drill.config import Config, Workload
from sandbox.httpserver import Request, Response


class ServiceFlags:
    """A region's fault switches: the whole region down, or single services down / unhealthy."""

    def __init__(self) -> None:
        self.region_down = False
        self.failed: dict[str, str] = {}  # service name -> "down" | "health"

    def service_up(self, service: str) -> bool:
        """Whether the service's processes run (drives pod readiness)."""
        return not self.region_down and self.failed.get(service) != "down"


class RegionServices(ServiceFlags):
    def __init__(self, cfg: Config, role: str, db_endpoint: Callable[[], tuple[str, int]],
                 app_user: str, app_password: str, client: Callable[[str, str], Any]):
        self.cfg = cfg
        self.role = role
        self.region = cfg.region_name(role)
        self.db_endpoint = db_endpoint
        self.app_user = app_user
        self.app_password = app_password
        self.client = client
        super().__init__()
        self.available: Callable[[str], int] = lambda deployment: 1
        self._local = threading.local()
        api = cfg.sandbox.data_api
        self.table = api.dynamodb_table
        pair = next((b for b in cfg.s3.buckets if b.name == api.s3_bucket), None)
        self.bucket = (pair.name if role == "primary" else pair.dr) if pair else api.s3_bucket
        self.requests = 0

    # ---------------------------------------------------------------- state

    def serving(self, wl: Workload) -> bool:
        return self.service_up(wl.name) and self.available(wl.deployment) > 0

    def health_ok(self, wl: Workload) -> bool:
        return self.serving(wl) and self.failed.get(wl.name) != "health"

    # ---------------------------------------------------------------- data plane

    def _db(self) -> pymysql.connections.Connection[Any]:
        conn = getattr(self._local, "conn", None)
        endpoint = self.db_endpoint()
        if conn is None or getattr(self._local, "endpoint", None) != endpoint:
            host, port = endpoint
            conn = pymysql.connect(host=host, port=port, user=self.app_user, password=self.app_password,
                                   database=self.cfg.rds.database, connect_timeout=1, read_timeout=2,
                                   write_timeout=2, autocommit=True)
            self._local.conn, self._local.endpoint = conn, endpoint
        return conn

    def _sql(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[list[tuple[Any, ...]], int]:
        for attempt in (1, 2):
            reused = getattr(self._local, "conn", None) is not None
            try:
                conn = self._db()
                with conn.cursor() as cur:
                    cur.execute(sql, args)
                    return list(cur.fetchall()), int(cur.lastrowid or 0)
            except pymysql.MySQLError as exc:
                self._local.conn = None
                # a pooled connection the server dropped (it restarted): reconnect once, as an
                # application's pool with pre-ping does; a server that is down still fails
                gone = isinstance(exc, pymysql.InterfaceError) or (exc.args and exc.args[0] in (2006, 2013, 2055))
                if not (reused and gone and attempt == 1):
                    raise
        raise AssertionError("unreachable")

    def data(self, wl: Workload, req: Request, rest: str) -> Response:
        try:
            if wl.name == "project-service" and rest.startswith("/api/projects"):
                return self._projects(req, rest)
            if wl.name == "team-service" and rest.startswith("/api/chats"):
                return self._chats(req, rest)
            if wl.name == "support-service" and rest.startswith("/api/files"):
                return self._files(req, rest)
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args else 0
            reason = "database is read-only" if code == 1290 else "database unavailable"
            return Response.json({"error": reason, "code": code}, 503)
        except Exception as exc:  # store errors surface as 503, as a real app's error handler would
            return Response.json({"error": "store unavailable", "detail": type(exc).__name__}, 503)
        return Response.json({"service": wl.name, "region": self.region, "path": rest})

    def _projects(self, req: Request, rest: str) -> Response:
        table = self.cfg.sandbox.data_api.rds_table
        if req.method == "POST":
            body = req.json() if req.body else {}
            _, new_id = self._sql(
                f"INSERT INTO `{table}` (name, owner, region, created_at) VALUES (%s, %s, %s, NOW(6))",
                (str(body.get("name", "project"))[:200], str(body.get("owner", "user"))[:100], self.region))
            return Response.json({"id": new_id, "region": self.region}, 201)
        ident = rest[len("/api/projects"):].strip("/")
        if ident:
            rows, _ = self._sql(f"SELECT id, name, owner, region FROM `{table}` WHERE id=%s", (int(ident),))
            if not rows:
                return Response.json({"error": "not found"}, 404)
            return Response.json(dict(zip(("id", "name", "owner", "region"), rows[0], strict=True)))
        rows, _ = self._sql(f"SELECT id, name FROM `{table}` ORDER BY id DESC LIMIT 20")
        return Response.json({"items": [{"id": r[0], "name": r[1]} for r in rows]})

    def _chats(self, req: Request, rest: str) -> Response:
        ddb = self.client("dynamodb", self.region)
        if req.method == "POST":
            body = req.json() if req.body else {}
            room = str(body.get("room_id", "lobby"))
            msg = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}"
            ddb.put_item(TableName=self.table, Item={"room_id": {"S": room}, "message_id": {"S": msg},
                                                      "text": {"S": str(body.get("text", ""))[:500]}})
            return Response.json({"room_id": room, "message_id": msg, "region": self.region}, 201)
        room = rest[len("/api/chats"):].strip("/") or "lobby"
        out = ddb.query(TableName=self.table, KeyConditionExpression="room_id = :r",
                        ExpressionAttributeValues={":r": {"S": room}}, Limit=20, ScanIndexForward=False)
        return Response.json({"items": [i["message_id"]["S"] for i in out.get("Items", [])]})

    def _files(self, req: Request, rest: str) -> Response:
        s3 = self.client("s3", self.region)
        name = rest[len("/api/files"):].strip("/")
        if req.method == "POST":
            key = f"uploads/{name or uuid.uuid4().hex}"
            s3.put_object(Bucket=self.bucket, Key=key, Body=req.body or b"{}")
            return Response.json({"key": key, "region": self.region}, 201)
        obj = s3.get_object(Bucket=self.bucket, Key=f"uploads/{name}")
        return Response(200, obj["Body"].read(), {"Content-Type": "application/octet-stream"})


class AlbApp:
    """One ALB in one region: routes by Host (ingress rules) and path prefix."""

    def __init__(self, cfg: Config, services: RegionServices, serves: list[str]):
        self.cfg = cfg
        self.services = services
        self.serves = serves
        zone = cfg.route53.zone
        self.by_host: dict[str, Workload] = {f"{w.host}.{zone}": w for w in cfg.workloads
                                             if w.kind == "host" and w.host in serves}
        self.apps = [w for w in cfg.workloads if w.kind == "app"] if "api" in serves else []
        self.health_path = cfg.route53.health_check.path

    def __call__(self, req: Request) -> Response:
        svc = self.services
        svc.requests += 1
        headers = {"X-Drill-Region": svc.region}
        if svc.region_down:
            return Response.json({"error": "region unavailable"}, 503, headers)
        wl = self.by_host.get(req.host)
        if wl is not None:
            return self._host_service(wl, req, headers)
        if req.path == self.health_path:
            apps = self.apps or list(self.by_host.values())
            bad = [w.name for w in apps if not svc.health_ok(w)]
            if bad:
                return Response.json({"status": "unhealthy", "failing": bad, "region": svc.region}, 503, headers)
            return Response.json({"status": "ok", "region": svc.region}, 200, headers)
        for w in self.apps:
            assert w.path is not None
            if req.path == w.path or req.path.startswith(w.path + "/"):
                rest = req.path[len(w.path):]
                if not svc.serving(w):
                    return Response.json({"error": "no healthy targets", "service": w.name}, 503, headers)
                if rest == "/health":
                    ok = svc.health_ok(w)
                    return Response.json({"status": "ok" if ok else "unhealthy", "service": w.name,
                                          "region": svc.region}, 200 if ok else 503, headers)
                resp = svc.data(w, req, rest)
                resp.headers.update(headers)
                return resp
        return Response.json({"error": "no route", "path": req.path}, 404, headers)

    def _host_service(self, wl: Workload, req: Request, headers: dict[str, str]) -> Response:
        if not self.services.serving(wl):
            return Response.json({"error": "no healthy targets", "service": wl.name}, 503, headers)
        if req.path in (self.health_path, "/api/health", "/healthz"):
            ok = self.services.health_ok(wl)
            return Response.json({"status": "ok" if ok else "unhealthy", "service": wl.name,
                                  "region": self.services.region}, 200 if ok else 503, headers)
        return Response(200, json.dumps({"service": wl.name, "region": self.services.region}).encode(),
                        {"Content-Type": "application/json", **headers})
