"""/api/v1 notification contacts and routes: who is told about what.

Admins manage both; operators and viewers read those of their organisation
(``route.read``). A contact's webhook secret is write-only: answers only say
``has_webhook_secret``. The functions above the routes are what the web
console calls."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from psycopg.rows import dict_row
from pydantic import BaseModel, Field, field_validator, model_validator

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Db, Now, require
from fleet_server.api.pagination import Paging
from fleet_server.errors import Conflict, Forbidden, Invalid, NotFound

router = APIRouter(tags=["notifications"])

MAX_ID = 2**62
NO_NUL = r"^[^\x00]*$"
EMAIL_RE = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
KIND_PATTERN = r"^[a-z0-9_*?\[\]!-]{1,100}$"
ContactKind = Literal["person", "duty_desk"]
Language = Literal["vi", "en"]
Channel = Literal["email", "webhook"]
IncidentClass = Literal["technical", "security", "compliance"]
Severity = Literal["critical", "major", "minor", "warning"]

Reader = Annotated[Principal, Depends(require("route.read"))]
Admin = Annotated[Principal, Depends(require("route.write"))]
ContactId = Annotated[int, Path(ge=1, le=MAX_ID, description="contact id")]
RouteId = Annotated[int, Path(ge=1, le=MAX_ID, description="route id")]


def check_email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValueError("not an e-mail address (name@domain.tld)")
    return value


def check_webhook_url(value: str | None) -> str | None:
    """An absolute http(s) URL with a host, nothing else."""
    if value is None:
        return None
    value = value.strip()
    if len(value) > 2000 or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError("not a URL (too long, or it contains spaces or control characters)")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("the webhook URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the webhook URL has no host")
    return value


# -- models ---------------------------------------------------------------------


class ContactOut(BaseModel):
    id: int
    organisation_id: int | None
    kind: ContactKind
    name: str
    email: str | None
    webhook_url: str | None
    #: The secret itself is never returned.
    has_webhook_secret: bool
    language: Language
    active: bool
    created_at: datetime
    updated_at: datetime


class _ContactFields(BaseModel):
    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return check_email(value)

    @field_validator("webhook_url", check_fields=False)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_webhook_url(value)


class ContactIn(_ContactFields):
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: ContactKind = "person"
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    email: str | None = Field(default=None, max_length=254)
    webhook_url: str | None = Field(default=None, max_length=2000)
    #: Signs every webhook (HMAC); write-only.
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200, pattern=NO_NUL)
    language: Language = "vi"
    active: bool = True

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if self.email is None and self.webhook_url is None:
            raise ValueError("a contact needs an email or a webhook_url")
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("webhook_secret is required with webhook_url (webhooks are signed)")
        if not self.name.strip():
            raise ValueError("name must not be blank")
        return self


class ContactPatch(_ContactFields):
    """Only the fields given change; ``null`` clears email or webhook_url
    (clearing the URL drops the secret too)."""

    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: ContactKind | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    email: str | None = Field(default=None, max_length=254)
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200, pattern=NO_NUL)
    language: Language | None = None
    active: bool | None = None


class RouteOut(BaseModel):
    id: int
    #: Filters (null: any): the notice's organisation, site, class and kinds.
    organisation_id: int | None
    site_id: int | None
    incident_class: IncidentClass | None
    incident_kinds: list[str] | None
    min_severity: Severity
    channel: Channel
    contact_id: int
    contact_name: str
    #: 0: normal recipients; 1: escalation list, only for escalated notices.
    escalation_level: int
    active: bool
    note: str | None
    created_at: datetime


Kinds = list[Annotated[str, Field(pattern=KIND_PATTERN)]]


class RouteIn(BaseModel):
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    incident_class: IncidentClass | None = None
    incident_kinds: Kinds | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="shell-style patterns on the incident kind, e.g. camera*",
    )
    min_severity: Severity = "warning"
    channel: Channel
    contact_id: int = Field(ge=1, le=MAX_ID)
    escalation_level: Literal[0, 1] = 0
    active: bool = True
    note: str | None = Field(default=None, max_length=500, pattern=NO_NUL)


class RoutePatch(BaseModel):
    """Only the fields given change; ``null`` clears a filter (any)."""

    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    incident_class: IncidentClass | None = None
    incident_kinds: Kinds | None = Field(default=None, min_length=1, max_length=20)
    min_severity: Severity | None = None
    channel: Channel | None = None
    contact_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    escalation_level: Literal[0, 1] | None = None
    active: bool | None = None
    note: str | None = Field(default=None, max_length=500, pattern=NO_NUL)


# -- data functions (the console calls these too) ---------------------------------------

_CONTACT_SELECT = """
    SELECT c.id, c.organisation_id, c.kind, c.name, c.email, c.webhook_url,
           c.webhook_secret IS NOT NULL AS has_webhook_secret, c.language, c.active,
           c.created_at, c.updated_at
    FROM contacts c
