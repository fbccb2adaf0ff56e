"""S3 cross-region replication, as each source bucket's replication configuration says: every
object stored in a bucket with an enabled rule is copied, with its metadata and content type, to
the rule's destination bucket ``delay_s`` later (event-driven: the emulator fires ``s3_put``).
CRR does not order objects across keys, so a batch is copied in parallel. The worker watches
the policy's buckets in both directions, so the reverse replication of a failback works too.
A FIS pause of a bucket holds its objects (source: the bucket name) until resumed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from drill.core.aws import s3_etags
from sandbox.replication.worker import Worker


def started_pool(workers: int, prefix: str) -> ThreadPoolExecutor:
    """A thread pool with all its threads running from the start: a ThreadPoolExecutor starts them
    as work first overlaps, so the twin's thread count stepped up late in a drill (at a burst of
    copies) and a soak read the step as growth."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix=prefix)
    gate = threading.Barrier(workers + 1)
    for _ in range(workers):  # each task holds its thread until all are running
        pool.submit(gate.wait, 10.0)
    try:
        gate.wait(10.0)
    except threading.BrokenBarrierError:
        pool.shutdown(wait=False, cancel_futures=True)
        raise RuntimeError(f"the {prefix} pool's {workers} threads did not all start within 10 s") from None
    return pool


class S3Replicator(Worker):
    def __init__(self, client: Callable[[str, str], Any], buckets: dict[str, str], delay_s: float,
                 poll_s: float):
        super().__init__("s3", delay_s, poll_s)
        self.client = client
        self.buckets = buckets  # bucket -> its region (both sides of every pair)
        self._rules: dict[str, str | None] = {}
        self._last_rules = 0.0
        self._replicating: set[tuple[str, str]] = set()
        self._pool = started_pool(8, "crr")

    def load_rules(self) -> None:
        for bucket, region in self.buckets.items():
            try:
                conf = self.client("s3", region).get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
                rules = [r for r in conf.get("Rules", []) if r.get("Status") == "Enabled"]
                dest = rules[0]["Destination"]["Bucket"].split(":::")[-1] if rules else None
            except Exception:
                dest = None
            self._rules[bucket] = dest if dest in self.buckets else None
        self._last_rules = time.monotonic()

    def on_put(self, bucket: str, key: str, body: bytes | None = None, meta: dict[str, str] | None = None,
               content_type: str | None = None, **_: Any) -> None:
        if (bucket, key) in self._replicating:
            return  # the replica write itself: replicas are not replicated again
        if bucket in self.buckets:
            self.enqueue((bucket, key, body, meta, content_type))

    def poll(self) -> None:
        if time.monotonic() - self._last_rules > 3.0:
            self.load_rules()

    def reconcile(self) -> int:
        """Queue every object missing in its destination (start-up and resume catch-up)."""
        self.load_rules()
        count = 0
        for bucket, region in self.buckets.items():
            dest = self._rules.get(bucket)
            if not dest:
                continue
            have = s3_etags(self.client("s3", self.buckets[dest]), dest)
            for key, etag in s3_etags(self.client("s3", region), bucket).items():
                if have.get(key) != etag:
                    self.enqueue((bucket, key, None, None, None))
                    count += 1
        return count

    def source(self, item: Any) -> str:
        return str(item[0])

    def apply_many(self, items: list[Any]) -> int:
        results = list(self._pool.map(self._try_apply, items))
        done = 0
        for ok in results:  # the applied prefix; the rest stay queued (copying again is harmless)
            if not ok:
                break
            done += 1
        return done

    def _try_apply(self, item: Any) -> bool:
        try:
            self._apply(item)
            return True
        except Exception as exc:
            self.fail(exc)
            return False

    def _apply(self, item: Any) -> None:
        bucket, key, body, meta, content_type = item
        dest = self._rules.get(bucket)
        if not dest and time.monotonic() - self._last_rules > 0.5:
            self.load_rules()  # a rule may have been added since the last look
            dest = self._rules.get(bucket)
        if not dest:
            return
        if body is None:
            obj = self.client("s3", self.buckets[bucket]).get_object(Bucket=bucket, Key=key)
            body, meta, content_type = obj["Body"].read(), obj.get("Metadata", {}), obj.get("ContentType")
        self._replicating.add((dest, key))
        try:
            extra = {"ContentType": content_type} if content_type else {}
            self.client("s3", self.buckets[dest]).put_object(Bucket=dest, Key=key, Body=body, Metadata=meta or {},
                                                             **extra)
        finally:
            self._replicating.discard((dest, key))

    def stop(self) -> None:
        super().stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
