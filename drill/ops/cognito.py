"""Cognito user pools: find a pool and its app client by name (paginated), sign a user up through
the primary pool's own path (SignUp, AdminConfirmSignUp: the Post Confirmation trigger runs as
for any user), log in (USER_PASSWORD_AUTH), reset a password, list and remove users."""

from __future__ import annotations

from typing import Any

from drill.targets.base import Target


def pool(target: Target, role: str) -> tuple[Any, str, str]:
    """(client, pool id, app client id) of ``role``'s pool, by the names in the config."""
    side = target.cfg.side(role)
    idp = target.client("cognito-idp", side.region)
    pool_id = side.pool.pool_id or next(
        (p["Id"] for page in idp.get_paginator("list_user_pools").paginate(MaxResults=60)
         for p in page["UserPools"] if p["Name"] == side.pool.pool_name), None)
    if pool_id is None:
        raise LookupError(f"no user pool {side.pool.pool_name!r} in {side.region}")
    client_id = side.pool.client_id or next(
        (c["ClientId"] for page in idp.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id, MaxResults=60)
         for c in page["UserPoolClients"] if c["ClientName"] == side.pool.client_name), None)
    if client_id is None:
        raise LookupError(f"no app client {side.pool.client_name!r} in pool {pool_id}")
    return idp, pool_id, client_id


def sign_up(target: Target, username: str, password: str) -> None:
    idp, pool_id, client_id = pool(target, "primary")
    idp.sign_up(ClientId=client_id, Username=username, Password=password,
                UserAttributes=[{"Name": "email", "Value": username}])
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)


def login(target: Target, role: str, username: str, password: str) -> bool:
    idp, _, client_id = pool(target, role)
    try:
        out = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": username, "PASSWORD": password})
    except (idp.exceptions.NotAuthorizedException, idp.exceptions.UserNotConfirmedException,
            idp.exceptions.UserNotFoundException, idp.exceptions.PasswordResetRequiredException):
        return False
    return "AuthenticationResult" in out


def _on_user(target: Target, role: str, username: str, call: str) -> bool:
    """``call`` (an Admin*User API) on the user; False when the pool has no such user."""
    idp, pool_id, _ = pool(target, role)
    try:
        getattr(idp, call)(UserPoolId=pool_id, Username=username)
        return True
    except idp.exceptions.UserNotFoundException:
        return False


def user_exists(target: Target, role: str, username: str) -> bool:
    return _on_user(target, role, username, "admin_get_user")


def set_password(target: Target, role: str, username: str, password: str) -> None:
    idp, pool_id, _ = pool(target, role)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)


def delete_user(target: Target, role: str, username: str) -> bool:
    return _on_user(target, role, username, "admin_delete_user")


def confirmed_users(target: Target, role: str) -> set[str]:
    idp, pool_id, _ = pool(target, role)
    return {u["Username"] for page in idp.get_paginator("list_users").paginate(UserPoolId=pool_id)
            for u in page["Users"] if u.get("UserStatus") in ("CONFIRMED", "FORCE_CHANGE_PASSWORD", "RESET_REQUIRED")}
