"""Accounts in the console (``/admin/users``, admins only: ``user.admin``):
the list, a new personal account with its role, organisation, sites and
team, a change of role or scope, disabling and enabling, a new password set
by the admin (its strength checked as the API checks it) and lifting a
lock-out — the API's ``/api/v1/users`` through the same service
(users/service.py), audited the same way.

Điều 9.2 of the regulation asks for personal accounts and least privilege;
an admin cannot disable or demote themselves, so an active admin remains.
Passwords are never written back into a page, not even after a refusal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.access.roles import ROLES
from fleet_server.api.console import admin, place_search
from fleet_server.api.console.forms import Longest, checked, fit
from fleet_server.api.console.web import form_for, language_of, page_for, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import Invalid, RequestError
from fleet_server.users import service
from fleet_server.users.schemas import UserCreate, UserPatch
from fleet_server.vocabulary import LANGUAGES

router = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, Depends(page_for("user.admin"))]
AdminForm = Annotated[Principal, Depends(form_for("user.admin"))]
UserId = Annotated[int, Path(ge=1, le=2**62)]
Field = Annotated[str, Form(), Longest(1000)]
Sites = Annotated[list[str] | None, Form(max_length=500)]
#: The most site boxes a form posts (an account's sites, as UserCreate bounds them).
MOST_SITES = 500
Picked = Annotated[list[place_search.PickedText] | None, Form(max_length=MOST_SITES)]
#: The refused site box's label (``site.<index>``: its place among the boxes).
LABELS = {
    "site": "admin.field.site_ids",
    "site_ids": "admin.field.site_ids",
    "new_password": "admin.field.password",
}


def _common(conn: Conn, user: Principal, site_ids: list[int] | None = None) -> dict[str, Any]:
    """The pages' common context; the sites' boxes list a few sites for a
    reader without JavaScript (the others found as one types), never a
    select of every site."""
    return admin.common(
        conn,
        user,
        site_ids=site_ids or [],
        roles=ROLES,
        languages=LANGUAGES,
        places=place_search.shortlist(conn, user, sites_only=True),
        site_boxes=place_search.MANY,
    )


def _list_page(
    request: Request, conn: Conn, now: Any, user: Principal, extra: dict[str, Any] | None = None
) -> Response:
    params = request.query_params
    query = admin.filters(params)
    role = params.get("role") if params.get("role") in ROLES else None
    page = service.list_users(
        conn, user, query.page, now=now, role=role, active=query.active, q=query.q
    )
    context = _common(conn, user)
    context.update(
        {
            "page": page,
            "q": query.q or "",
            "role": role or "",
            "active": query.active_text,
        }
    )
    context.update(extra or {})
    return render(request, "admin_users.html", user, context)


def _item_page(
    request: Request,
    conn: Conn,
    now: Any,
    user: Principal,
    user_id: int,
    extra: dict[str, Any] | None = None,
) -> Response:
    account = service.get_user(conn, user, user_id, now=now)
    context = _common(conn, user, account.site_ids)
    names = context["site_names"]
    language = language_of(request, user)
    context.update(
        {
            "account": account,
            "myself": account.id == user.user_id,
            # the edit form's boxes, one a site the account has (and one empty)
            "site_typed": [admin.site_label(s, names, language) for s in account.site_ids],
            "site_boxes": max(place_search.MANY, len(account.site_ids) + 1),
        }
    )
    context.update(extra or {})
    return render(request, "admin_user.html", user, context)


def _item_refused(
    request: Request,
    conn: Conn,
    now: Any,
    user: Principal,
    user_id: int,
    exc: RequestError,
    where: str,
    form: dict[str, Any] | None = None,
) -> Response:
    """The account's page again, with why the form ``where`` was refused."""
    return admin.refused(
        conn,
        exc,
        form or {},
        lambda ctx: _item_page(request, conn, now, user, user_id, ctx),
        where,
        LABELS,
    )


def _account_form(
    full_name: Annotated[str, Form(), Longest(200)] = "",
    email: Annotated[str, Form(), Longest(254)] = "",
    role: Field = "",
    organisation_id: Field = "",
    team: Annotated[str, Form(), Longest(100)] = "",
    language: Field = "vi",
    site_ids: Sites = None,
    site: Picked = None,
) -> dict[str, Any]:
    """The fields a new account and a change of one share, as typed: the
    sites as the boxes' texts (``site``: a name, a suggestion or an id) and,
    for clients that post ids as the select did, ``site_ids``."""
    return {
        "full_name": full_name,
        "email": email,
        "role": role,
        "organisation_id": organisation_id,
        "team": team,
        "language": language,
        "site_ids": site_ids or [],
        "site": (site or [])[:MOST_SITES],
    }


AccountForm = Annotated[dict[str, Any], Depends(_account_form)]


