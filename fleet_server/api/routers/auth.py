"""Logging in and out, the caller's own account and password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from fleet_server.api.deps import Ctx, Db, Now, User, client_address
from fleet_server.users import service, service_logins
from fleet_server.users.schemas import Me, PasswordChange, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])


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
    _, issued = service_logins.login(
        conn,
        username,
        password,
        "bearer",
        address=client_address(request),
        now=now,
        policy=ctx.policy,
        detail="api token",
    )
    return TokenOut(
        access_token=issued.token,
        expires_in=int((issued.expires_at - now).total_seconds()),
        expires_at=issued.expires_at,
    )


@router.post("/logout", status_code=204, summary="revoke the token or session in use")
def logout(request: Request, conn: Db, now: Now, user: User) -> Response:
    service_logins.logout(conn, user, user.acting_from(client_address(request)), now)
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
    service.change_own_password(
        conn,
        user,
        user.acting_from(client_address(request)),
        body.current_password,
        body.new_password,
        now=now,
    )
    return Response(status_code=204)
