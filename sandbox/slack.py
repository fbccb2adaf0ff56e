"""A local Slack incoming-webhook sink: records every message for the report."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from sandbox.httpserver import Request, Response


class SlackSink:
    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, channel: str, payload: dict[str, Any]) -> dict[str, Any]:
        msg = {"at": time.time(), "channel": channel, "payload": payload}
        with self._lock:
            self.messages.append(msg)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(msg, ensure_ascii=False) + "\n")
        return msg

    def __call__(self, req: Request) -> Response:
        if req.method == "GET" and req.path == "/messages":
            since = float(req.arg("since", "0") or 0)
            with self._lock:
                return Response.json([m for m in self.messages if m["at"] >= since])
        if req.method == "POST" and req.path.startswith("/services/"):
            try:
                payload = req.json()
            except ValueError:
                return Response.text("invalid_payload", 400)
            if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
                return Response.text("no_text", 400)
            channel = str(payload.get("channel") or req.path.rsplit("/", 1)[-1])
            self.record(channel, payload)
            return Response.text("ok")
        return Response.text("not_found", 404)