"""
_ROUTE_SELECT = """
    SELECT r.id, r.organisation_id, r.site_id, r.incident_class, r.incident_kinds,
           r.min_severity, r.channel, r.contact_id, c.name AS contact_name,
           r.escalation_level, r.active, r.note, r.created_at
    FROM notification_routes r JOIN contacts c ON c.id = r.contact_id
"""


def _need(user: Principal, capability: str) -> None:
    if not user.can(capability):
        raise Forbidden(f"the {user.role} role may not do this ({capability})")


def _contact_scope(user: Principal) -> tuple[str, list[Any]]:
    """Contacts a reader sees: their organisation's (everything province-wide)."""
    if user.province_wide:
        return "TRUE", []
    return "c.organisation_id = %s", [user.organisation_id]


def _route_scope(user: Principal) -> tuple[str, list[Any]]:
    """Routes a reader sees: to their organisation's contacts, or about their
    organisation or one of their sites (everything province-wide)."""
    if user.province_wide:
        return "TRUE", []
    sites, params = sites_condition(user.scope, "r.site_id")
    return (
        f"(c.organisation_id = %s OR r.organisation_id = %s OR (r.site_id IS NOT NULL"
        f" AND {sites}))",
        [user.organisation_id, user.organisation_id, *params],
    )


def _bad(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", errors=[{"field": field, "message": message}])


def _check_refs(conn: Conn, organisation_id: int | None, site_id: int | None = None) -> None:
    if (
        organisation_id is not None
        and not conn.execute(
            "SELECT 1 FROM organisations WHERE id = %s", (organisation_id,)
        ).fetchone()
    ):
        raise _bad("organisation_id", f"there is no organisation {organisation_id}")
    if (
        site_id is not None
        and not conn.execute("SELECT 1 FROM sites WHERE id = %s", (site_id,)).fetchone()
    ):
        raise _bad("site_id", f"there is no site {site_id}")


def list_contacts(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    organisation_id: int | None = None,
    kind: str | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Page[ContactOut]:
    _need(user, "route.read")
    clause, params = _contact_scope(user)
    where = [clause]
    add_equal(where, params, (("c.organisation_id", organisation_id), ("c.kind", kind)))
    if active is not None:
        where.append("c.active = %s")
        params.append(active)
    if q:
        where.append("(c.name ILIKE %s OR c.email ILIKE %s)")
        params += [f"%{q}%"] * 2
    return fetch_page(
        conn,
        f"{_CONTACT_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "name", "kind", "created_at", "updated_at"),
        default="name",
        tiebreak="id",
        model=ContactOut,
    )


def get_contact(conn: Conn, user: Principal, contact_id: int, *, lock: bool = False) -> ContactOut:
    _need(user, "route.read")
    clause, params = _contact_scope(user)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_CONTACT_SELECT} WHERE c.id = %s AND {clause}{' FOR UPDATE' if lock else ''}",
            [contact_id, *params],
        ).fetchone()
    if row is None:
        raise NotFound("contact", contact_id)
    return ContactOut.model_validate(row)


def create_contact(
    conn: Conn, user: Principal, request: Request, body: ContactIn, *, now: datetime
) -> ContactOut:
    _need(user, "route.write")
    _check_refs(conn, body.organisation_id)
    row = conn.execute(
        "INSERT INTO contacts (organisation_id, kind, name, email, webhook_url, webhook_secret,"
        " language, active, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            body.organisation_id,
            body.kind,
            body.name.strip(),
            body.email,
            body.webhook_url,
            body.webhook_secret,
            body.language,
            body.active,
            now,
            now,
        ),
    ).fetchone()
    assert row is not None
    contact = get_contact(conn, user, int(row[0]))
    record(
        conn,
        user,
        request,
        "contact.create",
        target_type="contact",
        target_id=contact.id,
        after=contact,
        detail="webhook secret set" if body.webhook_secret else None,
    )
    return contact


