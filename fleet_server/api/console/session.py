"""Signing in and out of the console.

The login form is protected by a double-submit cookie (there is no session
yet to hold a CSRF token). Every successful login gets a brand-new session
secret, and any session cookie the browser presented is revoked first, so a
planted session id is never promoted (session fixation). The session cookie is
HttpOnly and SameSite=Lax; Secure in production or over HTTPS.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from fleet_server.api.console import i18n
from fleet_server.api.console.forms import Longest, TooLong, shown_again
from fleet_server.api.console.web import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    MaybeUser,
    Viewer,
    cookie_secure,
    home_for,
    language_of,
    redirect,
    render,
    safe_next,
)
from fleet_server.api.deps import SESSION_COOKIE, Ctx, Db, Now, check_csrf, client_address
from fleet_server.api.problems import Problem
from fleet_server.users import service_logins
from fleet_server.users.models import LoginRefused
from fleet_server.users.service_logins import resolve_token, revoke
from fleet_server.vocabulary import LANGUAGES

router = APIRouter(include_in_schema=False)


def _login_page(
    request: Request,
    next_url: str,
    *,
    error: str | None = None,
    username: str = "",
    invalid: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        {
            "next": next_url,
            "form_token": token,
            "error": error,
            "username": username,
            "invalid": invalid,
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
    )
    return response


@router.get("/login")
def login_form(
    request: Request,
    user: MaybeUser,
    next_url: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    target = safe_next(next_url)
    if user is not None:
        return redirect(target if target != "/" else home_for(user))
    return _login_page(request, target)


@router.post("/login")
def login(
    request: Request,
    ctx: Ctx,
    conn: Db,
    now: Now,
    username: Annotated[str, Form(), Longest(64)] = "",
    password: Annotated[str, Form(), Longest(1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next_url: Annotated[str, Form(alias="next"), Longest(2000)] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not csrf_token or not hmac.compare_digest(expected, csrf_token):
        raise Problem(403, "missing or wrong login form token", kind="csrf")
    target = "/" if isinstance(next_url, TooLong) else safe_next(next_url)
    t = i18n.translator(language_of(request, None))
    for name, value in (("username", username), ("password", password)):
        if isinstance(value, TooLong) or "\x00" in value:
            # the form again, the field named (the name typed kept, NUL as U+FFFD)
            why = (
                t("refusal.too_long", n=value.limit)
                if isinstance(value, TooLong)
                else t("refusal.nul")
            )
            shown = shown_again(username)
            return _login_page(
                request, target, error=f"{t(f'login.{name}')}: {why}", username=shown,
                invalid=name, status=400,
            )  # fmt: skip
    if not username.strip() or not password:
        return _login_page(request, target, error=t("login.missing"), username=username, status=400)
    address = client_address(request)
    try:
        _, issued = service_logins.login(
            conn,
            username,
            password,
            "session",
            address=address,
            now=now,
            policy=ctx.policy,
            detail="console session",
            before_issue=lambda: _revoke_presented_session(request, conn, now, ctx),
        )
    except LoginRefused as exc:
        message = t("login.locked") if exc.status == 429 else t("login.failed")
        page = _login_page(request, target, error=message, username=username, status=exc.status)
        if exc.retry_after:
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    principal = resolve_token(conn, issued.token, "session", now=now, policy=ctx.policy)
    conn.commit()
    assert principal is not None
    response = redirect(target if target != "/" else home_for(principal))
    secure = cookie_secure(request)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(ctx.policy.session_ttl.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    if request.cookies.get(LANG_COOKIE) not in LANGUAGES:
        # The account's language sticks to this browser until switched.
        response.set_cookie(
            LANG_COOKIE,
            principal.language,
            max_age=365 * 86_400,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    return response


def _revoke_presented_session(request: Request, conn: Db, now: Now, ctx: Ctx) -> None:
    """A session cookie sent with the login form is never kept or reused."""
    presented = request.cookies.get(SESSION_COOKIE)
    if not presented:
        return
    old = resolve_token(conn, presented, "session", now=now, policy=ctx.policy)
    if old is not None:
        revoke(conn, old.token_id, now)


@router.post("/logout")
def logout(
    request: Request,
    conn: Db,
    now: Now,
    user: Viewer,
    csrf_token: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    check_csrf(user, csrf_token)
    service_logins.logout(
        conn, user, user.acting_from(client_address(request)), now, detail="console session"
    )
    conn.commit()
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
