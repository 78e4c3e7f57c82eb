"""/api/v1 users (admins only, ``user.admin``): personal accounts, their role,
organisation, sites and team (Điều 9.2: no shared logins, least privilege).

Password hashes never leave the server. Disabling an account or resetting
its password revokes every token and session it holds. An admin cannot
disable or demote themselves, so there is always an active admin. The
functions above the routes are what the web console calls."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from psycopg.rows import dict_row
from pydantic import BaseModel, Field, field_validator

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Db, Now, require
from fleet_server.api.pagination import Paging
from fleet_server.api.problems import Problem
from fleet_server.api.security import revoke_all
from fleet_server.errors import Conflict, Forbidden, NotFound
from fleet_server.users.passwords import WeakPassword, check_strength, hash_password

router = APIRouter(tags=["users"])

MAX_ID = 2**62
NO_NUL = r"^[^\x00]*$"
USERNAME = r"^[a-z0-9][a-z0-9._-]{2,63}$"
EMAIL_RE = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
Role = Literal["admin", "operator", "technician", "border_guard", "viewer"]
Language = Literal["vi", "en"]

Admin = Annotated[Principal, Depends(require("user.admin"))]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="user id")]
SiteIds = list[Annotated[int, Field(ge=1, le=MAX_ID)]]


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    email: str | None
    role: Role
    organisation_id: int | None
    team: str | None
    language: Language
    active: bool
    #: Sites given to the account one by one (on top of its organisation's).
    site_ids: list[int]
    failed_logins: int
    locked_until: datetime | None
    #: Locked out now after repeated failed logins.
    locked: bool
    password_changed_at: datetime
    created_at: datetime
    updated_at: datetime


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValueError("not an e-mail address (name@domain.tld)")
    return value


class UserCreate(BaseModel):
    username: str = Field(
        pattern=USERNAME, description="3-64 of a-z 0-9 . _ -, starting with a letter or digit"
    )
    full_name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    email: str | None = Field(default=None, max_length=254)
    role: Role
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    password: str = Field(min_length=1, max_length=1000)
    team: str | None = Field(default=None, min_length=1, max_length=100, pattern=NO_NUL)
    language: Language = "vi"
    site_ids: SiteIds = Field(default_factory=list, max_length=500)

    @field_validator("username", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        return _email(value)


class UserPatch(BaseModel):
    """Only the fields given change; ``null`` clears email, organisation_id or team."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    email: str | None = Field(default=None, max_length=254)
    role: Role | None = None
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    team: str | None = Field(default=None, min_length=1, max_length=100, pattern=NO_NUL)
    language: Language | None = None
    active: bool | None = None
    site_ids: SiteIds | None = Field(default=None, max_length=500)

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        return _email(value)


class PasswordReset(BaseModel):
    new_password: str = Field(min_length=1, max_length=1000)


# -- data functions (the console calls these too) ---------------------------------------

_SELECT = """
    SELECT u.id, u.username, u.full_name, u.email, u.role, u.organisation_id, u.team,
           u.language, u.active,
           coalesce((SELECT array_agg(us.site_id ORDER BY us.site_id) FROM user_sites us
                      WHERE us.user_id = u.id), '{}') AS site_ids,
           u.failed_logins, u.locked_until,
           coalesce(u.locked_until > %s, false) AS locked,
           u.password_changed_at, u.created_at, u.updated_at
    FROM users u
"""


def _need(user: Principal) -> None:
    if not user.can("user.admin"):
        raise Forbidden(f"the {user.role} role may not do this (user.admin)")


def _bad(field: str, message: str, kind: str = "bad-request") -> Problem:
    return Problem(
        400, f"{field}: {message}", kind=kind, errors=[{"field": field, "message": message}]
    )


def _strong(password: str, username: str) -> None:
    try:
        check_strength(password, username)
    except WeakPassword as exc:
        raise _bad("password", str(exc), kind="weak-password") from None