def update_contact(
    conn: Conn,
    user: Principal,
    request: Request,
    contact_id: int,
    body: ContactPatch,
    *,
    now: datetime,
) -> ContactOut:
    _need(user, "route.write")
    before = get_contact(conn, user, contact_id, lock=True)
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    for field in ("kind", "name", "language", "active"):
        if field in changes and changes[field] is None:
            raise _bad(field, "cannot be null")
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise _bad("name", "must not be blank")
    if "webhook_url" in changes and changes["webhook_url"] is None:
        changes["webhook_secret"] = None
    _check_refs(conn, changes.get("organisation_id"))
    email = changes.get("email", before.email)
    url = changes.get("webhook_url", before.webhook_url)
    has_secret = (
        changes["webhook_secret"] is not None
        if "webhook_secret" in changes
        else before.has_webhook_secret
    )
    if email is None and url is None:
        raise _bad("email", "a contact needs an email or a webhook_url")
    if url is not None and not has_secret:
        raise _bad("webhook_secret", "required with webhook_url (webhooks are signed)")
    if changes:
        assignments = ", ".join(f"{column} = %s" for column in changes)
        conn.execute(
            f"UPDATE contacts SET {assignments}, updated_at = %s WHERE id = %s",
            [*changes.values(), now, contact_id],
        )
    after = get_contact(conn, user, contact_id)
    secret_changed = "webhook_secret" in changes
    record(
        conn,
        user,
        request,
        "contact.update",
        target_type="contact",
        target_id=contact_id,
        before=before,
        after=after,
        detail="webhook secret changed" if secret_changed else None,
    )
    return after


def delete_contact(conn: Conn, user: Principal, request: Request, contact_id: int) -> None:
    """Delete a contact and its routes; one that was ever sent a notice is
    kept for the record (deactivate it instead)."""
    _need(user, "route.write")
    before = get_contact(conn, user, contact_id, lock=True)
    used = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM notification_outbox WHERE contact_id = %s)", (contact_id,)
    ).fetchone()
    if used and used[0]:
        raise Conflict(
            f"contact {contact_id} has notification history and is kept for the record;"
            " set active to false instead"
        )
    routes = [
        int(r[0])
        for r in conn.execute(
            "DELETE FROM notification_routes WHERE contact_id = %s RETURNING id", (contact_id,)
        )
    ]
    conn.execute("DELETE FROM contacts WHERE id = %s", (contact_id,))
    record(
        conn,
        user,
        request,
        "contact.delete",
        target_type="contact",
        target_id=contact_id,
        before=before,
        detail=f"with routes {routes}" if routes else None,
    )


def list_routes(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    organisation_id: int | None = None,
    site_id: int | None = None,
    contact_id: int | None = None,
    channel: str | None = None,
    incident_class: str | None = None,
    active: bool | None = None,
) -> Page[RouteOut]:
    _need(user, "route.read")
    clause, params = _route_scope(user)
    where = [clause]
    add_equal(
        where,
        params,
        (
            ("r.organisation_id", organisation_id),
            ("r.site_id", site_id),
            ("r.contact_id", contact_id),
            ("r.channel", channel),
            ("r.incident_class", incident_class),
        ),
    )
    if active is not None:
        where.append("r.active = %s")
        params.append(active)
    return fetch_page(
        conn,
        f"{_ROUTE_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=(
            "id",
            "created_at",
            "channel",
            "min_severity",
            "escalation_level",
            "contact_name",
        ),
        default="id",
        tiebreak="id",
        model=RouteOut,
    )


def get_route(conn: Conn, user: Principal, route_id: int, *, lock: bool = False) -> RouteOut:
    _need(user, "route.read")
    clause, params = _route_scope(user)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_ROUTE_SELECT} WHERE r.id = %s AND {clause}{' FOR UPDATE OF r' if lock else ''}",
            [route_id, *params],
        ).fetchone()
    if row is None:
        raise NotFound("notification route", route_id)
    return RouteOut.model_validate(row)


def _check_channel(conn: Conn, contact_id: int, channel: str) -> None:
    row = conn.execute(
        "SELECT email, webhook_url FROM contacts WHERE id = %s", (contact_id,)
    ).fetchone()
    if row is None:
        raise _bad("contact_id", f"there is no contact {contact_id}")
    if channel == "email" and row[0] is None:
        raise _bad("channel", f"contact {contact_id} has no e-mail address")
    if channel == "webhook" and row[1] is None:
        raise _bad("channel", f"contact {contact_id} has no webhook URL")


def create_route(
    conn: Conn, user: Principal, request: Request, body: RouteIn, *, now: datetime
) -> RouteOut:
    _need(user, "route.write")
    _check_refs(conn, body.organisation_id, body.site_id)
    _check_channel(conn, body.contact_id, body.channel)
    row = conn.execute(
        "INSERT INTO notification_routes (organisation_id, site_id, incident_class,"
        " incident_kinds, min_severity, channel, contact_id, escalation_level, active, note,"
        " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            body.organisation_id,
            body.site_id,
            body.incident_class,
            body.incident_kinds,
            body.min_severity,
            body.channel,
            body.contact_id,
            body.escalation_level,
            body.active,
            body.note,
            now,
        ),
    ).fetchone()
    assert row is not None
    route = get_route(conn, user, int(row[0]))
    record(
        conn,
        user,
        request,
        "route.create",
        target_type="notification_route",
        target_id=route.id,
        after=route,
    )
    return route


