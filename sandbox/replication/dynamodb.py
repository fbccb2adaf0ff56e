"""DynamoDB global tables (version 2019.11.21): every change a table's stream records in one
region is written to its replicas in the others, ``delay_s`` later, in order. The emulator fires
``stream_record`` for each record as it is written; replicated writes carry ``aws:rep:*``
attributes and are not sent back. Inside the emulator's process the replicas are written to its
backend directly, as the global-tables service writes behind the API. A FIS pause of a table
holds its changes from that region (source ``<table>@<region>``) until resumed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sandbox.replication.worker import Worker

REP_REGION = "aws:rep:updateregion"
REP_TIME = "aws:rep:updatetime"


def source_name(table: str, region: str) -> str:
    return f"{table}@{region}"


class DynamoReplicator(Worker):
    def __init__(self, client: Callable[[str, str], Any], regions: list[str], tables: list[str],
                 delay_s: float, poll_s: float, backend: Callable[[str], Any]):
        super().__init__("dynamodb", delay_s, poll_s)
        self.client = client
        self.backend = backend  # region -> the emulator's DynamoDB backend
        self.regions = regions
        self.tables = tables
        self._replicas: dict[tuple[str, str], list[str] | None] = {}
        self._last_discover = 0.0

    def discover(self) -> None:
        """Which tables replicate where, from DescribeTable (stream on, Replicas listed)."""
        for region in self.regions:
            ddb = self.client("dynamodb", region)
            for table in self.tables:
                try:
                    desc = ddb.describe_table(TableName=table)["Table"]
                except Exception as exc:  # a read that failed says nothing about the table: keep what was known
                    if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ResourceNotFoundException":
                        self._replicas[(region, table)] = None
                    continue
                replicas = [r["RegionName"] for r in desc.get("Replicas", [])]
                on = desc.get("StreamSpecification", {}).get("StreamEnabled")
                self._replicas[(region, table)] = replicas if (on and replicas) else None
        self._last_discover = time.monotonic()

    def poll(self) -> None:
        if time.monotonic() - self._last_discover > 3.0:
            self.discover()

    def _live(self, region: str, table: str) -> list[str] | None:
        """The table's replicas as the emulator holds them now (a replica removed a moment ago no
        longer receives changes, as in AWS); the last discovery when it cannot be read."""
        try:
            t = self.backend(region).tables.get(table)
        except Exception:
            return self._replicas.get((region, table))
        if t is None:
            return None
        reps = list(getattr(t, "drill_replicas", []) or [])
        on = (getattr(t, "stream_specification", None) or {}).get("StreamEnabled")
        return reps if (on and reps) else None

    def on_record(self, region: str, table: str, record: dict[str, Any]) -> None:
        replicas = self._live(region, table) if table in self.tables else None
        if replicas is None:
            if time.monotonic() - self._last_discover < 1.0 or table not in self.tables:
                return
            self.discover()
            replicas = self._replicas.get((region, table))
            if replicas is None:
                return
        image = record["dynamodb"].get("NewImage") or record["dynamodb"].get("OldImage") or {}
        origin = image.get(REP_REGION, {}).get("S")
        if origin and origin != region:
            return  # a replicated write: not sent back
        for dest in replicas:
            if dest != region:
                self.enqueue((region, dest, table, record))

    def source(self, item: Any) -> str:
        return source_name(item[2], item[0])

    def apply_many(self, items: list[Any]) -> int:
        for n, (source, dest, table, record) in enumerate(items):
            data = record["dynamodb"]
            try:
                if record["eventName"] == "REMOVE":
                    self.backend(dest).delete_item(table, data["Keys"])
                else:
                    image = dict(data["NewImage"])
                    image[REP_REGION] = {"S": source}
                    image[REP_TIME] = {"N": f"{time.time():.6f}"}
                    self.backend(dest).put_item(table, image)
            except Exception as exc:
                self.fail(exc)
                return n
        return len(items)
