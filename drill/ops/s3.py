"""S3: objects of a region's policy buckets (the one listing helper, ``drill.core.aws.s3_etags``),
replication rules, and the failback's steps: copy what DR holds back (``CopyObject`` keeps each
object's metadata and content type) and replicate DR -> primary with its own role meanwhile."""

from __future__ import annotations

from typing import Any

from drill.core.aws import s3_etags
from drill.targets.base import Target


def etags(target: Target, role: str, bucket: str, prefix: str = "") -> dict[str, str]:
    return s3_etags(target.client("s3", target.cfg.side(role).region), bucket, prefix)


def rules(target: Target, role: str, bucket: str) -> list[dict[str, Any]]:
    s3 = target.client("s3", target.cfg.side(role).region)
    try:
        return list(s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"].get("Rules", []))
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "ReplicationConfigurationNotFoundError":
            return []
        raise


def enabled_destination(target: Target, role: str, bucket: str) -> str | None:
    for rule in rules(target, role, bucket):
        if rule.get("Status") == "Enabled":
            return str(rule["Destination"]["Bucket"]).split(":::")[-1]
    return None


def reverse_replication(target: Target, on: bool) -> list[str]:
    """Failback: replicate each DR bucket back to its primary bucket (``s3.failback_role``), or stop."""
    cfg = target.cfg
    s3 = target.client("s3", cfg.side("dr").region)
    done = []
    for pair in cfg.s3.buckets:
        if on:
            s3.put_bucket_replication(Bucket=pair.dr, ReplicationConfiguration={
                "Role": f"arn:aws:iam::{target.account}:role/{cfg.s3.failback_role}", "Rules": [{
                    "ID": f"failback-{pair.dr}", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Enabled"},
                    "Destination": {"Bucket": f"arn:aws:s3:::{pair.name}"}}]})
        elif rules(target, "dr", pair.dr):
            s3.delete_bucket_replication(Bucket=pair.dr)
        done.append(pair.dr)
    return done


def copy_back(target: Target) -> dict[str, int]:
    """Every object of each DR bucket that its primary bucket lacks or holds differently, copied
    there with its metadata (CRR copies only new objects; this is the policy's "sync data back")."""
    cfg = target.cfg
    s3p = target.client("s3", cfg.side("primary").region)
    copied: dict[str, int] = {}
    for pair in cfg.s3.buckets:
        have = etags(target, "primary", pair.name)
        n = 0
        for key, etag in etags(target, "dr", pair.dr).items():
            if have.get(key) != etag:
                s3p.copy_object(Bucket=pair.name, Key=key, CopySource={"Bucket": pair.dr, "Key": key},
                                MetadataDirective="COPY")
                n += 1
        copied[pair.name] = n
    return copied
