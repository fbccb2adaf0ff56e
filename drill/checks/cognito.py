"""Checklist item 6: a user who signs up in the primary pool is synced to the DR pool by the Post
Confirmation trigger (without the password), and logs in there after the reset the failover
notice asks for. The user is the drill's own (``<prefix>-<drill id>@<domain>``), created through
the primary pool's sign-up path on every target and removed from both pools afterwards; the
passwords are generated here and redacted from every output."""

from __future__ import annotations

import secrets

from drill.core.journal import Journal
from drill.core.waits import wait_until
from drill.ops import cognito
from drill.targets.base import Target


class CognitoCheck:
    def __init__(self, target: Target, journal: Journal, drill_id: str):
        self.target = target
        self.journal = journal
        cfg = target.cfg
        self.username = f"{cfg.cognito.test_user_prefix}-{drill_id.lower()}@{cfg.policy.domain}"
        self.password = "Dr1ll-" + secrets.token_urlsafe(12) + "!a"
        self.new_password = "Rst-" + secrets.token_urlsafe(12) + "!B2"
        journal.redactor.add(self.password)
        journal.redactor.add(self.new_password)
        self.created = False

    def sign_up(self) -> None:
        cognito.sign_up(self.target, self.username, self.password)
        self.created = True
        self.journal.write("cognito_sign_up", user=self.username)

    def login(self, role: str, new: bool = False) -> bool:
        ok = cognito.login(self.target, role, self.username, self.new_password if new else self.password)
        self.journal.write("cognito_login", role=role, user=self.username, ok=ok,
                           password="reset" if new else "original")
        return ok

    def wait_synced(self, deadline_s: float, interval_s: float) -> float:
        took = wait_until(lambda: cognito.user_exists(self.target, "dr", self.username), deadline_s,
                          f"{self.username} in the DR pool (Post Confirmation trigger)", interval_s)
        self.journal.write("cognito_synced", user=self.username, after_s=round(took, 3))
        return took

    def reset_password(self) -> None:
        cognito.set_password(self.target, "dr", self.username, self.new_password)
        self.journal.write("cognito_password_reset", role="dr", user=self.username)

    def remove(self) -> dict[str, bool]:
        removed = {role: cognito.delete_user(self.target, role, self.username) for role in ("primary", "dr")}
        self.journal.write("cognito_user_removed", user=self.username, removed=removed)
        self.created = False
        return removed
