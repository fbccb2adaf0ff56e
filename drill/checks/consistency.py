"""The weekly data consistency check: primary vs DR, store by store, every difference listed.

Comparisons (read-only): RDS row counts and checksums per table; DynamoDB items of every global
table; S3 keys and ETags of each bucket pair; ECR images by digest; secrets by value (fingerprints,
never the value); Cognito users (every confirmed primary user exists in DR). Probes (they write,
and remove what they wrote): a write per replicated store and pair that must arrive in the other
copy within the store's RPO budget (each table both ways, each bucket pair, a database row).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from drill.core.aws import PROBE_PREFIX, s3_delete_versions
from drill.core.errors import ActionFailed
from drill.core.waits import wait_until
from drill.ops import cognito, rds, s3, stores
from drill.targets.base import Target

LIMIT = 50


def rds_differences(target: Target) -> list[str]:
    sides: dict[str, dict[str, tuple[int, int | None]]] = {}
    for role in ("primary", "dr"):
        with rds.connect(target, role, timeout=30) as conn, conn.cursor() as cur:
            cur.execute("SHOW TABLES")
            out = {}
            for (table,) in cur.fetchall():
                cur.execute(f"SELECT COUNT(*) FROM `{table}`")
                count = int(cur.fetchone()[0])  # type: ignore[index]
                cur.execute(f"CHECKSUM TABLE `{table}`")
                row = cur.fetchone()
                out[str(table)] = (count, int(row[1]) if row and row[1] is not None else None)
            sides[role] = out
    db = target.cfg.rds.database
    diffs = []
    for table in sorted(set(sides["primary"]) | set(sides["dr"])):
        p, d = sides["primary"].get(table), sides["dr"].get(table)
        if p is None or d is None:
            diffs.append(f"rds {db}.{table}: only in {'primary' if d is None else 'DR'}")
        elif p != d:
            diffs.append(f"rds {db}.{table}: primary {p[0]} rows (checksum {p[1]}), DR {d[0]} rows (checksum {d[1]})")
    return diffs


def _listed(kind: str, where: str, rows: list[tuple[str, str]]) -> list[str]:
    out = [f"{kind} {where} {key}: {what}" for key, what in rows[:LIMIT]]
    return out + ([f"{kind} {where}: {len(rows) - LIMIT} more differences"] if len(rows) > LIMIT else [])


def dynamodb_differences(target: Target) -> list[str]:
    diffs: list[str] = []
    dr = target.cfg.side("dr").region
    for table in target.cfg.dynamodb.tables:
        if dr not in stores.replicas(target, table.name):
            diffs.append(f"dynamodb {table.name}: no replica in {dr}")
        keys = [table.hash_key] + ([table.range_key] if table.range_key else [])
        try:
            p, d = (stores.items(target, role, table.name, keys) for role in ("primary", "dr"))
        except Exception as exc:
            diffs.append(f"dynamodb {table.name}: cannot read both regions ({type(exc).__name__}: {exc})"[:300])
            continue
        rows = [(str(dict(zip(keys, k, strict=True))), "only in primary") for k in sorted(set(p) - set(d))]
        rows += [(str(dict(zip(keys, k, strict=True))), "only in DR") for k in sorted(set(d) - set(p))]
        rows += [(str(dict(zip(keys, k, strict=True))), "differs") for k in sorted(set(p) & set(d)) if p[k] != d[k]]
        diffs += _listed("dynamodb", table.name, rows)
    return diffs


def s3_differences(target: Target) -> list[str]:
    diffs: list[str] = []
    for pair in target.cfg.s3.buckets:
        if s3.enabled_destination(target, "primary", pair.name) != pair.dr:
            diffs.append(f"s3 {pair.name}: no enabled replication rule to {pair.dr}")
        p, d = s3.etags(target, "primary", pair.name), s3.etags(target, "dr", pair.dr)
        for own in (target.cfg.lock.key,):  # the drill's own lease object, renewed while it runs
            p.pop(own, None)
            d.pop(own, None)
        rows = [(k, "only in primary") for k in sorted(set(p) - set(d))]
        rows += [(k, "only in DR") for k in sorted(set(d) - set(p))]
        rows += [(k, f"ETag {p[k]} vs {d[k]}") for k in sorted(set(p) & set(d)) if p[k] != d[k]]
        diffs += _listed("s3", f"{pair.name} -> {pair.dr}", rows)
    return diffs


def secrets_differences(target: Target) -> list[str]:
    p, d = stores.secret_fingerprints(target, "primary"), stores.secret_fingerprints(target, "dr")
    dr = target.cfg.side("dr").region
    diffs = []
    for name in sorted(p):
        if p[name] is None:
            diffs.append(f"secret {name}: not readable in the primary region")
        elif d.get(name) is None:
            diffs.append(f"secret {name}: no replica in {dr}")
        elif p[name] != d[name]:
            diffs.append(f"secret {name}: the value in {dr} differs from the primary's (stale replica)")
    return diffs


def ecr_differences(target: Target) -> list[str]:
    p, d = stores.image_digests(target, "primary"), stores.image_digests(target, "dr")
    dr = target.cfg.side("dr").region
    diffs = []
    for repo in target.cfg.ecr.repositories:
        if repo not in d:
            diffs.append(f"ecr {repo}: no repository in {dr}")
            continue
        missing = sorted(p.get(repo, set()) - d[repo])
        diffs += [f"ecr {repo}: image {digest[:19]}... missing in {dr}" for digest in missing]
    return diffs


def cognito_differences(target: Target) -> list[str]:
    p, d = cognito.confirmed_users(target, "primary"), cognito.confirmed_users(target, "dr")
    missing = sorted(p - d)
    return [f"cognito {u}: confirmed in the primary pool, missing in the DR pool" for u in missing[:LIMIT]] + (
        [f"cognito: {len(missing) - LIMIT} more users missing in DR"] if len(missing) > LIMIT else [])


def cloudfront_differences(target: Target) -> list[str]:
    cf = target.cfg.cloudfront
    api = target.client("cloudfront", "us-east-1")
    dists = [d for page in api.get_paginator("list_distributions").paginate()
             for d in page.get("DistributionList", {}).get("Items", [])]
    dist = next((d for d in dists if cf.distribution_id in (d["Id"], d.get("Comment"))), None)
    if dist is None:
        return [f"cloudfront {cf.distribution_id}: not found"]
    conf = api.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    target_id = conf["DefaultCacheBehavior"]["TargetOriginId"]
    group = next((g for g in conf.get("OriginGroups", {}).get("Items", []) or [] if g["Id"] == target_id), None)
    if group is None:
        return [f"cloudfront {cf.distribution_id}: the default behaviour targets {target_id}, not an origin group"]
    origins = {o["Id"]: o["DomainName"] for o in conf["Origins"]["Items"]}
    members = [origins.get(m["OriginId"], m["OriginId"]) for m in group["Members"]["Items"]]
    if not any(m.startswith(f"{cf.failover_bucket}.") for m in members[1:]):
        return [f"cloudfront {cf.distribution_id}: origin group {group['Id']} has no DR origin {cf.failover_bucket} "
                f"after the primary (members {members})"]
    return []


CHECKS: dict[str, Callable[[Target], list[str]]] = {
    "rds": rds_differences, "dynamodb": dynamodb_differences, "s3": s3_differences,
    "secrets": secrets_differences, "ecr": ecr_differences, "cognito": cognito_differences,
    "cloudfront": cloudfront_differences}


# ----------------------------------------------------------------------------- probes


def _probe(what: str, write: Callable[[], None], seen: Callable[[], bool], remove: Callable[[], None],
           deadline_s: float) -> dict[str, Any]:
    write()
    try:
        took: float | None = wait_until(seen, deadline_s, what, 0.05)
    except ActionFailed:
        took = None
    finally:
        remove()
    return {"probe": what, "seen_after_s": round(took, 3) if took is not None else None}


def probe_tables(target: Target, tag: str, deadline_s: float) -> list[dict[str, Any]]:
    out = []
    for table in target.cfg.dynamodb.tables:
        for src, dst in (("primary", "dr"), ("dr", "primary")):
            key = {table.hash_key: {"S": f"drill-probe#{tag}#{src}"}}
            if table.range_key:
                key[table.range_key] = {"S": "0"}
            w = target.client("dynamodb", target.cfg.side(src).region)
            r = target.client("dynamodb", target.cfg.side(dst).region)

            def write(w: Any = w, t: str = table.name, k: dict[str, Any] = key) -> None:
                w.put_item(TableName=t, Item=dict(k))

            def seen(r: Any = r, t: str = table.name, k: dict[str, Any] = key) -> bool:
                return "Item" in r.get_item(TableName=t, Key=k)

            def remove(w: Any = w, t: str = table.name, k: dict[str, Any] = key) -> None:
                w.delete_item(TableName=t, Key=k)

            out.append({"table": table.name, "from": src, "to": dst,
                        **_probe(f"{table.name} {src}->{dst}", write, seen, remove, deadline_s)})
    return out


def probe_buckets(target: Target, tag: str, deadline_s: float) -> list[dict[str, Any]]:
    out = []
    sp, sd = (target.client("s3", target.cfg.side(r).region) for r in ("primary", "dr"))
    for pair in target.cfg.s3.buckets:
        key = f"{PROBE_PREFIX}{tag}/{uuid.uuid4().hex[:8]}"  # the IAM policy grants writes under it alone

        def seen(b: str = pair.dr, k: str = key) -> bool:
            try:
                sd.head_object(Bucket=b, Key=k)
                return True
            except sd.exceptions.ClientError:
                return False

        def remove(p: str = pair.name, d: str = pair.dr, k: str = key) -> None:
            s3_delete_versions(sp, p, k)  # every version: a plain delete leaves the probe behind a marker
            s3_delete_versions(sd, d, k)

        def write(b: str = pair.name, k: str = key) -> None:
            sp.put_object(Bucket=b, Key=k, Body=b"probe")

        out.append({"bucket": pair.name, "to": pair.dr,
                    **_probe(f"s3 {pair.name}->{pair.dr}", write, seen, remove, deadline_s)})
    return out


def probe_database(target: Target, tag: str, deadline_s: float) -> dict[str, Any]:
    from drill.traffic.stores import CANARY_TABLE, RdsStore

    store = RdsStore(target, f"probe-{tag}")
    store.prepare()
    seq = int(time.time())

    def remove() -> None:
        store.delete_all("primary")

    return {"instance": target.cfg.rds.replica.id, **_probe(
        f"rds row {CANARY_TABLE} primary->DR", lambda: store.write(seq, "primary"),
        lambda: seq in store.surviving("dr"), remove, deadline_s)}
