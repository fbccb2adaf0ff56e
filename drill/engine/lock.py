"""One drill per target at a time: a lease held in the target itself, an S3 object written with
conditional puts (``If-None-Match: *`` to take a free lease, ``If-Match: <etag>`` to renew or take
over an expired one). It names its owner (drill id, host, pid) and an expiry that the running
drill renews every third of the lease; a drill killed hard stops renewing and the lease expires.
"Alive" means unexpired, and on the host that wrote it, its pid still a drill: ``drill rollback``
never touches a drill whose lease is alive.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Any

from drill.core.aws import s3_delete_versions
from drill.core.errors import InvalidInput
from drill.core.journal import Journal
from drill.core.procs import cmdline, pid_alive
from drill.targets.base import Target


def _where(target: Target) -> tuple[Any, str, str]:
    cfg = target.cfg
    bucket = cfg.lock.bucket or cfg.side("primary").buckets[0]
    return target.client("s3", cfg.side("primary").region), bucket, cfg.lock.key


def holder(target: Target) -> tuple[dict[str, Any] | None, str | None]:
    """(the lease as written, its ETag), or (None, None) when there is none."""
    s3, bucket, key = _where(target)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return None, None
    try:
        data = json.loads(obj["Body"].read())
    except ValueError:
        data = {"owner": "unreadable", "expires_at": 0}
    return data, str(obj["ETag"])


def alive(lease: dict[str, Any] | None) -> bool:
    """Unexpired, and not held by a process of this host that is gone (a lease names its host and
    pid: on the host that wrote it, a dead pid proves it stale before it expires)."""
    if not lease or float(lease.get("expires_at", 0)) <= time.time():
        return False
    if lease.get("host") == socket.gethostname():
        pid = int(lease.get("pid") or 0)
        return pid > 1 and pid_alive(pid) and any("drill" in a or "pytest" in a for a in cmdline(pid))
    return True


class Lease:
    def __init__(self, target: Target, journal: Journal | None, owner: str):
        self.target = target
        self.journal = journal
        self.owner = owner
        self.lease_s = target.cfg.lock.lease_s
        self.etag: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def _body(self) -> bytes:
        return json.dumps({"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(),
                           "expires_at": time.time() + self.lease_s}).encode()

    def acquire(self) -> None:
        s3, bucket, key = _where(self.target)
        try:
            self.etag = s3.put_object(Bucket=bucket, Key=key, Body=self._body(), IfNoneMatch="*")["ETag"]
        except s3.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            lease, etag = holder(self.target)
            if alive(lease):
                assert lease is not None
                raise InvalidInput(
                    f"another drill holds {self.target.name}: {lease.get('owner')} on {lease.get('host')} pid "
                    f"{lease.get('pid')}, lease until {time.strftime('%H:%M:%S', time.localtime(lease['expires_at']))}"
                    f" (s3://{bucket}/{key})") from None
            try:  # expired: take it over, unless someone else just did
                self.etag = s3.put_object(Bucket=bucket, Key=key, Body=self._body(), IfMatch=etag)["ETag"]
            except s3.exceptions.ClientError:
                raise InvalidInput(f"another drill just took the lease of {self.target.name} (s3://{bucket}/{key})") \
                    from None
        if self.journal is not None:
            self.journal.write("lock_acquired", durable=True, owner=self.owner, bucket=bucket, key=key,
                               lease_s=self.lease_s)
        self._thread = threading.Thread(target=self._renew, name="drill-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        s3, bucket, key = _where(self.target)
        while not self._stop.wait(self.lease_s / 3):
            try:
                self.etag = s3.put_object(Bucket=bucket, Key=key, Body=self._body(), IfMatch=self.etag)["ETag"]
            except Exception:
                self.lost = True  # taken over, or the API unreachable for a while: keep trying

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        lease, etag = holder(self.target)
        if lease and lease.get("owner") == self.owner:
            s3, bucket, key = _where(self.target)
            s3_delete_versions(s3, bucket, key, exact=True)  # every renewal's version, not just a marker
        if self.journal is not None:
            try:
                self.journal.write("lock_released", durable=True, owner=self.owner)
            except (OSError, ValueError):
                pass
