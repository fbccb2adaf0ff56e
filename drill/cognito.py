"""Checklist item 6: a synced user logs in to the DR user pool (Cognito USER_PASSWORD_AUTH).

The DR pool has the user (synced by the Post Confirmation trigger) but not the password: the
check shows the old password is refused there, resets it the way the failover notice asks
(admin-set here, standing in for the user's own reset flow), and logs in.
"""

from __future__ import annotations

import os
from typing import Any

from drill.journal import Journal
from drill.targets import Target


class CognitoCheck:
    def __init__(self, target: Target, journal: Journal, password: str | None):
        self.target = target
        self.journal = journal
        self.cfg = target.cfg
        self.password = password or ""
        self.new_password = "Rst-" + os.urandom(9).hex() + "!B2"
        journal.redactor.add(self.password)
        journal.redactor.add(self.new_password)

    def _pool(self, role: str) -> tuple[Any, str, str]:
        region = self.cfg.region_name(role)
        idp = self.target.client("cognito-idp", region)
        name = (self.cfg.cognito.primary if role == "primary" else self.cfg.cognito.dr).pool_name
        client_name = (self.cfg.cognito.primary if role == "primary" else self.cfg.cognito.dr).client_name
        pool = next(p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == name)
        app = next(c for c in idp.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"]
                   if c["ClientName"] == client_name)
        return idp, pool["Id"], app["ClientId"]

    def login(self, role: str, password: str) -> bool:
        idp, _, client_id = self._pool(role)
        try:
            out = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                    AuthParameters={"USERNAME": self.cfg.cognito.test_user, "PASSWORD": password})
            ok = "AuthenticationResult" in out
        except idp.exceptions.NotAuthorizedException:
            ok = False
        except idp.exceptions.UserNotConfirmedException:
            ok = False
        self.journal.write("cognito_login", role=role, ok=ok)
        return ok

    def user_exists(self, role: str) -> bool:
        idp, pool_id, _ = self._pool(role)
        try:
            idp.admin_get_user(UserPoolId=pool_id, Username=self.cfg.cognito.test_user)
            return True
        except idp.exceptions.UserNotFoundException:
            return False

    def reset_password(self, role: str) -> None:
        idp, pool_id, _ = self._pool(role)
        idp.admin_set_user_password(UserPoolId=pool_id, Username=self.cfg.cognito.test_user,
                                    Password=self.new_password, Permanent=True)
        self.journal.write("cognito_password_reset", role=role)