def _values(conn: Conn, user: Principal, form: dict[str, Any]) -> dict[str, Any]:
    """The account form as the API's fields (an empty e-mail, organisation
    or team: none; the sites: the ids posted, then those the boxes name,
    each once; a box naming no site or several is refused by its place,
    ``site.<index>``)."""
    ids = admin.numbers(form["site_ids"], "site_ids")
    picked = place_search.sites_picked(conn, user, form["site"], "site")
    return {
        "full_name": form["full_name"],
        "email": admin.blank_none(form["email"]),
        "role": form["role"],
        "organisation_id": admin.number_or_none(form["organisation_id"], "organisation_id"),
        "team": admin.blank_none(form["team"]),
        "language": form["language"],
        "site_ids": [*ids, *(s for s in picked if s not in ids)],
    }


def _same(password: str, again: str) -> None:
    if password != again:
        raise Invalid("password_again: the two passwords differ", field="password_again")


# -- pages -------------------------------------------------------------------------------


@router.get("/admin/users")
def users_page(
    request: Request,
    conn: Db,
    now: Now,
    user: Admin,
    q: Annotated[str, Query(max_length=100)] = "",
    role: Annotated[str, Query(max_length=20)] = "",
    active: Annotated[str, Query(max_length=5)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    return _list_page(request, conn, now, user)


@router.get("/admin/users/{user_id}")
def user_page(request: Request, conn: Db, now: Now, user: Admin, user_id: UserId) -> Response:
    return _item_page(request, conn, now, user, user_id)


# -- forms -------------------------------------------------------------------------------


@router.post("/admin/users")
def user_create(
    request: Request,
    conn: Db,
    now: Now,
    user: AdminForm,
    account: AccountForm,
    username: Annotated[str, Form(), Longest(64)] = "",
    password: Field = "",
    password_again: Field = "",
) -> Response:
    """A personal account; the admin tells its holder the password in person."""
    form = {"username": username, **account}
    try:
        fit({**form, "password": password, "password_again": password_again})
        _same(password, password_again)
        body = checked(
            UserCreate, username=username, **_values(conn, user, account), password=password
        )
        actor = user.acting_from(client_address(request))
        created = service.create_user(conn, user, actor, body, now=now)
    except RequestError as exc:
        return admin.refused(
            conn, exc, form, lambda ctx: _list_page(request, conn, now, user, ctx), "new", LABELS
        )
    return admin.done(f"/admin/users/{created.id}", "user_created")


@router.post("/admin/users/{user_id}")
def user_update(
    request: Request,
    conn: Db,
    now: Now,
    user: AdminForm,
    user_id: UserId,
    form: AccountForm,
) -> Response:
    """Change the holder's name, e-mail, role, organisation, sites, team or
    language (an empty e-mail, organisation or team clears it)."""
    try:
        fit(form)
        body = checked(UserPatch, **_values(conn, user, form))
        actor = user.acting_from(client_address(request))
        service.update_user(conn, user, actor, user_id, body, now=now)
    except RequestError as exc:
        return _item_refused(request, conn, now, user, user_id, exc, "edit", form)
    return admin.done(f"/admin/users/{user_id}", "user_updated")


@router.post("/admin/users/{user_id}/active")
def user_active(
    request: Request,
    conn: Db,
    now: Now,
    user: AdminForm,
    user_id: UserId,
    active: Annotated[str, Form(), Longest(5)] = "",
) -> Response:
    """Disable an account (every token and session it holds is revoked) or
    enable it again."""
    on = active == "yes"
    try:
        fit({"active": active})
        actor = user.acting_from(client_address(request))
        service.update_user(conn, user, actor, user_id, UserPatch(active=on), now=now)
    except RequestError as exc:
        return _item_refused(request, conn, now, user, user_id, exc, "lifecycle")
    return admin.done(f"/admin/users/{user_id}", "user_enabled" if on else "user_disabled")


@router.post("/admin/users/{user_id}/password")
def user_password(
    request: Request,
    conn: Db,
    now: Now,
    user: AdminForm,
    user_id: UserId,
    new_password: Field = "",
    password_again: Field = "",
) -> Response:
    """A new password set by the admin: the account's tokens and sessions
    are revoked and a lock-out lifted (the API's flow)."""
    try:
        fit({"new_password": new_password, "password_again": password_again})
        _same(new_password, password_again)
        if not new_password:
            raise Invalid("password: type the new password", field="password")
        actor = user.acting_from(client_address(request))
        service.reset_password(conn, user, actor, user_id, new_password, now=now)
    except RequestError as exc:
        return _item_refused(request, conn, now, user, user_id, exc, "lifecycle")
    return admin.done(f"/admin/users/{user_id}", "user_password")


@router.post("/admin/users/{user_id}/unlock")
def user_unlock(request: Request, conn: Db, now: Now, user: AdminForm, user_id: UserId) -> Response:
    actor = user.acting_from(client_address(request))
    service.unlock_user(conn, user, actor, user_id, now=now)
    return admin.done(f"/admin/users/{user_id}", "user_unlocked")