def _check_refs(conn: Conn, organisation_id: int | None, site_ids: list[int] | None) -> None:
    if (
        organisation_id is not None
        and not conn.execute(
            "SELECT 1 FROM organisations WHERE id = %s", (organisation_id,)
        ).fetchone()
    ):
        raise _bad("organisation_id", f"there is no organisation {organisation_id}")
    if site_ids:
        known = {
            int(r[0]) for r in conn.execute("SELECT id FROM sites WHERE id = ANY(%s)", (site_ids,))
        }
        missing = sorted(set(site_ids) - known)
        if missing:
            raise _bad("site_ids", f"there is no site {missing[0]}")


def _set_sites(conn: Conn, user_id: int, site_ids: list[int]) -> None:
    conn.execute("DELETE FROM user_sites WHERE user_id = %s", (user_id,))
    if site_ids:
        conn.execute(
            "INSERT INTO user_sites (user_id, site_id) SELECT %s, unnest(%s::bigint[])",
            (user_id, sorted(set(site_ids))),
        )


def list_users(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    now: datetime,
    role: str | None = None,
    organisation_id: int | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Page[UserOut]:
    _need(user)
    where = ["TRUE"]
    params: list[Any] = [now]
    add_equal(where, params, (("u.role", role), ("u.organisation_id", organisation_id)))
    if active is not None:
        where.append("u.active = %s")
        params.append(active)
    if q:
        where.append("(u.username ILIKE %s OR u.full_name ILIKE %s OR u.email ILIKE %s)")
        params += [f"%{q}%"] * 3
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "username", "full_name", "role", "created_at", "updated_at"),
        default="username",
        tiebreak="id",
        model=UserOut,
    )


def get_user(
    conn: Conn, user: Principal, user_id: int, *, now: datetime, lock: bool = False
) -> UserOut:
    _need(user)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE u.id = %s{' FOR UPDATE OF u' if lock else ''}", (now, user_id)
        ).fetchone()
    if row is None:
        raise NotFound("user", user_id)
    return UserOut.model_validate(row)


def create_user(
    conn: Conn, user: Principal, request: Request, body: UserCreate, *, now: datetime
) -> UserOut:
    """A personal account; the password is checked and stored as Argon2id."""
    _need(user)
    _strong(body.password, body.username)
    _check_refs(conn, body.organisation_id, body.site_ids)
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO users (username, full_name, email, role, organisation_id, team,"
                " language, password_hash, password_changed_at, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    body.username,
                    body.full_name.strip(),
                    body.email,
                    body.role,
                    body.organisation_id,
                    body.team,
                    body.language,
                    hash_password(body.password),
                    now,
                    now,
                    now,
                ),
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"a user named {body.username!r} already exists") from None
    assert row is not None
    _set_sites(conn, int(row[0]), body.site_ids)
    created = get_user(conn, user, int(row[0]), now=now)
    record(
        conn,
        user,
        request,
        "user.create",
        target_type="user",
        target_id=created.id,
        after=created,
    )
    return created


def update_user(
    conn: Conn, user: Principal, request: Request, user_id: int, body: UserPatch, *, now: datetime
) -> UserOut:
    """Change an account. Disabling it revokes its tokens and sessions."""
    _need(user)
    before = get_user(conn, user, user_id, now=now, lock=True)
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    for field in ("full_name", "role", "language", "active", "site_ids"):
        if field in changes and changes[field] is None:
            raise _bad(field, "cannot be null")
    if user_id == user.user_id:
        if changes.get("active") is False:
            raise Conflict("you cannot disable your own account; ask another admin")
        if changes.get("role", "admin") != "admin":
            raise Conflict("you cannot take away your own admin role; ask another admin")
    site_ids = changes.pop("site_ids", None)
    _check_refs(conn, changes.get("organisation_id"), site_ids)
    if "full_name" in changes:
        changes["full_name"] = changes["full_name"].strip()
        if not changes["full_name"]:
            raise _bad("full_name", "must not be blank")
    if changes:
        assignments = ", ".join(f"{column} = %s" for column in changes)
        conn.execute(
            f"UPDATE users SET {assignments}, updated_at = %s WHERE id = %s",
            [*changes.values(), now, user_id],
        )
    if site_ids is not None:
        _set_sites(conn, user_id, site_ids)
    disabled = before.active and changes.get("active") is False
    if disabled:
        revoke_all(conn, user_id, now)
    after = get_user(conn, user, user_id, now=now)
    record(
        conn,
        user,
        request,
        "user.update",
        target_type="user",
        target_id=user_id,
        before=before,
        after=after,
        detail="disabled; tokens and sessions revoked" if disabled else None,
    )
    return after


