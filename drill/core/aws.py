"""The one factory of boto3 clients (the engine's targets and the twin both use it) and the one
S3 listing helper. Clients are made on demand, never at import time."""

from __future__ import annotations

import json
import threading
from typing import Any

# The only keys the drill writes or removes in the policy's buckets: its canaries and its probes.
# The IAM policy grants object writes and version removal under these prefixes alone, so the
# drill's role cannot overwrite or permanently delete the application's objects.
CANARY_PREFIX = "drill-canary/"
PROBE_PREFIX = "drill-probe/"


_SESSION: list[Any] = []  # the process's one default session
_CREATING = threading.Lock()  # a boto3 session is not thread-safe; the clients it makes are


def make_client(service: str, region: str, endpoint_url: str | None = None, session: Any = None,
                credentials: tuple[str, str] | None = None, attempts: int = 2, connect_timeout: float = 3,
                read_timeout: float = 15, pool: int = 10) -> Any:
    """A boto3 client with explicit retries and timeouts (every wait has a deadline). Without a
    ``session``, the process's one session: its loader reads each service's model once (a session
    a client would read it again for each, about 15 MB for S3, 9 MB for DynamoDB, each time)."""
    import boto3
    from botocore.config import Config as BotoConfig

    kwargs: dict[str, Any] = {}
    if credentials is not None:
        kwargs = {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]}
    with _CREATING:
        if session is None:
            if not _SESSION:
                _SESSION.append(boto3.session.Session())
            session = _SESSION[0]
        return session.client(service, region_name=region, endpoint_url=endpoint_url,
                              config=BotoConfig(retries={"max_attempts": attempts, "mode": "standard"},
                                                connect_timeout=connect_timeout, read_timeout=read_timeout,
                                                max_pool_connections=pool,
                                                # presigned links too (else SigV2 in us-east-1, which AWS retires)
                                                signature_version="s3v4" if service == "s3" else None), **kwargs)


def s3_etags(s3: Any, bucket: str, prefix: str = "") -> dict[str, str]:
    """key -> ETag of every object of ``bucket`` under ``prefix`` (paginated)."""
    out: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = obj["ETag"]
    return out


def s3_delete_versions(s3: Any, bucket: str, prefix: str, exact: bool = False) -> set[str]:
    """Remove every version and delete marker of the objects under ``prefix`` (DeleteObjects, 1,000
    a call); returns the keys that had one. In a versioned bucket (replication needs versioning) a
    DeleteObject without a version only hides an object behind a new delete marker: the object stays
    in the bucket, and in the account's bill, for good. The whole listing is read before anything
    is deleted: a listing continued from a version just deleted ends early on some S3 APIs (moto).
    ``exact``: only the object named ``prefix``."""
    versions = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if not exact or v["Key"] == prefix]
    errors: list[dict[str, str]] = []
    for at in range(0, len(versions), 1000):
        out = s3.delete_objects(Bucket=bucket, Delete={"Objects": versions[at:at + 1000], "Quiet": True})
        errors += out.get("Errors", [])
    if errors:
        e = errors[0]
        raise RuntimeError(f"s3 DeleteObjects {bucket}: {len(errors)} of {len(versions)} versions not removed "
                           f"(e.g. {e.get('Key')}: {e.get('Code')})")
    return {v["Key"] for v in versions}


def dynamodb_delete_keys(ddb: Any, table: str, keys: list[dict[str, Any]], stall_s: float = 120.0,
                         min_rate: float = 10.0) -> None:
    """Delete ``keys`` from ``table``, 25 a BatchWriteItem call (the API's most; a key twice in one
    call is refused, so each is sent once). What the service leaves unprocessed, or refuses whole
    as throttled, is sent again with a growing pause. Two deadlines: ``stall_s`` without one item
    removed, and a cap on the whole cleanup: ``stall_s`` plus the time the keys take at
    ``min_rate`` items a second (a service that removes an item now and then would otherwise keep
    the stall deadline alive for ever). The drill's store passes the rate its canaries wrote the
    table at, so a table that could take the writes is cleaned within the cap, throttled or not.
    One DeleteItem a key took about 8 ms a call on the twin: half an hour a region for a drill of
    200,000 canaries a store."""
    import time

    from botocore.exceptions import ClientError

    from drill.core.errors import DeadlineExceeded

    unique = list({json.dumps(key, sort_keys=True): key for key in keys}.values())
    pending = [{"DeleteRequest": {"Key": key}} for key in unique]
    started = time.monotonic()
    cap_s = stall_s + len(unique) / min_rate
    cap = started + cap_s
    deadline = started + stall_s
    pause = 0.05
    while pending:
        batch, pending = pending[:25], pending[25:]
        try:
            left = ddb.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems", {}).get(table, [])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in THROTTLED:
                raise
            left = batch
        now = time.monotonic()
        if len(left) < len(batch):
            deadline, pause = now + stall_s, 0.05  # progress
        pending = left + pending
        if not pending:
            return
        if now >= cap:
            raise DeadlineExceeded(f"dynamodb BatchWriteItem {table}: {len(pending)} of {len(unique)} items not "
                                   f"removed within the cleanup's cap of {round(cap_s, 1):g} s "
                                   f"({min_rate:g} items a second)")
        if left:
            if now >= deadline:
                raise DeadlineExceeded(f"dynamodb BatchWriteItem {table}: {len(pending)} of {len(unique)} "
                                       f"items not removed, none removed for {stall_s:g} s (throttled)")
            time.sleep(min(pause, deadline - now, cap - now))
            pause = min(pause * 2, 2.0)


THROTTLED = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
