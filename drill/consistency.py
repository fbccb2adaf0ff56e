"""The weekly data consistency check: primary vs DR, store by store, every difference listed.

Read-only. RDS: row count and CHECKSUM TABLE per table on both instances. DynamoDB: every item
of every global table in both regions (replication bookkeeping attributes ignored). S3: keys and
ETags of each bucket pair. Secrets: each secret replicated and in sync. ECR: each repository
present in the DR region.
"""

from __future__ import annotations

from typing import Any

import pymysql

from drill.targets import Target

REP_ATTRS = ("aws:rep:updateregion", "aws:rep:updatetime", "aws:rep:deleting")


def rds_differences(target: Target) -> list[str]:
    user, password = target.db_login()
    db = target.cfg.rds.database
    sides: dict[str, dict[str, tuple[int, int | None]]] = {}
    for role in ("primary", "dr"):
        host, port = target.db_endpoint(role)
        with pymysql.connect(host=host, port=port, user=user, password=password, database=db, connect_timeout=5,
                             read_timeout=30) as conn, conn.cursor() as cur:
            cur.execute("SHOW TABLES")
            tables = [r[0] for r in cur.fetchall()]
            out = {}
            for table in tables:
                cur.execute(f"SELECT COUNT(*) FROM `{table}`")
                count = int(cur.fetchone()[0])  # type: ignore[index]
                cur.execute(f"CHECKSUM TABLE `{table}`")
                row = cur.fetchone()
                out[table] = (count, int(row[1]) if row and row[1] is not None else None)
            sides[role] = out
    diffs = []
    for table in sorted(set(sides["primary"]) | set(sides["dr"])):
        p, d = sides["primary"].get(table), sides["dr"].get(table)
        if p is None or d is None:
            diffs.append(f"rds {db}.{table}: only in {'primary' if d is None else 'DR'}")
        elif p != d:
            diffs.append(f"rds {db}.{table}: primary {p[0]} rows (checksum {p[1]}), DR {d[0]} rows (checksum {d[1]})")
    return diffs


def _items(ddb: Any, table: str, keys: list[str]) -> dict[tuple[str, ...], dict[str, Any]]:
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        for item in page.get("Items", []):
            key = tuple(str(item.get(k)) for k in keys)
            out[key] = {k: v for k, v in item.items() if k not in REP_ATTRS}
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def dynamodb_differences(target: Target, limit: int = 50) -> list[str]:
    cfg = target.cfg
    diffs: list[str] = []
    for table in cfg.dynamodb.tables:
        keys = [table.hash_key] + ([table.range_key] if table.range_key else [])
        try:
            p = _items(target.client("dynamodb", cfg.regions.primary.name, journaled=False), table.name, keys)
            d = _items(target.client("dynamodb", cfg.regions.dr.name, journaled=False), table.name, keys)
        except Exception as exc:
            diffs.append(f"dynamodb {table.name}: cannot read both regions ({type(exc).__name__}: {exc})"[:300])
            continue
        only_p = sorted(set(p) - set(d))
        only_d = sorted(set(d) - set(p))
        changed = sorted(k for k in set(p) & set(d) if p[k] != d[k])
        for label, keys_ in (("only in primary", only_p), ("only in DR", only_d), ("differs", changed)):
            for k in keys_[:limit]:
                diffs.append(f"dynamodb {table.name} {dict(zip(keys, k, strict=True))}: {label}")
            if len(keys_) > limit:
                diffs.append(f"dynamodb {table.name}: {len(keys_) - limit} more {label}")
    return diffs


def _objects(s3: Any, bucket: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = obj["ETag"]
    return out


def s3_differences(target: Target, limit: int = 50) -> list[str]:
    cfg = target.cfg
    diffs: list[str] = []
    for pair in cfg.s3.buckets:
        p = _objects(target.client("s3", cfg.regions.primary.name, journaled=False), pair.name)
        d = _objects(target.client("s3", cfg.regions.dr.name, journaled=False), pair.dr)
        rows = [(k, "only in primary") for k in sorted(set(p) - set(d))]
        rows += [(k, "only in DR") for k in sorted(set(d) - set(p))]
        rows += [(k, f"ETag {p[k]} vs {d[k]}") for k in sorted(set(p) & set(d)) if p[k] != d[k]]
        diffs += [f"s3 {pair.name} -> {pair.dr} {k}: {what}" for k, what in rows[:limit]]
        if len(rows) > limit:
            diffs.append(f"s3 {pair.name} -> {pair.dr}: {len(rows) - limit} more differences")
    return diffs


def secrets_differences(target: Target) -> list[str]:
    cfg = target.cfg
    sm = target.client("secretsmanager", cfg.regions.primary.name, journaled=False)
    diffs = []
    for secret in cfg.secrets:
        try:
            desc = sm.describe_secret(SecretId=secret.name)
        except Exception as exc:
            diffs.append(f"secret {secret.name}: not found in the primary region ({type(exc).__name__})")
            continue
        reps = {r["Region"]: r.get("Status") for r in desc.get("ReplicationStatus", [])}
        if cfg.regions.dr.name not in reps:
            diffs.append(f"secret {secret.name}: not replicated to {cfg.regions.dr.name}")
        elif reps[cfg.regions.dr.name] not in ("InSync", None):
            diffs.append(f"secret {secret.name}: replica {reps[cfg.regions.dr.name]}")
    return diffs


def ecr_differences(target: Target) -> list[str]:
    cfg = target.cfg
    ecr = target.client("ecr", cfg.regions.dr.name, journaled=False)
    present: set[str] = set()
    for page in ecr.get_paginator("describe_repositories").paginate():
        present |= {r["repositoryName"] for r in page["repositories"]}
    return [f"ecr {repo}: missing in {cfg.regions.dr.name}" for repo in cfg.ecr.repositories if repo not in present]


CHECKS = {"rds": rds_differences, "dynamodb": dynamodb_differences, "s3": s3_differences,
          "secrets": secrets_differences, "ecr": ecr_differences}
