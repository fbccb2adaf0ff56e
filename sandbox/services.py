"""What each region's load balancers serve: the policy's services as stand-ins.

One ``RegionServices`` per region holds its data clients and capacity; one ``AlbApp`` per
(load balancer, region) routes by Host and path to the services of the policy the way the EKS
ingresses do. A service answers only while its deployment has a Ready pod in that region's
cluster (the load balancer's targets), so scale-down, pod kills and bad images show up as users
would see them. A workload with ``data`` has a small data API on its region's store (RDS table,
DynamoDB table or S3 bucket). Every answer says which region served it in its JSON body
(``region``), as an application may; the engine uses it only where the config says so.

Capacity (``sandbox.capacity``): each Ready node that runs a Ready pod of a served workload
carries ``node_rps`` requests a second for its region's load balancers (its CPU; the load balancer
spreads requests over pods on every such node, so the region's nodes are pooled), and each Ready
pod of a service serves ``pod_rps``. Above either, a request waits up to ``queue_s`` for a turn, then
fails with 503, as an overloaded service does. A region at its standby size can so be too small for
the traffic, and the RTO users feel includes the scale-up that makes it big enough.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pymysql

from drill.core.schema import Config, Workload
from sandbox.httpserver import Request, Response

BURST_S = 0.1  # a bucket holds this many seconds of its rate: a server has no reserve to draw on


class Capacity:
    """Token buckets: one per region's serving nodes, one per service; rates follow what is Ready."""

    def __init__(self, node_rps: float, pod_rps: float, queue_s: float,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.node_rps, self.pod_rps, self.queue_s = node_rps, pod_rps, queue_s
        self._clock, self._sleep = clock, sleep
        self._tokens: dict[str, float] = {}
        self._at: dict[str, float] = {}
        self._lock = threading.Lock()
        self.rejected = 0

    @property
    def limited(self) -> bool:
        return self.node_rps > 0 or self.pod_rps > 0

    def admit(self, region: str, nodes: int, service: str | None, pods: int) -> bool:
        """One turn on the region's nodes (and on ``service``'s pods), waiting up to ``queue_s``."""
        deadline = self._clock() + self.queue_s
        ok = self.node_rps <= 0 or self._take(f"{region}/nodes", nodes * self.node_rps, deadline)
        if ok and service is not None and self.pod_rps > 0:
            ok = self._take(f"{region}/{service}", pods * self.pod_rps, deadline)
        if not ok:
            with self._lock:
                self.rejected += 1
        return ok

    def _take(self, key: str, rate: float, deadline: float) -> bool:
        if rate <= 0:
            return False  # nothing Ready to serve it
        while True:
            with self._lock:
                now = self._clock()
                burst = max(1.0, rate * BURST_S)
                tokens = min(burst, self._tokens.get(key, burst) + (now - self._at.get(key, now)) * rate)
                self._at[key] = now
                if tokens >= 1:
                    self._tokens[key] = tokens - 1
                    return True
                self._tokens[key] = tokens
            if self._clock() >= deadline:
                return False
            self._sleep(min(0.02, max(0.001, (1 - tokens) / rate), max(0.0, deadline - self._clock())))


def _gone(exc: BaseException) -> bool:
    """The connection is dead: closed on this side (InterfaceError), the server gone before the
    statement was sent (2006), or the connection lost during the query (2013, 2055)."""
    return isinstance(exc, pymysql.InterfaceError) or (
        isinstance(exc, pymysql.MySQLError) and bool(exc.args) and exc.args[0] in (2006, 2013, 2055))


def _not_sent(exc: BaseException) -> bool:
    return isinstance(exc, pymysql.InterfaceError) or (
        isinstance(exc, pymysql.MySQLError) and bool(exc.args) and exc.args[0] == 2006)


def _reads(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("SELECT", "SHOW"))


class DbPool:
    """A region's database connections, as an application's pool keeps them: one is taken for a
    query and given back after (the most recent first), and one idle longer than ``idle_s`` is
    closed by ``reap``. After a failover the old region's connections go, and after the failback
    the DR region's: the twin holds the connections the traffic of now needs, not every one it
    ever opened (a connection a thread kept for good stayed open to a region no longer served)."""

    def __init__(self, connect: Callable[[], Any], idle_s: float):
        self._connect, self.idle_s = connect, idle_s
        self._idle: list[tuple[float, Any]] = []
        self._lock = threading.Lock()

    def take(self) -> tuple[Any, bool]:
        """(connection, whether it was pooled)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()[1], True
        return self._connect(), False

    def give(self, conn: Any) -> None:
        with self._lock:
            self._idle.append((time.monotonic(), conn))

    def clear(self) -> int:
        """Close every idle connection (after one was found dead: the others went with it)."""
        with self._lock:
            old, self._idle = [c for _, c in self._idle], []
        for conn in old:
            with contextlib.suppress(Exception):
                conn.close()
        return len(old)

    def reap(self) -> int:
        cutoff = time.monotonic() - self.idle_s
        with self._lock:
            old = [c for at, c in self._idle if at < cutoff]
            self._idle = [(at, c) for at, c in self._idle if at >= cutoff]
        for conn in old:
            with contextlib.suppress(Exception):
                conn.close()
        return len(old)


class RegionServices:
    def __init__(self, cfg: Config, role: str, db_endpoint: Callable[[], tuple[str, int]],
                 login: tuple[str, str], client: Callable[[str, str], Any], capacity: Capacity):
        self.cfg = cfg
        self.region = cfg.side(role).region
        self.buckets = dict(zip([b.name for b in cfg.s3.buckets], cfg.side(role).buckets, strict=True))
        self.db_endpoint = db_endpoint
        self.login = login
        self.client = client
        self.capacity = capacity
        self.available: Callable[[str], int] = lambda deployment: 1
        self.serving_nodes: Callable[[], int] = lambda: 1
        self.pool = DbPool(self._connect, cfg.sandbox.timing.app_db_idle_s)
        self.requests = 0

    def serving(self, wl: Workload) -> bool:
        return self.available(wl.deployment) > 0

    def admit(self, wl: Workload | None) -> bool:
        """A turn for a request to ``wl`` (None: the load balancer's own health path)."""
        if not self.capacity.limited:
            return True
        return self.capacity.admit(self.region, self.serving_nodes(), wl.name if wl else None,
                                   self.available(wl.deployment) if wl else 0)

    # ---------------------------------------------------------------- data plane

    def _connect(self) -> Any:
        host, port = self.db_endpoint()
        return pymysql.connect(host=host, port=port, user=self.login[0], password=self.login[1],
                               database=self.cfg.rds.database, connect_timeout=1, read_timeout=2,
                               write_timeout=2, autocommit=True)

    def _sql(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[list[tuple[Any, ...]], int]:
        conn, reused = self.pool.take()  # a database that cannot be reached fails the request
        if reused and not _reads(sql):
            conn, reused = self._pinged(conn)
        for attempt in (1, 2):
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, args)
                    out = list(cur.fetchall()), int(cur.lastrowid or 0)
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    conn.close()
                if not (reused and attempt == 1 and _gone(exc)):
                    raise
                # a pooled connection the server dropped (a cut, a promotion): the pool's other idle
                # ones went with it and are closed, as an application's pool invalidates itself on a
                # disconnect (not on a read timeout: the server is slow, not gone). The statement
                # goes again on a new connection only if it never reached the server or only reads:
                # a write lost during the query may have committed, and sending it again could write
                # it twice; that request fails, as the application's would
                if "timed out" not in str(exc):
                    self.pool.clear()
                if not (_not_sent(exc) or _reads(sql)):
                    raise
                conn, reused = self._connect(), False
                continue
            self.pool.give(conn)
            return out
        raise AssertionError("unreachable")

    def _pinged(self, conn: Any) -> tuple[Any, bool]:
        """A pooled connection checked before a write is sent on it (an application pool's
        pre-ping); a dead one empties the pool and a new connection is made."""
        try:
            conn.ping(reconnect=False)
            return conn, True
        except (pymysql.MySQLError, OSError):
            with contextlib.suppress(Exception):
                conn.close()
            self.pool.clear()
            return self._connect(), False

    def data(self, wl: Workload, req: Request, rest: str) -> Response:
        kind, _, name = (wl.data or "").partition(":")
        try:
            if kind == "rds" and rest.startswith("/api/items"):
                return self._rds(name, req, rest)
            if kind == "dynamodb" and rest.startswith("/api/items"):
                return self._dynamodb(name, req, rest)
            if kind == "s3" and rest.startswith("/api/items"):
                return self._s3(self.buckets.get(name, name), req, rest)
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args else 0
            reason = "database is read-only" if code == 1290 else "database unavailable"
            return Response.json({"error": reason, "code": code, "region": self.region}, 503)
        except Exception as exc:  # store errors surface as 503, as an application's error handler would
            return Response.json({"error": "store unavailable", "detail": type(exc).__name__,
                                  "region": self.region}, 503)
        return Response.json({"service": wl.name, "region": self.region, "path": rest})

    def _rds(self, table: str, req: Request, rest: str) -> Response:
        if req.method == "POST":
            body = req.json() if req.body else {}
            _, new_id = self._sql(
                f"INSERT INTO `{table}` (name, owner, region, created_at) VALUES (%s, %s, %s, NOW(6))",
                (str(body.get("name", "item"))[:200], str(body.get("owner", "user"))[:100], self.region))
            return Response.json({"id": new_id, "region": self.region}, 201)
        rows, _ = self._sql(f"SELECT id, name FROM `{table}` ORDER BY id DESC LIMIT 20")
        return Response.json({"items": [{"id": r[0], "name": r[1]} for r in rows], "region": self.region})

    def _dynamodb(self, table: str, req: Request, rest: str) -> Response:
        spec = next(t for t in self.cfg.dynamodb.tables if t.name == table)
        ddb = self.client("dynamodb", self.region)
        if req.method == "POST":
            body = req.json() if req.body else {}
            item = {spec.hash_key: {"S": str(body.get("key", "lobby"))}}
            if spec.range_key:
                item[spec.range_key] = {"S": f"{time.time():.6f}-{uuid.uuid4().hex[:8]}"}
            item["text"] = {"S": str(body.get("text", ""))[:500]}
            ddb.put_item(TableName=table, Item=item)
            return Response.json({"region": self.region}, 201)
        key = rest[len("/api/items"):].strip("/") or "lobby"
        out = ddb.query(TableName=table, KeyConditionExpression="#h = :k", Limit=20,
                        ExpressionAttributeNames={"#h": spec.hash_key}, ExpressionAttributeValues={":k": {"S": key}})
        return Response.json({"items": len(out.get("Items", [])), "region": self.region})

    def _s3(self, bucket: str, req: Request, rest: str) -> Response:
        s3 = self.client("s3", self.region)
        name = rest[len("/api/items"):].strip("/")
        if req.method == "POST":
            key = f"uploads/{name or uuid.uuid4().hex}"
            s3.put_object(Bucket=bucket, Key=key, Body=req.body or b"{}")
            return Response.json({"key": key, "region": self.region}, 201)
        obj = s3.get_object(Bucket=bucket, Key=f"uploads/{name}")
        return Response(200, obj["Body"].read(), {"Content-Type": "application/octet-stream"})


class AlbApp:
    """One load balancer in one region: routes by Host (ingress rules) and path prefix."""

    def __init__(self, cfg: Config, services: RegionServices, serves: list[str]):
        self.cfg = cfg
        self.services = services
        zone = cfg.route53.zone
        self.by_host = {f"{w.host}.{zone}": w for w in cfg.workloads if w.kind == "host" and w.host in serves}
        self.apps = [w for w in cfg.workloads if w.kind == "app"] if cfg.app_host in serves else []
        self.health_path = cfg.route53.health_check.path

    def __call__(self, req: Request) -> Response:
        svc = self.services
        svc.requests += 1
        wl = self.by_host.get(req.host)
        if wl is not None:
            return self._one(wl, req, req.path, health=req.path in (self.health_path, "/api/health", "/healthz"))
        if req.path == self.health_path:
            apps = self.apps or list(self.by_host.values())
            bad = [w.name for w in apps if not svc.serving(w)]
            if bad:
                return Response.json({"status": "unhealthy", "failing": bad, "region": svc.region}, 503)
            if not svc.admit(None):
                return Response.json({"error": "overloaded", "region": svc.region}, 503)
            return Response.json({"status": "ok", "region": svc.region})
        for w in self.apps:
            assert w.path is not None
            if req.path == w.path or req.path.startswith(w.path + "/"):
                rest = req.path[len(w.path):]
                return self._one(w, req, rest, health=rest == "/health")
        return Response.json({"error": "no route", "path": req.path, "region": svc.region}, 404)

    def _one(self, wl: Workload, req: Request, rest: str, health: bool) -> Response:
        svc = self.services
        if not svc.serving(wl):
            return Response.json({"error": "no healthy targets", "service": wl.name, "region": svc.region}, 503)
        if not svc.admit(wl):
            return Response.json({"error": "overloaded", "service": wl.name, "region": svc.region}, 503)
        if health:
            return Response.json({"status": "ok", "service": wl.name, "region": svc.region})
        if wl.data:
            return svc.data(wl, req, rest)
        return Response(200, json.dumps({"service": wl.name, "region": svc.region}).encode(),
                        {"Content-Type": "application/json"})
