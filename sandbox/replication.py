"""DynamoDB global-table and S3 CRR replication, carried through the AWS API.

Both workers deliver each change ``delay_s`` after they first see it, keep order, hold what
they have while paused or while the source region is cut off (it is delivered on heal, as
global tables and CRR catch up), and work in either direction, so failback reuses them.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable
from typing import Any

REP_REGION = "aws:rep:updateregion"
REP_TIME = "aws:rep:updatetime"


class _Worker:
    def __init__(self, name: str, delay_s: float, poll_s: float):
        self.name = name
        self.delay_s = delay_s
        self.poll_s = poll_s
        self.paused = False
        self.external = ""  # set when something else (LocalStack) replicates and this worker is idle
        self.cut_regions: set[str] = set()
        self.applied = 0
        self.errors = 0
        self.last_error = ""
        self._queue: collections.deque[tuple[float, Any]] = collections.deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"repl-{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def enqueue(self, item: Any) -> None:
        with self._lock:
            self._queue.append((time.monotonic(), item))

    def pending(self) -> int:
        return len(self._queue)

    def _source_region(self, item: Any) -> str:
        raise NotImplementedError

    def _apply(self, item: Any) -> None:
        raise NotImplementedError

    def _poll(self) -> None:
        """Find new changes and enqueue them."""

    def _next_wait(self) -> float:
        """Sleep until the oldest queued change is due (deliveries land on time), at most poll_s."""
        with self._lock:
            if not self._queue or self.paused:
                return self.poll_s
            due = self._queue[0][0] + self.delay_s - time.monotonic()
        return max(0.002, min(self.poll_s, due))

    def _run(self) -> None:
        while not self._stop.wait(self._next_wait()):
            try:
                self._poll()
            except Exception as exc:  # the source may be unreachable; keep what is queued
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            self._drain()

    def _apply_many(self, items: list[Any]) -> int:
        """Apply in order; return how many were applied (the rest stay queued)."""
        for n, item in enumerate(items):
            try:
                self._apply(item)
            except Exception as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
                return n
        return len(items)

    def _drain(self) -> None:
        ready: list[tuple[float, Any]] = []
        held: list[tuple[float, Any]] = []
        while True:
            with self._lock:
                if not self._queue or self.paused:
                    break
                seen, item = self._queue[0]
                if time.monotonic() < seen + self.delay_s:
                    break
                self._queue.popleft()
            if self._source_region(item) in self.cut_regions:
                held.append((seen, item))
            else:
                ready.append((seen, item))
        if ready:
            applied = self._apply_many([item for _, item in ready])
            self.applied += applied
            held = ready[applied:] + held
        if held:
            with self._lock:
                self._queue.extendleft(reversed(sorted(held, key=lambda x: x[0])))

    def status(self) -> dict[str, Any]:
        if self.external:
            return {"replicated_by": self.external}
        return {"delay_s": self.delay_s, "paused": self.paused, "cut": sorted(self.cut_regions),
                "pending": self.pending(), "applied": self.applied, "errors": self.errors,
                "last_error": self.last_error}


class DynamoReplicator(_Worker):
    """Follows each replicated table's stream in every region and applies to the others."""

    def __init__(self, client: Callable[[str, str], Any], regions: list[str], tables: list[str],
                 delay_s: float, poll_s: float, local: Callable[[str], Any] | None = None,
                 region_down: Callable[[str], bool] | None = None):
        super().__init__("dynamodb", delay_s, poll_s)
        # inside the emulator's process the replicas are written to its backend directly, as the
        # global-tables service writes behind the API; a region that is down takes nothing
        self.local = local
        self.region_down = region_down or (lambda region: False)
        self.client = client
        self.regions = regions
        self.tables = tables
        self._streams: dict[tuple[str, str], tuple[str, list[str]] | None] = {}
        self._last_discover = 0.0

    def _discover(self) -> None:
        for region in self.regions:
            ddb = self.client("dynamodb", region)
            for table in self.tables:
                try:
                    desc = ddb.describe_table(TableName=table)["Table"]
                except Exception:
                    self._streams[(region, table)] = None
                    continue
                arn = desc.get("LatestStreamArn")
                replicas = [r["RegionName"] for r in desc.get("Replicas", [])]
                if not arn or not replicas or not desc.get("StreamSpecification", {}).get("StreamEnabled"):
                    self._streams[(region, table)] = None
                    continue
                self._streams[(region, table)] = (arn, replicas)
        self._last_discover = time.monotonic()

    def _poll(self) -> None:
        if time.monotonic() - self._last_discover > 3.0:
            self._discover()

    def on_record(self, region: str, table: str, rec: dict[str, Any]) -> None:
        """Called by the emulator for every stream record as it is written (what the global-table
        replication service consumes); replicated writes are not sent back."""
        stream = self._streams.get((region, table))
        if stream is None:
            if time.monotonic() - self._last_discover < 3.0 or table not in self.tables:
                return
            self._discover()
            stream = self._streams.get((region, table))
            if stream is None:
                return
        image = rec["dynamodb"].get("NewImage") or rec["dynamodb"].get("OldImage") or {}
        origin = image.get(REP_REGION, {}).get("S")
        if origin and origin != region:
            return
        for dest in stream[1]:
            if dest != region:
                self.enqueue((region, dest, table, rec))

    def _source_region(self, item: Any) -> str:
        return str(item[0])

    def _apply_many(self, items: list[Any]) -> int:
        """BatchWriteItem per destination table, 25 at a time, in order; returns how many were applied."""
        if self.local is not None:
            return self._apply_local(items)
        done = 0
        try:
            while done < len(items):
                first = items[done]
                batch = [first]
                for item in items[done + 1:done + 25]:
                    if item[1] != first[1] or item[2] != first[2]:
                        break
                    batch.append(item)
                requests = []
                for source, _dest, _table, rec in batch:
                    data = rec["dynamodb"]
                    if rec["eventName"] == "REMOVE":
                        requests.append({"DeleteRequest": {"Key": data["Keys"]}})
                    else:
                        image = dict(data["NewImage"])
                        image[REP_REGION] = {"S": source}
                        image[REP_TIME] = {"N": f"{time.time():.6f}"}
                        requests.append({"PutRequest": {"Item": image}})
                keys = {json.dumps(item[3]["dynamodb"]["Keys"], sort_keys=True) for item in batch}
                if len(keys) < len(batch):  # the same item twice in one batch is refused: one by one
                    for item in batch:
                        self._apply(item)
                        done += 1
                    continue
                out = self.client("dynamodb", first[1]).batch_write_item(RequestItems={first[2]: requests})
                if out.get("UnprocessedItems"):
                    raise RuntimeError("unprocessed items")
                done += len(batch)
        except Exception as exc:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
        return done

    def _apply_local(self, items: list[Any]) -> int:
        assert self.local is not None
        for n, (source, dest, table, rec) in enumerate(items):
            if self.region_down(dest):
                return n
            data = rec["dynamodb"]
            try:
                if rec["eventName"] == "REMOVE":
                    self.local(dest).delete_item(table, data["Keys"])
                else:
                    image = dict(data["NewImage"])
                    image[REP_REGION] = {"S": source}
                    image[REP_TIME] = {"N": f"{time.time():.6f}"}
                    self.local(dest).put_item(table, image)
            except Exception as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
                return n
        return len(items)

    def _apply(self, item: Any) -> None:
        source, dest, table, rec = item
        ddb = self.client("dynamodb", dest)
        data = rec["dynamodb"]
        if rec["eventName"] == "REMOVE":
            ddb.delete_item(TableName=table, Key=data["Keys"])
            return
        image = dict(data["NewImage"])
        image[REP_REGION] = {"S": source}
        image[REP_TIME] = {"N": f"{time.time():.6f}"}
        ddb.put_item(TableName=table, Item=image)


