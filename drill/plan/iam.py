"""The least-privilege IAM policy for the AWS calls of a plan (one statement per set of resources,
exact actions, resource ARNs), and whether a policy grants one call (for the test that holds the
plan against what a drill really called)."""

from __future__ import annotations

import fnmatch
from typing import Any

from drill.core.calls import Call
from drill.plan.catalogue import all_calls


def _call(c: dict[str, Any]) -> Call:
    return Call(c["kind"], c["service"], c["operation"], c["region"], tuple(c["resources"]), c["mutating"], c["note"])


def iam_policy(plan: dict[str, Any]) -> dict[str, Any]:
    by_resources: dict[tuple[str, ...], set[str]] = {}
    for c in all_calls(plan):
        if c["kind"] != "aws":
            continue
        for action in _call(c).iam_actions():
            if action:
                by_resources.setdefault(tuple(sorted(set(c["resources"]))), set()).add(action)
    merged: dict[tuple[str, ...], set[str]] = {}
    for res, actions in by_resources.items():
        merged.setdefault(tuple(sorted(actions)), set()).update(res)
    statements = [{"Sid": f"Drill{n}", "Effect": "Allow", "Action": list(actions), "Resource": sorted(resources)}
                  for n, (actions, resources) in enumerate(sorted(merged.items()), 1)]
    return {"Version": "2012-10-17", "Statement": statements}


def grants(policy: dict[str, Any], action: str, resource: str) -> bool:
    """Whether an Allow statement names ``action`` on a resource pattern matching ``resource``
    (``*`` and ``?`` as IAM reads them)."""
    if not action:
        return True  # the call needs no permission (sts:GetCallerIdentity, unauthenticated Cognito calls)
    for st in policy["Statement"]:
        if st["Effect"] != "Allow" or not any(fnmatch.fnmatchcase(action, a) for a in st["Action"]):
            continue
        if any(fnmatch.fnmatchcase(resource, r) for r in st["Resource"]):
            return True
    return False
