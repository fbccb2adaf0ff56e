"""Canary writers and the verifier that reads what survived in the DR copies.

Each write carries (store, sequence, acknowledged-at) and ends ok, failed or indeterminate
(Jepsen's rule: anything we cannot prove either way is indeterminate, never ok or lost).
Writers keep a fixed schedule (``rate`` per second) that never backs up behind slow calls.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pymysql

from drill.config import Config
from drill.journal import Journal
from drill.measure import Write

CANARY_TABLE = "drill_canary"


def ddb_key(table_hash: str, table_range: str | None, drill_id: str, seq: int) -> dict[str, Any]:
    if table_range:
        return {table_hash: {"S": f"drill-canary#{drill_id}"}, table_range: {"S": f"{seq:09d}"}}
    return {table_hash: {"S": f"drill-canary#{drill_id}#{seq:09d}"}}


def s3_key(drill_id: str, seq: int) -> str:
    return f"drill-canary/{drill_id}/{seq:09d}"


class CanaryWriter:
    """One store's writer thread. ``do_write(seq, region)`` raises to report failure."""

    def __init__(self, store: str, rate: float, journal: Journal | None,
                 do_write: Callable[[int, str], None], classify: Callable[[BaseException], str], region: str):
        self.store = store
        self.interval = 1.0 / rate
        self.journal = journal
        self.do_write = do_write
        self.classify = classify
        self.region = region
        self.writes: list[Write] = []
        self._seq = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=f"canary-{store}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.thread.join(timeout)

    def retarget(self, region: str) -> None:
        with self._lock:
            self.region = region

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
            region = self.region
        started = time.time()
        error = ""
        try:
            self.do_write(seq, region)
            outcome, ack = "ok", time.time()
        except Exception as exc:
            outcome, ack = self.classify(exc), None
            error = f"{type(exc).__name__}: {str(exc)[:120]}"
        w = Write(self.store, seq, started, ack, outcome, region)
        self.writes.append(w)
        if self.journal is not None:
            self.journal.write("canary", store=self.store, seq=seq, started=round(started, 6),
                               ack=round(ack, 6) if ack else None, outcome=outcome, region=region,
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


class RdsCanary:
    """Writes rows through an RDS endpoint; the endpoint moves with the writer after promotion."""

    def __init__(self, cfg: Config, drill_id: str, login: tuple[str, str],
                 endpoint: Callable[[str], tuple[str, int]]):
        self.cfg = cfg
        self.drill_id = drill_id
        self.login = login
        self.endpoint = endpoint  # role -> (host, port), from the RDS API
        self._endpoints: dict[str, tuple[str, int]] = {}
        self._local = threading.local()

    def resolve(self) -> None:
        """Endpoints are looked up once, before the drill: an app keeps its DB hostname through an outage."""
        for role in ("primary", "dr"):
            self._endpoints[role] = self.endpoint(role)

    def connect(self, role: str, timeout: float = 1.0) -> pymysql.connections.Connection[Any]:
        if role not in self._endpoints:
            self._endpoints[role] = self.endpoint(role)
        host, port = self._endpoints[role]
        return pymysql.connect(host=host, port=port, user=self.login[0], password=self.login[1],
                               database=self.cfg.rds.database, connect_timeout=timeout, read_timeout=timeout,
                               write_timeout=timeout, autocommit=True)

    def prepare(self, deadline_s: float = 60.0) -> None:
        """Create the canary table on the primary and wait until the DR copy has it too."""
        from drill.targets import wait_until

        self.resolve()
        with self.connect("primary", 5) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {CANARY_TABLE} (drill_id VARCHAR(64) NOT NULL, "
                        "seq BIGINT NOT NULL, written_at DATETIME(6) NOT NULL, region VARCHAR(32) NOT NULL, "
                        "PRIMARY KEY (drill_id, seq))")

        def replicated() -> bool:
            with self.connect("dr", 5) as conn, conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema=%s AND table_name=%s",
                            (self.cfg.rds.database, CANARY_TABLE))
                row = cur.fetchone()
                return bool(row and row[0])

        wait_until(replicated, deadline_s, "canary table in the DR copy", 0.05)

    def write(self, seq: int, region: str) -> None:
        role = "primary" if region == self.cfg.regions.primary.name else "dr"
        conn = getattr(self._local, "conns", {}).get(role)
        try:
            if conn is None:
                conn = self.connect(role)
                self._local.conns = {role: conn}
            with conn.cursor() as cur:
                cur.execute(f"INSERT INTO {CANARY_TABLE} (drill_id, seq, written_at, region) "
                            "VALUES (%s, %s, NOW(6), %s)", (self.drill_id, seq, region))
        except Exception:
            self._local.conns = {}
            raise

    def surviving(self, role: str) -> set[int]:
        with self.connect(role, 5) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT seq FROM {CANARY_TABLE} WHERE drill_id=%s", (self.drill_id,))
            return {int(r[0]) for r in cur.fetchall()}


