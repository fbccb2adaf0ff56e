"""The CloudFront stand-in: the distribution's domain answers here, following its configuration.

A request goes to the default cache behaviour's target: an origin, or an origin group whose
members are tried in order while an answer's status is one of the group's failover criteria (as
CloudFront origin failover does). An S3 origin is read through the S3 API of its region; a bucket
policy that denies s3:GetObject to everyone makes it answer 403, as it would to CloudFront.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sandbox.httpserver import Request, Response


class FrontApp:
    def __init__(self, client: Callable[[str, str], Any], distribution_id: str):
        self.client = client
        self.distribution_id = distribution_id
        self._conf: tuple[float, dict[str, Any]] = (0.0, {})
        self.served: dict[str, int] = {}

    def config(self) -> dict[str, Any]:
        at, conf = self._conf
        if time.monotonic() - at > 1.0:
            conf = self.client("cloudfront", "us-east-1").get_distribution_config(
                Id=self.distribution_id)["DistributionConfig"]
            self._conf = (time.monotonic(), conf)
        return conf

    def __call__(self, req: Request) -> Response:
        try:
            conf = self.config()
        except Exception as exc:
            return Response.json({"error": "distribution unavailable", "detail": type(exc).__name__}, 502)
        origins = {o["Id"]: o for o in conf.get("Origins", {}).get("Items", [])}
        target = conf["DefaultCacheBehavior"]["TargetOriginId"]
        group = next((g for g in conf.get("OriginGroups", {}).get("Items", []) or [] if g["Id"] == target), None)
        members = [m["OriginId"] for m in group["Members"]["Items"]] if group else [target]
        criteria = set(group["FailoverCriteria"]["StatusCodes"]["Items"]) if group else set()
        key = req.path.lstrip("/") or "index.html"
        status, body, ctype = 502, b"no origin", "text/plain"
        for origin_id in members:
            origin = origins.get(origin_id)
            if origin is None:
                continue
            status, body, ctype = self._fetch(origin["DomainName"], key)
            if status not in criteria:
                self.served[origin_id] = self.served.get(origin_id, 0) + 1
                break
        return Response(status, body, {"Content-Type": ctype, "X-Cache": "Miss from cloudfront"})

    def _fetch(self, domain: str, key: str) -> tuple[int, bytes, str]:
        bucket, _, rest = domain.partition(".s3.")
        region = rest.split(".amazonaws.com")[0] or "us-east-1"
        s3 = self.client("s3", region)
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
            for st in policy.get("Statement", []):
                actions = st.get("Action") if isinstance(st.get("Action"), list) else [st.get("Action")]
                if st.get("Effect") == "Deny" and st.get("Principal") in ("*", {"AWS": "*"}) and \
                        any(a in ("s3:GetObject", "s3:*", "*") for a in actions):
                    return 403, b"AccessDenied", "application/xml"
        except Exception:
            pass  # no policy
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
            return 200, obj["Body"].read(), obj.get("ContentType") or "application/octet-stream"
        except s3.exceptions.NoSuchKey:
            return 404, b"NoSuchKey", "application/xml"
        except Exception:
            return 503, b"origin unavailable", "text/plain"
