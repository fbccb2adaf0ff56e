"""Keep secrets out of logs, journals, reports and messages.

A ``Redactor`` knows secret values (passwords the harness holds, Secrets Manager values it
read, sensitive environment variables) and replaces each with ``***`` wherever it appears.
"""

from __future__ import annotations

import os
import re
import threading

SENSITIVE_ENV = re.compile(r"(SECRET|PASSWORD|TOKEN|PASSWD|CREDENTIAL|PRIVATE|API_KEY|WEBHOOK)", re.I)


class Redactor:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        for key, value in os.environ.items():
            if SENSITIVE_ENV.search(key) and value and value.lower() not in ("testing", "test", "true", "false"):
                self.add(value)

    def add(self, value: str | None) -> None:
        if not value or len(value) < 6:
            return
        with self._lock:
            self._values.add(value)
            alternatives = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub("***", text) if pattern is not None else text