def reset_password(
    conn: Conn,
    user: Principal,
    request: Request,
    user_id: int,
    new_password: str,
    *,
    now: datetime,
) -> None:
    """An admin sets a new password (told to the holder in person); every
    token and session of the account is revoked and a lock-out is lifted."""
    _need(user)
    target = get_user(conn, user, user_id, now=now, lock=True)
    _strong(new_password, target.username)
    conn.execute(
        "UPDATE users SET password_hash = %s, password_changed_at = %s, failed_logins = 0,"
        " locked_until = NULL, updated_at = %s WHERE id = %s",
        (hash_password(new_password), now, now, user_id),
    )
    revoke_all(conn, user_id, now, keep=user.token_id if user_id == user.user_id else None)
    record(
        conn,
        user,
        request,
        "user.password_reset",
        target_type="user",
        target_id=user_id,
        before={"password_changed_at": target.password_changed_at},
        after={"password_changed_at": now},
        detail="password reset by an admin; tokens and sessions revoked",
    )


def unlock_user(
    conn: Conn, user: Principal, request: Request, user_id: int, *, now: datetime
) -> UserOut:
    """Lift a lock-out after repeated failed logins."""
    _need(user)
    before = get_user(conn, user, user_id, now=now, lock=True)
    conn.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = %s WHERE id = %s",
        (now, user_id),
    )
    after = get_user(conn, user, user_id, now=now)
    record(
        conn,
        user,
        request,
        "user.unlock",
        target_type="user",
        target_id=user_id,
        before={"failed_logins": before.failed_logins, "locked_until": before.locked_until},
        after={"failed_logins": 0, "locked_until": None},
    )
    return after


# -- routes -------------------------------------------------------------------------


@router.get("/users", summary="accounts (admin), filtered, sorted and paged")
def users_list(
    conn: Db,
    now: Now,
    user: Admin,
    paging: Paging,
    role: Role | None = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    active: bool | None = None,
    q: Annotated[
        str | None,
        Query(max_length=100, pattern=NO_NUL, description="in username, full name or e-mail"),
    ] = None,
) -> Page[UserOut]:
    """Sort by id, username, full_name, role, created_at or updated_at; default: username."""
    return list_users(
        conn, user, paging, now=now, role=role, organisation_id=organisation_id, active=active, q=q
    )


@router.post(
    "/users",
    status_code=201,
    summary="create a personal account (admin)",
    responses={409: {"description": "the username is taken"}},
)
def users_create(request: Request, conn: Db, now: Now, user: Admin, body: UserCreate) -> UserOut:
    return create_user(conn, user, request, body, now=now)


@router.get("/users/{user_id}", summary="one account (admin)")
def users_get(conn: Db, now: Now, user: Admin, user_id: UserId) -> UserOut:
    return get_user(conn, user, user_id, now=now)


@router.patch(
    "/users/{user_id}",
    summary="change an account (admin); disabling revokes its tokens",
    responses={409: {"description": "an admin cannot disable or demote themselves"}},
)
def users_update(
    request: Request, conn: Db, now: Now, user: Admin, user_id: UserId, body: UserPatch
) -> UserOut:
    return update_user(conn, user, request, user_id, body, now=now)


@router.post(
    "/users/{user_id}/password",
    status_code=204,
    summary="set a new password (admin); revokes the account's tokens and sessions",
)
def users_reset_password(
    request: Request, conn: Db, now: Now, user: Admin, user_id: UserId, body: PasswordReset
) -> Response:
    reset_password(conn, user, request, user_id, body.new_password, now=now)
    return Response(status_code=204)


@router.post("/users/{user_id}/unlock", summary="lift a lock-out after failed logins (admin)")
def users_unlock(request: Request, conn: Db, now: Now, user: Admin, user_id: UserId) -> UserOut:
    return unlock_user(conn, user, request, user_id, now=now)
