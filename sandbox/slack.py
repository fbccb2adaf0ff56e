"""Slack, as far as the drill uses it: incoming webhooks that post, and the Web API that reads
a channel's history (``conversations.list``, ``conversations.history``, with a bot token).

Messages posted to a webhook land in the channel the payload names (else the one the webhook
URL's last segment names). The drill reads the channel through the Web API on every target, so
the check that an alert arrived is the same code here and on a real workspace.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from sandbox.httpserver import Request, Response


def channel_id(name: str) -> str:
    return "C" + hashlib.sha1(name.lstrip("#").encode()).hexdigest()[:10].upper()


class SlackSink:
    def __init__(self, log_path: Path, token: str):
        self.log_path = log_path
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, channel: str, payload: dict[str, Any], via: str) -> dict[str, Any]:
        with self._lock:
            ts = f"{max(time.time(), float(self.messages[-1]['ts']) + 1e-6 if self.messages else 0):.6f}"
            msg = {"ts": ts, "at": float(ts), "channel": channel.lstrip("#"), "text": payload.get("text") or "",
                   "username": payload.get("username") or "incoming-webhook", "bot_id": via,
                   "subtype": "bot_message", "blocks": payload.get("blocks")}
            self.messages.append(msg)
            del self.messages[:-5000]
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(msg, ensure_ascii=False) + "\n")
        return msg

    def __call__(self, req: Request) -> Response:
        if req.path.startswith("/services/") and req.method == "POST":
            try:
                payload = req.json()
            except ValueError:
                return Response.text("invalid_payload", 400)
            if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
                return Response.text("no_text", 400)
            channel = str(payload.get("channel") or req.path.rsplit("/", 1)[-1])
            self.record(channel, payload, "B" + hashlib.sha1(req.path.encode()).hexdigest()[:8].upper())
            return Response.text("ok")
        if req.path.startswith("/api/"):
            return self._api(req)
        return Response.text("not_found", 404)

    def _api(self, req: Request) -> Response:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Response.json({"ok": False, "error": "invalid_auth"})
        method = req.path[len("/api/"):]
        args = {k: v[0] for k, v in req.query.items()}
        if req.body:
            try:
                args.update(req.json() if req.body.lstrip()[:1] == b"{" else
                            dict(p.split("=", 1) for p in req.body.decode().split("&") if "=" in p))
            except ValueError:
                return Response.json({"ok": False, "error": "invalid_arguments"})
        if method == "auth.test":
            return Response.json({"ok": True, "team": "twin", "user": "drill", "bot_id": "BDRILL"})
        with self._lock:
            messages = list(self.messages)
        if method == "conversations.list":
            names = sorted({m["channel"] for m in messages})
            return Response.json({"ok": True, "channels": [{"id": channel_id(n), "name": n} for n in names],
                                  "response_metadata": {"next_cursor": ""}})
        if method == "conversations.history":
            cid, oldest = args.get("channel", ""), float(args.get("oldest") or 0)
            found = [m for m in messages if channel_id(m["channel"]) == cid and float(m["ts"]) > oldest]
            limit = int(args.get("limit") or 100)
            return Response.json({"ok": True, "messages": list(reversed(found))[:limit], "has_more": len(found) > limit})
        return Response.json({"ok": False, "error": "unknown_method"})
