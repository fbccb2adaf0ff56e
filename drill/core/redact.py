"""Keep secrets out of every output: journals, reports, junit/cucumber files, stdout, Slack.

A ``Redactor`` knows secret values (passwords the harness holds, Secrets Manager values it
read, sensitive environment variables, the webhook). Structured data is redacted before it is
serialised (``scrub_obj``): a value equal to a secret is replaced whatever its length, and
secrets inside a longer string are replaced as text. Free text (``scrub``) replaces a secret
as written and in its JSON- and repr-escaped forms, for secrets of at least ``MIN_FREE_TEXT``
characters (shorter ones would match ordinary words; ``drill config check`` refuses a
configured secret that short).
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any

SENSITIVE_ENV = re.compile(r"(SECRET|PASSWORD|TOKEN|PASSWD|CREDENTIAL|PRIVATE|API_KEY|WEBHOOK)", re.I)
PLACEHOLDERS = ("testing", "test", "true", "false", "none", "null")
MIN_FREE_TEXT = 6
MASK = "***"


class Redactor:
    def __init__(self, from_env: bool = True) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        if from_env:
            for key, value in os.environ.items():
                if SENSITIVE_ENV.search(key) and value and value.lower() not in PLACEHOLDERS:
                    self.add(value)

    def add(self, value: str | None) -> None:
        if not value or not isinstance(value, str):
            return
        with self._lock:
            self._values.add(value)
            forms: set[str] = set()
            for v in self._values:
                if len(v) < MIN_FREE_TEXT:
                    continue
                backslashed = v.replace("\\", "\\\\")
                forms |= {v, json.dumps(v, ensure_ascii=False)[1:-1], json.dumps(v)[1:-1], repr(v)[1:-1],
                          backslashed.replace("'", "\\'"), backslashed.replace('"', '\\"'),
                          v.encode("unicode_escape").decode("ascii")}
            alternatives = sorted(forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in alternatives)) if alternatives else None

    def knows(self, value: str) -> bool:
        return value in self._values

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text

    def scrub_obj(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return MASK if obj in self._values else self.scrub(obj)
        if isinstance(obj, dict):
            return {self.scrub_obj(k) if isinstance(k, str) else k: self.scrub_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple | set | frozenset):
            return [self.scrub_obj(v) for v in obj]
        return obj
