"""Slack messages that follow the policy's communication plan (section 1.3).

Each stage of the plan (outage noticed, outage confirmed, DR declared, progress at the planned
interval, switchover done, user notice) becomes a Block Kit message to the target's webhook,
journaled with its timing against the plan. Every message starts with ``[DR drill]`` (so none of
them is ever taken for an alert) and is scrubbed of every known secret before it leaves.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from drill.core.journal import Journal
from drill.core.schema import Config
from drill.ops.slack import DRILL_PREFIX, post


class Notifier:
    def __init__(self, cfg: Config, journal: Journal, webhook: str | None, lang: str = "en"):
        self.cfg = cfg
        self.journal = journal
        self.webhook = webhook
        self.lang = lang
        self.stages = {s.stage: s for s in cfg.communication.plan}
        self._progress_stop = threading.Event()
        self._progress: threading.Thread | None = None

    def _text(self, stage: str, extra: str = "") -> str:
        s = self.stages[stage]
        base = s.message_ko if self.lang == "ko" and s.message_ko else s.message
        return f"{DRILL_PREFIX} {base}" + (f" ({extra})" if extra else "")

    def send(self, stage: str, extra: str = "", since: float | None = None) -> dict[str, Any] | None:
        """Send one stage's message; ``since`` is the event the plan's timing is measured from."""
        if stage not in self.stages:
            return None
        s = self.stages[stage]
        channel = self.cfg.communication.channels.get(s.channel, s.channel)
        text = self.journal.redactor.scrub(self._text(stage, extra))
        payload = {"channel": channel, "text": text, "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{s.who}*: {text}"}},
            {"type": "context", "elements": [{"type": "mrkdwn",
                                              "text": f"policy {self.cfg.policy.name} · stage `{stage}` · {s.when}"}]}]}
        sent_at = time.time()
        status = "not sent (no webhook)"
        if self.webhook and s.channel != "banner":
            try:
                status = f"HTTP {post(self.webhook, payload)}"
            except OSError as exc:
                status = f"failed: {type(exc).__name__}"
        elif s.channel == "banner":
            status = "in-service banner"
        after = round(sent_at - since, 3) if since is not None else None
        late = s.within_s is not None and after is not None and after > s.within_s
        rec: dict[str, Any] = {"stage": stage, "channel": channel, "who": s.who, "text": text, "planned": s.when,
               "after_s": after, "within_s": s.within_s, "late": late, "status": status}
        self.journal.write("notification", **rec)
        return rec

    def start_progress(self, since: float) -> None:
        """Progress messages at the planned interval until ``stop_progress``."""
        interval = self.cfg.communication.progress_interval_s

        def run() -> None:
            n = 0
            while not self._progress_stop.wait(interval):
                n += 1
                self.send("progress", f"update {n}, {time.time() - since:.0f} s since DR was declared", since)

        self._progress_stop.clear()
        self._progress = threading.Thread(target=run, name="comms-progress", daemon=True)
        self._progress.start()

    def stop_progress(self) -> None:
        self._progress_stop.set()
        if self._progress is not None:
            self._progress.join(5)
