"""Logging in and out, the caller's own account and password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel, Field

from fleet_server.api.deps import Ctx, Db, Now, User, client_address
from fleet_server.api.problems import Problem
from fleet_server.api.security import LoginRefused, login, revoke, revoke_all
from fleet_server.users.passwords import WeakPassword, check_strength, hash_password
from fleet_server.users.passwords import verify_password as _verify
from fleet_server.users.storage import audit

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    expires_at: datetime


class Me(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    organisation_id: int | None
    team: str | None
    language: str
    site_ids: list[int]
    province_wide: bool
    capabilities: list[str]


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


def refused(exc: LoginRefused) -> Problem:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    kind = "login-rate-limited" if exc.status == 429 else "login-failed"
    return Problem(exc.status, exc.detail, kind=kind, headers=headers)


@router.post(
    "/token",
    summary="log in: a short-lived bearer token (OAuth2 password form)",
    responses={401: {"description": "wrong credentials"}, 429: {"description": "locked"}},
)
def token(
    request: Request,
    ctx: Ctx,
    conn: Db,
    now: Now,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=1000)],
) -> TokenOut:
    address = client_address(request)
    try:
        _, issued = login(
            conn,
            username,
            password,
            "bearer",
            address=address,
            now=now,
            policy=ctx.policy,
            detail="api token",
        )
    except LoginRefused as exc:
        raise refused(exc) from None
    return TokenOut(
        access_token=issued.token,
        expires_in=int((issued.expires_at - now).total_seconds()),
        expires_at=issued.expires_at,
    )


@router.post("/logout", status_code=204, summary="revoke the token or session in use")
def logout(request: Request, conn: Db, now: Now, user: User) -> Response:
    revoke(conn, user.token_id, now)
    audit(
        conn,
        user.actor,
        "logout",
        actor_user_id=user.user_id,
        target_type="user",
        target_id=str(user.user_id),
        address=client_address(request),
    )
    return Response(status_code=204)


@router.get("/me", summary="the caller's account, role and scope")
def me(user: User) -> Me:
    return Me(
        id=user.user_id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        organisation_id=user.organisation_id,
        team=user.team,
        language=user.language,
        site_ids=list(user.site_ids),
        province_wide=user.province_wide,
        capabilities=sorted(user.capabilities),
    )


@router.post(
    "/password",
    status_code=204,
    summary="change one's own password; every other token and session is revoked",
)
def change_password(
    request: Request, conn: Db, now: Now, user: User, body: PasswordChange
) -> Response:
    row = conn.execute("SELECT password_hash FROM users WHERE id = %s", (user.user_id,)).fetchone()
    if row is None or not _verify(str(row[0]), body.current_password):
        raise Problem(400, "the current password is wrong", kind="wrong-password")
    try:
        check_strength(body.new_password, user.username)
    except WeakPassword as exc:
        raise Problem(400, str(exc), kind="weak-password") from None
    conn.execute(
        "UPDATE users SET password_hash = %s, password_changed_at = %s, updated_at = %s"
        " WHERE id = %s",
        (hash_password(body.new_password), now, now, user.user_id),
    )
    revoke_all(conn, user.user_id, now, keep=user.token_id)
    audit(
        conn,
        user.actor,
        "user.password_change",
        actor_user_id=user.user_id,
        target_type="user",
        target_id=str(user.user_id),
        address=client_address(request),
    )
    return Response(status_code=204)
