"""What each replicated store holds, by region, for the consistency checks: DynamoDB items and
replicas, ECR image digests, Secrets Manager values (as fingerprints: never the value itself)."""

from __future__ import annotations

import hashlib
from typing import Any

from drill.targets.base import Target

REP_ATTRS = ("aws:rep:updateregion", "aws:rep:updatetime", "aws:rep:deleting")


def items(target: Target, role: str, table: str, keys: list[str]) -> dict[tuple[str, ...], dict[str, Any]]:
    ddb = target.client("dynamodb", target.cfg.side(role).region)
    return {tuple(str(i.get(k)) for k in keys): {k: v for k, v in i.items() if k not in REP_ATTRS}
            for page in ddb.get_paginator("scan").paginate(TableName=table) for i in page.get("Items", [])}


def replicas(target: Target, table: str) -> list[str]:
    desc = target.client("dynamodb", target.cfg.side("primary").region).describe_table(TableName=table)["Table"]
    return [r["RegionName"] for r in desc.get("Replicas", [])]


def image_digests(target: Target, role: str) -> dict[str, set[str]]:
    """repository -> the digests of its images, for the policy's repositories (missing: absent)."""
    ecr = target.client("ecr", target.cfg.side(role).region)
    out: dict[str, set[str]] = {}
    for repo in target.cfg.ecr.repositories:
        try:
            out[repo] = {i["imageDigest"] for page in ecr.get_paginator("describe_images").paginate(repositoryName=repo)
                         for i in page["imageDetails"]}
        except ecr.exceptions.RepositoryNotFoundException:
            continue
    return out


def secret_fingerprints(target: Target, role: str) -> dict[str, str | None]:
    """name -> SHA-256 of the secret's value in ``role``'s region (None: not readable there)."""
    sm = target.client("secretsmanager", target.cfg.side(role).region)
    out: dict[str, str | None] = {}
    for secret in target.cfg.secrets:
        try:
            value = sm.get_secret_value(SecretId=secret.name)["SecretString"]
        except Exception:
            out[secret.name] = None
            continue
        target.redactor.add(value)
        out[secret.name] = hashlib.sha256(value.encode()).hexdigest()
    return out