def update_route(
    conn: Conn, user: Principal, request: Request, route_id: int, body: RoutePatch
) -> RouteOut:
    _need(user, "route.write")
    before = get_route(conn, user, route_id, lock=True)
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    for field in ("min_severity", "channel", "contact_id", "escalation_level", "active"):
        if field in changes and changes[field] is None:
            raise _bad(field, "cannot be null")
    _check_refs(conn, changes.get("organisation_id"), changes.get("site_id"))
    if "channel" in changes or "contact_id" in changes:
        _check_channel(
            conn,
            changes.get("contact_id", before.contact_id),
            changes.get("channel", before.channel),
        )
    if changes:
        assignments = ", ".join(f"{column} = %s" for column in changes)
        conn.execute(
            f"UPDATE notification_routes SET {assignments} WHERE id = %s",
            [*changes.values(), route_id],
        )
    after = get_route(conn, user, route_id)
    record(
        conn,
        user,
        request,
        "route.update",
        target_type="notification_route",
        target_id=route_id,
        before=before,
        after=after,
    )
    return after


def delete_route(conn: Conn, user: Principal, request: Request, route_id: int) -> None:
    _need(user, "route.write")
    before = get_route(conn, user, route_id, lock=True)
    conn.execute("DELETE FROM notification_routes WHERE id = %s", (route_id,))
    record(
        conn,
        user,
        request,
        "route.delete",
        target_type="notification_route",
        target_id=route_id,
        before=before,
    )


# -- routes: contacts -------------------------------------------------------------


@router.get("/contacts", summary="notification contacts of the caller's organisation")
def contacts_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: ContactKind | None = None,
    active: bool | None = None,
    q: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="in name or e-mail")
    ] = None,
) -> Page[ContactOut]:
    """Sort by id, name, kind, created_at or updated_at; default: by name."""
    return list_contacts(
        conn, user, paging, organisation_id=organisation_id, kind=kind, active=active, q=q
    )


@router.post("/contacts", status_code=201, summary="add a contact (admin)")
def contacts_create(
    request: Request, conn: Db, now: Now, user: Admin, body: ContactIn
) -> ContactOut:
    return create_contact(conn, user, request, body, now=now)


@router.get("/contacts/{contact_id}", summary="one contact")
def contacts_get(conn: Db, user: Reader, contact_id: ContactId) -> ContactOut:
    return get_contact(conn, user, contact_id)


@router.patch("/contacts/{contact_id}", summary="change a contact (admin)")
def contacts_update(
    request: Request, conn: Db, now: Now, user: Admin, contact_id: ContactId, body: ContactPatch
) -> ContactOut:
    return update_contact(conn, user, request, contact_id, body, now=now)


@router.delete(
    "/contacts/{contact_id}",
    status_code=204,
    summary="delete a contact and its routes (admin)",
    responses={409: {"description": "the contact has notification history"}},
)
def contacts_delete(request: Request, conn: Db, user: Admin, contact_id: ContactId) -> Response:
    delete_contact(conn, user, request, contact_id)
    return Response(status_code=204)


# -- routes: notification routes ----------------------------------------------------


@router.get("/notification-routes", summary="notification routes of the caller's organisation")
def routes_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    contact_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    channel: Channel | None = None,
    incident_class: IncidentClass | None = None,
    active: bool | None = None,
) -> Page[RouteOut]:
    """Sort by id, created_at, channel, min_severity, escalation_level or contact_name."""
    return list_routes(
        conn,
        user,
        paging,
        organisation_id=organisation_id,
        site_id=site_id,
        contact_id=contact_id,
        channel=channel,
        incident_class=incident_class,
        active=active,
    )


@router.post("/notification-routes", status_code=201, summary="add a route (admin)")
def routes_create(request: Request, conn: Db, now: Now, user: Admin, body: RouteIn) -> RouteOut:
    return create_route(conn, user, request, body, now=now)


@router.get("/notification-routes/{route_id}", summary="one notification route")
def routes_get(conn: Db, user: Reader, route_id: RouteId) -> RouteOut:
    return get_route(conn, user, route_id)


@router.patch("/notification-routes/{route_id}", summary="change a route (admin)")
def routes_update(
    request: Request, conn: Db, user: Admin, route_id: RouteId, body: RoutePatch
) -> RouteOut:
    return update_route(conn, user, request, route_id, body)


@router.delete("/notification-routes/{route_id}", status_code=204, summary="delete a route (admin)")
def routes_delete(request: Request, conn: Db, user: Admin, route_id: RouteId) -> Response:
    delete_route(conn, user, request, route_id)
    return Response(status_code=204)