class S3Replicator(_Worker):
    """Cross-region replication per the source buckets' replication configuration."""

    def __init__(self, client: Callable[[str, str], Any], pairs: dict[str, tuple[str, str, str]],
                 delay_s: float, poll_s: float):
        # pairs: bucket -> (its region, destination bucket, destination region), both directions
        super().__init__("s3", delay_s, poll_s)
        self.client = client
        self.pairs = pairs
        self._rules: dict[str, str | None] = {}
        self._last_rules = 0.0
        self._replicating: set[tuple[str, str]] = set()

    def _load_rules(self) -> None:
        for bucket, (region, _, _) in self.pairs.items():
            try:
                conf = self.client("s3", region).get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
                rules = [r for r in conf.get("Rules", []) if r.get("Status") == "Enabled"]
                dest = rules[0]["Destination"]["Bucket"].split(":::")[-1] if rules else None
            except Exception:
                dest = None
            self._rules[bucket] = dest
        self._last_rules = time.monotonic()

    def on_put(self, bucket: str, key: str, body: bytes | None = None, meta: dict[str, str] | None = None) -> None:
        """Called by the emulator for every stored object (event-driven, like CRR)."""
        if (bucket, key) in self._replicating:
            return  # the replica write itself; replicas are not replicated again
        if bucket in self.pairs:
            self.enqueue((bucket, key, body, meta))

    def _poll(self) -> None:
        if time.monotonic() - self._last_rules > 3.0:
            self._load_rules()

    def reconcile(self) -> int:
        """Copy any object missing in the destination (startup and resume catch-up)."""
        self._load_rules()
        count = 0
        for bucket, (region, _, dest_region) in self.pairs.items():
            dest = self._rules.get(bucket)
            if not dest:
                continue
            src_keys = _keys(self.client("s3", region), bucket)
            dst_keys = _keys(self.client("s3", dest_region), dest)
            for key, etag in src_keys.items():
                if dst_keys.get(key) != etag:
                    self.enqueue((bucket, key, None, None))
                    count += 1
        return count

    def _source_region(self, item: Any) -> str:
        return self.pairs[item[0]][0]

    def _apply_many(self, items: list[Any]) -> int:
        """CRR does not order objects across keys: copy a batch in parallel, keys in order."""
        if len(items) <= 1:
            return super()._apply_many(items)
        from concurrent.futures import ThreadPoolExecutor

        pool = self.__dict__.setdefault("_pool", ThreadPoolExecutor(8, thread_name_prefix="crr"))
        results = list(pool.map(self._try_apply, items))
        done = 0
        for ok in results:  # the applied prefix; the rest stay queued (re-copying is harmless)
            if not ok:
                break
            done += 1
        return done

    def _try_apply(self, item: Any) -> bool:
        try:
            self._apply(item)
            return True
        except Exception as exc:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            return False

    def _apply(self, item: Any) -> None:
        bucket, key, body, meta = item
        dest = self._rules.get(bucket)
        if not dest and time.monotonic() - self._last_rules > 0.5:
            self._load_rules()  # a rule may have been added since the last look
            dest = self._rules.get(bucket)
        if not dest:
            return
        region, _, dest_region = self.pairs[bucket]
        if body is None:
            obj = self.client("s3", region).get_object(Bucket=bucket, Key=key)
            body, meta = obj["Body"].read(), obj.get("Metadata", {})
        self._replicating.add((dest, key))
        try:
            self.client("s3", dest_region).put_object(Bucket=dest, Key=key, Body=body, Metadata=meta or {})
        finally:
            self._replicating.discard((dest, key))


def _keys(s3: Any, bucket: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = obj["ETag"]
    return out
