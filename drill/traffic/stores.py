"""The replicated stores behind one protocol, for the canaries and the verifiers: write a
sequenced record to a role's copy, read back which sequence numbers a copy holds, remove a
drill's records. RDS (rows of a canary table), DynamoDB (items spread over the policy's global
tables) and S3 (objects spread over the policy's bucket pairs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

import pymysql

from drill.core.aws import CANARY_PREFIX
from drill.core.waits import wait_until
from drill.ops import rds
from drill.targets.base import Target

CANARY_TABLE = "drill_canary"


class Store(Protocol):
    name: str
    ordered: bool  # does its replication keep the order of writes (across keys)?
    deletes_replicate: bool  # does a delete reach the other copy (S3 replication: no)?

    def prepare(self) -> None: ...
    def write(self, seq: int, role: str) -> None: ...
    def surviving(self, role: str) -> set[int]: ...
    def delete_all(self, role: str) -> set[int]: ...  # the sequence numbers it deleted


class _Store:
    """What every store keeps: the target it reaches and the drill whose records it writes."""

    def __init__(self, target: Target, drill_id: str):
        self.target = target
        self.drill_id = drill_id


class RdsStore(_Store):
    """Rows of ``drill_canary`` through each role's instance endpoint, looked up once before the
    drill (an application keeps its database hostname through an outage)."""

    name = "rds"
    ordered = True
    deletes_replicate = True

    def __init__(self, target: Target, drill_id: str):
        super().__init__(target, drill_id)
        self._endpoints: dict[str, tuple[str, int]] = {}
        self._local = threading.local()

    def _connect(self, role: str, timeout: float = 1.0) -> pymysql.connections.Connection[Any]:
        if role not in self._endpoints:
            self._endpoints[role] = rds.endpoint(self.target, role)
        return rds.connect(self.target, role, timeout=timeout, where=self._endpoints[role])

    def prepare(self, deadline_s: float = 60.0) -> None:
        """Create the canary table on the writer and wait until the replica has it too."""
        for role in ("primary", "dr"):
            self._endpoints[role] = rds.endpoint(self.target, role)
        with self._connect("primary", 5) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {CANARY_TABLE} (drill_id VARCHAR(64) NOT NULL, "
                        "seq BIGINT NOT NULL, written_at DATETIME(6) NOT NULL, region VARCHAR(32) NOT NULL, "
                        "PRIMARY KEY (drill_id, seq))")

        def replicated() -> bool:
            with self._connect("dr", 5) as conn, conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema=%s AND table_name=%s",
                            (self.target.cfg.rds.database, CANARY_TABLE))
                row = cur.fetchone()
                return bool(row and row[0])

        wait_until(replicated, deadline_s, "canary table in the DR copy", 0.05)

    def write(self, seq: int, role: str) -> None:
        conns = self._local.__dict__.setdefault("conns", {})
        try:
            if role not in conns:
                conns.clear()
                conns[role] = self._connect(role)
            with conns[role].cursor() as cur:
                cur.execute(f"INSERT INTO {CANARY_TABLE} (drill_id, seq, written_at, region) VALUES (%s, %s, NOW(6), %s)",
                            (self.drill_id, seq, self.target.cfg.side(role).region))
        except Exception:
            conns.clear()
            raise

    def surviving(self, role: str) -> set[int]:
        with self._connect(role, 5) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT seq FROM {CANARY_TABLE} WHERE drill_id=%s", (self.drill_id,))
            return {int(r[0]) for r in cur.fetchall()}

    def delete_all(self, role: str) -> set[int]:
        with self._connect(role, 5) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT seq FROM {CANARY_TABLE} WHERE drill_id=%s", (self.drill_id,))
            seqs = {int(r[0]) for r in cur.fetchall()}
            cur.execute(f"DELETE FROM {CANARY_TABLE} WHERE drill_id=%s", (self.drill_id,))
            return seqs


class DynamoStore(_Store):
    name = "dynamodb"
    ordered = False
    deletes_replicate = True  # global tables

    def __init__(self, target: Target, drill_id: str):
        super().__init__(target, drill_id)
        self.tables = target.cfg.dynamodb.tables

    def _client(self, role: str) -> Any:
        return self.target.client("dynamodb", self.target.cfg.side(role).region, attempts=1, read_timeout=2,
                                  own_record=True)

    def key(self, seq: int) -> tuple[str, dict[str, Any]]:
        table = self.tables[seq % len(self.tables)]
        if table.range_key:
            return table.name, {table.hash_key: {"S": f"drill-canary#{self.drill_id}"},
                                table.range_key: {"S": f"{seq:09d}"}}
        return table.name, {table.hash_key: {"S": f"drill-canary#{self.drill_id}#{seq:09d}"}}

    def prepare(self) -> None:
        pass

    def write(self, seq: int, role: str) -> None:
        table, item = self.key(seq)
        item["drill_written_at"] = {"N": f"{time.time():.6f}"}
        self._client(role).put_item(TableName=table, Item=item)

    def _items(self, role: str, table: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        """The drill's canary items in one table of the role's copy: (sequence number, the key the
        item was found under: read from the item, not computed from the sequence number)."""
        ddb = self.target.client("dynamodb", self.target.cfg.side(role).region)
        if table.range_key:
            kwargs: dict[str, Any] = {"TableName": table.name, "KeyConditionExpression": "#h = :h",
                                      "ExpressionAttributeNames": {"#h": table.hash_key},
                                      "ExpressionAttributeValues": {":h": {"S": f"drill-canary#{self.drill_id}"}}}
            pages = ddb.get_paginator("query").paginate(**kwargs)
        else:
            kwargs = {"TableName": table.name, "FilterExpression": "begins_with(#h, :p)",
                      "ExpressionAttributeNames": {"#h": table.hash_key},
                      "ExpressionAttributeValues": {":p": {"S": f"drill-canary#{self.drill_id}#"}}}
            pages = ddb.get_paginator("scan").paginate(**kwargs)
        for page in pages:
            for item in page.get("Items", []):
                key = {table.hash_key: item[table.hash_key]}
                if table.range_key:
                    key[table.range_key] = item[table.range_key]
                seq = item[table.range_key]["S"] if table.range_key else item[table.hash_key]["S"].rsplit("#", 1)[1]
                yield int(seq), key

    def surviving(self, role: str) -> set[int]:
        return {seq for table in self.tables for seq, _ in self._items(role, table)}

    def delete_all(self, role: str) -> set[int]:
        """Every canary item of the drill in the role's copy, 25 a BatchWriteItem call, by the key
        each was found under (a change of the tables' order since the drill leaves none behind).
        One table's keys are held at a time; a table whose cleanup fails does not stop the others,
        and the first failure is raised at the end."""
        from drill.core.aws import dynamodb_delete_keys

        ddb = self.target.client("dynamodb", self.target.cfg.side(role).region)
        rate = max(1.0, self.target.cfg.measure.canary_rate(self.name) / len(self.tables))  # the rate they were written at
        deleted: set[int] = set()
        failure: Exception | None = None
        for table in self.tables:
            try:
                found = dict(self._items(role, table))
                dynamodb_delete_keys(ddb, table.name, [found[seq] for seq in sorted(found)], min_rate=rate)
                deleted |= found.keys()
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return deleted


class S3Store(_Store):
    name = "s3"
    ordered = False
    deletes_replicate = False  # CRR does not replicate deletes (by default: it is not configured to)

    def __init__(self, target: Target, drill_id: str):
        super().__init__(target, drill_id)
        self.prefix = f"{CANARY_PREFIX}{drill_id}/"  # the IAM policy grants writes and removal under it alone

    def _bucket(self, seq: int, role: str) -> str:
        buckets = self.target.cfg.side(role).buckets
        return buckets[seq % len(buckets)]

    def prepare(self) -> None:
        pass

    def write(self, seq: int, role: str) -> None:
        self.target.client("s3", self.target.cfg.side(role).region, attempts=1, read_timeout=2,
                           own_record=True).put_object(Bucket=self._bucket(seq, role), Key=f"{self.prefix}{seq:09d}",
                                                       Body=f"{seq} {time.time():.6f}".encode())

    def surviving(self, role: str) -> set[int]:
        from drill.core.aws import s3_etags

        s3 = self.target.client("s3", self.target.cfg.side(role).region)
        return {int(key.rsplit("/", 1)[1]) for bucket in self.target.cfg.side(role).buckets
                for key in s3_etags(s3, bucket, self.prefix)}

    def delete_all(self, role: str) -> set[int]:
        """Every version of the drill's objects (a plain delete in a versioned bucket keeps them)."""
        from drill.core.aws import s3_delete_versions

        s3 = self.target.client("s3", self.target.cfg.side(role).region)
        return {int(key.rsplit("/", 1)[1]) for bucket in self.target.cfg.side(role).buckets
                for key in s3_delete_versions(s3, bucket, self.prefix)}


def stores(target: Target, drill_id: str) -> dict[str, Store]:
    return {"rds": RdsStore(target, drill_id), "dynamodb": DynamoStore(target, drill_id),
            "s3": S3Store(target, drill_id)}
