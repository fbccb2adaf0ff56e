"""History that outlives the machine: each finished drill's reports published to the S3 location
the config names (``history.bucket`` / ``history.prefix``, in the account: the same target client
and journal as every other call), and the index built from what is there, so a drill run on a new
machine shows the earlier ones.

Published after the drill's own reports are rendered: the files uploaded are the drill's report
as it ended; the upload's own calls are appended to its journal afterwards (``history_published``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drill.core.aws import s3_etags
from drill.core.schema import Config
from drill.report.html import index_rows, render_index_html

FILES = ("result.json", "report.html", "report.md", "junit.xml", "cucumber.json", "journal.jsonl")
TYPES = {".json": "application/json", ".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8",
         ".xml": "application/xml", ".jsonl": "application/x-ndjson"}


def where(cfg: Config) -> tuple[str, str, str] | None:
    """(bucket, prefix, region) of the history, or None when not configured."""
    h = cfg.history
    if not h.bucket:
        return None
    return h.bucket, h.prefix if h.prefix.endswith("/") or not h.prefix else h.prefix + "/", \
        h.region or cfg.side("primary").region


def publish(s3: Any, cfg: Config, drill_dir: Path) -> list[str]:
    """Upload the drill's report files; returns the keys written."""
    loc = where(cfg)
    if loc is None:
        return []
    bucket, prefix, _ = loc
    keys = []
    for name in FILES:
        path = drill_dir / name
        if path.exists():
            key = f"{prefix}{drill_dir.name}/{name}"
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(),
                          ContentType=TYPES.get(path.suffix, "application/octet-stream"))
            keys.append(key)
    return keys


def results(s3: Any, cfg: Config) -> list[dict[str, Any]]:
    """Every published drill's result.json."""
    loc = where(cfg)
    if loc is None:
        return []
    bucket, prefix, _ = loc
    out = []
    for key in sorted(s3_etags(s3, bucket, prefix)):
        if key.endswith("/result.json"):
            try:
                out.append(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
            except ValueError:
                continue
    return out


CONSOLES = {"us-gov-": "https://console.amazonaws-us-gov.com", "cn-": "https://console.amazonaws.cn"}
PRESIGNED_S = 7 * 24 * 3600  # SigV4's longest; each drill's index renders the links again


def object_link(s3: Any, bucket: str, key: str, drill_id: str) -> str:
    """A link a browser opens: on AWS the object in the S3 console of its partition (the reader's
    own login; the bucket stays private); on any other S3 endpoint (the twin, LocalStack) a
    presigned GET, signed here without a call, valid for a week."""
    from urllib.parse import quote

    endpoint = str(getattr(s3.meta, "endpoint_url", "") or "").rstrip("/")
    region = getattr(s3.meta, "region_name", None) or "us-east-1"
    full = key.format(id=drill_id)
    if not endpoint or endpoint.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        console = next((c for p, c in CONSOLES.items() if region.startswith(p)), "https://s3.console.aws.amazon.com")
        return f"{console}/s3/object/{bucket}?region={region}&prefix={quote(full, safe='/')}"
    return str(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": full},
                                         ExpiresIn=PRESIGNED_S))


def render_index(s3: Any, cfg: Config, reports: Path) -> Path:
    """reports/index.html from the history in S3 and this folder's drills (a local report links
    locally, a published one where a browser opens it: ``object_link``)."""
    bucket, prefix, _ = where(cfg) or ("", "", "")
    local = {}
    for res in reports.glob("*/result.json"):
        try:
            data = json.loads(res.read_text())
        except ValueError:
            continue
        local[data.get("drill_id")] = data
    remote = [r for r in results(s3, cfg) if r.get("drill_id") not in local]
    rows = index_rows(list(local.values())) + [
        dict(row, link=object_link(s3, bucket, prefix + "{id}/report.html", str(row["id"]))) for row in index_rows(remote)]
    rows.sort(key=lambda r: str(r["started"]))
    path = reports / "index.html"
    path.write_text(render_index_html(rows, source=f"s3://{bucket}/{prefix}"))
    return path
