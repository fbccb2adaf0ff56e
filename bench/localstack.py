"""The localstack target's costs on this machine: detection, start-up of the twin with LocalStack
behind it, and what the twin's AWS front adds to each request it forwards.

Targets: detection within localstack.health_timeout_s (3 s); `sandbox up --target localstack`
healthy as fast as the twin alone (20 s, bench/sandbox_start.py); the front adds a few ms per request
(about 2 ms median when last measured, commit 84e7545).

Usage: python bench/localstack.py [--requests N] [--address-block 127.90]
(LocalStack must answer: ci/localstack.sh start.) The twin runs in DRILL_RUNTIME_DIR (which must
hold no running twin), else in a fresh private directory; it is stopped at the end.
Prints: detection time (``drill.targets.localstack.detect_localstack``); the wall time of
`python -m drill sandbox up --target localstack` and each part's time from the supervisor's state;
S3 PutObject (to a bucket without a CRR rule, and to a policy bucket whose every object the twin then
replicates) and DynamoDB PutItem rates and latencies, sent straight to LocalStack and through the
twin's AWS front, in turn.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402

from drill.core.config import load_config  # noqa: E402
from drill.targets.localstack import detect_localstack  # noqa: E402
from sandbox.client import attach, down  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _client(service: str, region: str, url: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=url, aws_access_key_id="test",
                        aws_secret_access_key="test")


def _rate(label: str, n: int, call: Any) -> None:
    for i in range(min(50, n)):
        call(n + i)  # warm-up, not measured
    lat = []
    start = time.monotonic()
    for i in range(n):
        t = time.monotonic()
        call(i)
        lat.append((time.monotonic() - t) * 1000)
    wall = time.monotonic() - start
    print(f"  {label:34} {n / wall:7.0f} req/s, median {statistics.median(lat):6.2f} ms, "
          f"p99 {sorted(lat)[int(len(lat) * 0.99) - 1]:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--address-block", default=None, help="sandbox.address_block for the twin (e.g. 127.90)")
    args = parser.parse_args()
    sets = [f"sandbox.address_block='{args.address_block}'"] if args.address_block else []
    loaded = load_config(profile="localstack", overrides=sets)
    cfg = loaded.config
    t = time.monotonic()
    routing = detect_localstack(cfg)
    print(f"detection: {(time.monotonic() - t) * 1000:.0f} ms; LocalStack {routing['version']} at {routing['url']}: "
          f"{', '.join(routing['services'])}")
    if os.environ.get("DRILL_RUNTIME_DIR") and attach() is not None:
        raise SystemExit(f"a twin already runs in {os.environ['DRILL_RUNTIME_DIR']}: stop it first")
    os.environ.setdefault("DRILL_RUNTIME_DIR", str(Path(tempfile.mkdtemp(prefix="drill-bench-")) / "run"))
    t = time.monotonic()
    try:
        subprocess.run([sys.executable, "-m", "drill", "sandbox", "up", "--target", "localstack",
                        *[a for s in sets for a in ("--set", s)]], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        print(f"sandbox up --target localstack: healthy in {time.monotonic() - t:.2f} s wall")
        twin = attach()
        assert twin is not None
        state = twin.state
        for part, secs in (state.get("timings") or {}).items():
            print(f"  {part:18} {secs:7.3f} s")
        region = cfg.regions.primary.name
        bucket, table = cfg.s3.buckets[1].name, cfg.dynamodb.tables[0]
        # warm both paths first (DynamoDB Local's JVM, connection pools), then measure each twice in turn
        paths = [("straight to LocalStack", routing["url"]), ("through the twin's front", twin.info.aws_endpoint)]
        plain = "drill-bench-no-crr"
        _client("s3", region, routing["url"]).create_bucket(
            Bucket=plain, CreateBucketConfiguration={"LocationConstraint": region})
        for label, url in paths * 2:
            print(label)
            s3 = _client("s3", region, url)
            _rate("s3 PutObject 1 KiB, no CRR rule", args.requests,
                  lambda i, s3=s3: s3.put_object(Bucket=plain, Key=f"bench/{i}", Body=b"x" * 1024))
            _rate(f"s3 PutObject 1 KiB, {bucket} (CRR)", args.requests,
                  lambda i, s3=s3: s3.put_object(Bucket=bucket, Key=f"bench/{i}", Body=b"x" * 1024))
            ddb = _client("dynamodb", region, url)

            def put(i: int, ddb: Any = ddb) -> None:
                item = {table.hash_key: {"S": f"bench-{i}"}}
                if table.range_key:
                    item[table.range_key] = {"S": "0"}
                ddb.put_item(TableName=table.name, Item=item)

            _rate("dynamodb PutItem", args.requests, put)
        s3 = _client("s3", region, routing["url"])
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=plain):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=plain, Key=obj["Key"])
        s3.delete_bucket(Bucket=plain)
    finally:
        down()


if __name__ == "__main__":
    main()
