"""/api/v1 users (admins only, ``user.admin``): personal accounts, their role,
organisation, sites and team (Điều 9.2: no shared logins, least privilege).

Password hashes never leave the server. Disabling an account or resetting
its password revokes every token and session it holds. An admin cannot
disable or demote themselves, so there is always an active admin
(``fleet_server.users.service``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Actor, Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.users import service
from fleet_server.users.models import MAX_ID, NO_NUL, Role
from fleet_server.users.schemas import PasswordReset, UserCreate, UserOut, UserPatch

router = APIRouter(tags=["users"])

Admin = Annotated[Principal, Depends(require("user.admin"))]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="user id")]


def _actor(request: Request, user: Principal) -> Actor:
    return user.acting_from(client_address(request))


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
    return service.list_users(
        conn, user, paging, now=now, role=role, organisation_id=organisation_id, active=active, q=q
    )


@router.post(
    "/users",
    status_code=201,
    summary="create a personal account (admin)",
    responses={409: {"description": "the username is taken"}},
)
def users_create(request: Request, conn: Db, now: Now, user: Admin, body: UserCreate) -> UserOut:
    return service.create_user(conn, user, _actor(request, user), body, now=now)


@router.get("/users/{user_id}", summary="one account (admin)")
def users_get(conn: Db, now: Now, user: Admin, user_id: UserId) -> UserOut:
    return service.get_user(conn, user, user_id, now=now)


@router.patch(
    "/users/{user_id}",
    summary="change an account (admin); disabling revokes its tokens",
    responses={409: {"description": "an admin cannot disable or demote themselves"}},
)
def users_update(
    request: Request, conn: Db, now: Now, user: Admin, user_id: UserId, body: UserPatch
) -> UserOut:
    return service.update_user(conn, user, _actor(request, user), user_id, body, now=now)


@router.post(
    "/users/{user_id}/password",
    status_code=204,
    summary="set a new password (admin); revokes the account's tokens and sessions",
)
def users_reset_password(
    request: Request, conn: Db, now: Now, user: Admin, user_id: UserId, body: PasswordReset
) -> Response:
    service.reset_password(conn, user, _actor(request, user), user_id, body.new_password, now=now)
    return Response(status_code=204)


@router.post("/users/{user_id}/unlock", summary="lift a lock-out after failed logins (admin)")
def users_unlock(request: Request, conn: Db, now: Now, user: Admin, user_id: UserId) -> UserOut:
    return service.unlock_user(conn, user, _actor(request, user), user_id, now=now)