class DynamoCanary:
    def __init__(self, cfg: Config, drill_id: str, client: Callable[[str], Any]):
        self.cfg = cfg
        self.drill_id = drill_id
        self.client = client  # region -> dynamodb client
        self.tables = cfg.dynamodb.tables

    def write(self, seq: int, region: str) -> None:
        table = self.tables[seq % len(self.tables)]
        item = ddb_key(table.hash_key, table.range_key, self.drill_id, seq)
        item["drill_written_at"] = {"N": f"{time.time():.6f}"}
        self.client(region).put_item(TableName=table.name, Item=item)

    def delete_all(self, region: str) -> int:
        ddb = self.client(region)
        n = 0
        for seq in sorted(self.surviving(region)):
            table = self.tables[seq % len(self.tables)]
            ddb.delete_item(TableName=table.name, Key=ddb_key(table.hash_key, table.range_key, self.drill_id, seq))
            n += 1
        return n

    def surviving(self, region: str) -> set[int]:
        found: set[int] = set()
        ddb = self.client(region)
        for table in self.tables:
            if table.range_key:
                kwargs: dict[str, Any] = {"TableName": table.name, "KeyConditionExpression": "#h = :h",
                                          "ExpressionAttributeNames": {"#h": table.hash_key},
                                          "ExpressionAttributeValues": {":h": {"S": f"drill-canary#{self.drill_id}"}}}
                op = ddb.query
            else:
                kwargs = {"TableName": table.name, "FilterExpression": "begins_with(#h, :p)",
                          "ExpressionAttributeNames": {"#h": table.hash_key},
                          "ExpressionAttributeValues": {":p": {"S": f"drill-canary#{self.drill_id}#"}}}
                op = ddb.scan
            while True:
                page = op(**kwargs)
                for item in page.get("Items", []):
                    key = item[table.range_key]["S"] if table.range_key else item[table.hash_key]["S"].rsplit("#", 1)[1]
                    found.add(int(key))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found


def cleanup(cfg: Config, target: Any, drill_id: str, journal: Journal) -> dict[str, int]:
    """Remove a drill's canary rows, items and objects in both regions (writes made in DR during
    the drill included); used by the drill's restore and by ``drill rollback``."""
    removed: dict[str, int] = {}
    try:
        rds = RdsCanary(cfg, drill_id, target.db_login(), target.db_endpoint)
        with rds.connect("primary", 5) as conn, conn.cursor() as cur:
            removed["rds"] = int(cur.execute(f"DELETE FROM {CANARY_TABLE} WHERE drill_id=%s", (drill_id,)))
    except Exception as exc:  # no canary table yet is fine too
        journal.write("cleanup_failed", store="rds", error=str(exc)[:200])
    regions = (cfg.regions.primary.name, cfg.regions.dr.name)
    for store, verifier in (("dynamodb", DynamoCanary(cfg, drill_id, lambda r: target.client("dynamodb", r, False))),
                            ("s3", S3Canary(cfg, drill_id, lambda r: target.client("s3", r, False)))):
        try:
            removed[store] = sum(verifier.delete_all(region) for region in regions)
        except Exception as exc:
            journal.write("cleanup_failed", store=store, error=str(exc)[:200])
    journal.write("canaries_removed", removed=removed)
    return removed


class S3Canary:
    def __init__(self, cfg: Config, drill_id: str, client: Callable[[str], Any]):
        self.cfg = cfg
        self.drill_id = drill_id
        self.client = client  # region -> s3 client
        self.pairs = cfg.s3.buckets

    def _bucket(self, seq: int, region: str) -> str:
        pair = self.pairs[seq % len(self.pairs)]
        return pair.name if region == self.cfg.regions.primary.name else pair.dr

    def write(self, seq: int, region: str) -> None:
        self.client(region).put_object(Bucket=self._bucket(seq, region), Key=s3_key(self.drill_id, seq),
                                       Body=f"{seq} {time.time():.6f}".encode())

    def delete_all(self, region: str) -> int:
        s3 = self.client(region)
        n = 0
        for seq in sorted(self.surviving(region)):
            s3.delete_object(Bucket=self._bucket(seq, region), Key=s3_key(self.drill_id, seq))
            n += 1
        return n

    def surviving(self, region: str) -> set[int]:
        found: set[int] = set()
        s3 = self.client(region)
        for pair in self.pairs:
            bucket = pair.name if region == self.cfg.regions.primary.name else pair.dr
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=f"drill-canary/{self.drill_id}/"):
                for obj in page.get("Contents", []):
                    found.add(int(obj["Key"].rsplit("/", 1)[1]))
        return found
