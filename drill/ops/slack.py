"""Slack: post a message to the incoming webhook, and read a channel back through the Web API
(``conversations.list``, ``conversations.history``) with the target's token."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from drill.targets.base import Target

DRILL_PREFIX = "[DR drill]"  # every message the drill posts starts with it; such messages never count as alerts


def post(webhook: str, payload: dict[str, Any], timeout: float = 5.0) -> int:
    req = urllib.request.Request(webhook, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return int(resp.status)


def _api(base: str, token: str, method: str, **args: Any) -> dict[str, Any]:
    req = urllib.request.Request(f"{base.rstrip('/')}/{method}?{urllib.parse.urlencode(args)}",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        data: dict[str, Any] = json.loads(resp.read())
    if not data.get("ok"):
        raise RuntimeError(f"slack {method}: {data.get('error')}")
    return data


def history(target: Target, channel: str, since: float) -> list[dict[str, Any]] | None:
    """Messages in ``channel`` after ``since`` (oldest first); None when the target cannot read Slack."""
    api = target.slack()
    if api is None:
        return None
    base, token = api
    name = channel.lstrip("#")
    channels: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = _api(base, token, "conversations.list", limit=200, cursor=cursor)
        channels += page.get("channels", [])
        cursor = page.get("response_metadata", {}).get("next_cursor", "")
        if not cursor:
            break
    cid = next((c["id"] for c in channels if c.get("name") == name), None)
    if cid is None:
        return []
    msgs = _api(base, token, "conversations.history", channel=cid, oldest=f"{since:.6f}", limit=200)["messages"]
    return sorted(msgs, key=lambda m: float(m["ts"]))
