"""The front end's primary origin refuses CloudFront: a bucket policy on the origin bucket denies
s3:GetObject to everyone (the origin answers 403, a failover criterion of the origin group). The
undo puts back the policy the bucket had, or none."""

from __future__ import annotations

import json
from typing import Any

from drill.core.calls import Call, Ctx, aws
from drill.faults.registry import Fault, refuse_marked, register
from drill.targets.base import Target

SID = "DrillDenyReads"  # marks the drill's own policy


@register
class FrontOriginDenied(Fault):
    name = "front_origin_denied"
    description = "the CloudFront primary origin bucket denies every read (its origin answers 403)"
    state = {"bucket": str, "before": (str, type(None))}

    def capture(self, target: Target, **_: Any) -> dict[str, Any]:
        bucket = target.cfg.cloudfront.origin_bucket
        s3 = target.client("s3", target.cfg.side("primary").region)
        try:
            before: str | None = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        except s3.exceptions.ClientError:
            before = None
        refuse_marked(self.name, [f"bucket {bucket} has the drill's deny policy"] if before and SID in before else [])
        return {"bucket": bucket, "before": before}

    def inject(self, target: Target, bucket: str = "", **_: Any) -> dict[str, Any]:
        policy = {"Version": "2012-10-17", "Statement": [{"Sid": SID, "Effect": "Deny", "Principal": "*",
                                                          "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
        target.client("s3", target.cfg.side("primary").region).put_bucket_policy(Bucket=bucket,
                                                                                 Policy=json.dumps(policy))
        return {}

    def undo(self, target: Target, before: str | None = None, **_: Any) -> None:
        bucket = target.cfg.cloudfront.origin_bucket  # the config's, not the journal's
        s3 = target.client("s3", target.cfg.side("primary").region)
        if before:
            s3.put_bucket_policy(Bucket=bucket, Policy=before)
        else:
            s3.delete_bucket_policy(Bucket=bucket)

    def calls(self, ctx: Ctx) -> list[Call]:
        r = ctx.region("primary")
        bucket = f"arn:aws:s3:::{ctx.cfg.cloudfront.origin_bucket}"
        return [aws("s3", "GetBucketPolicy", r, bucket), aws("s3", "PutBucketPolicy", r, bucket, True, "deny reads"),
                aws("s3", "DeleteBucketPolicy", r, bucket, True, "undo")]
