"""Notification contacts and routes: who is told about what.

Admins manage both (``route.write``); operators and viewers read those of
their organisation (``route.read``). A contact's webhook secret is
write-only. The API and the web console call these; every change is
audited in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

from fleet_server.access.audit import record
from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Conflict, Invalid, NotFound
from fleet_server.notifications import storage_routes as storage
from fleet_server.notifications.schemas import (
    ContactIn,
    ContactOut,
    ContactPatch,
    RouteIn,
    RouteOut,
    RoutePatch,
)
from fleet_server.notifications.storage_routes import Conn


def _bad(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", errors=[{"field": field, "message": message}])


def _check_refs(conn: Conn, organisation_id: int | None, site_id: int | None = None) -> None:
    if organisation_id is not None and not storage.organisation_exists(conn, organisation_id):
        raise _bad("organisation_id", f"there is no organisation {organisation_id}")
    if site_id is not None and not storage.site_exists(conn, site_id):
        raise _bad("site_id", f"there is no site {site_id}")


def _check_channel(conn: Conn, contact_id: int, channel: str) -> None:
    addresses = storage.contact_addresses(conn, contact_id)
    if addresses is None:
        raise _bad("contact_id", f"there is no contact {contact_id}")
    missing = {
        "email": "e-mail address",
        "webhook": "webhook URL",
        "telegram": "Telegram chat id",
        "sms": "phone number",
        "zalo": "phone number with the person's Zalo consent",
    }
    if addresses.get(channel) is None:
        raise _bad("channel", f"contact {contact_id} has no {missing[channel]}")


# -- contacts ---------------------------------------------------------------------


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
    user.need("route.read")
    return storage.contacts_page(
        conn, user.scope, paging, organisation_id=organisation_id, kind=kind, active=active, q=q
    )


def get_contact(conn: Conn, user: Principal, contact_id: int, *, lock: bool = False) -> ContactOut:
    user.need("route.read")
    contact = storage.contact(conn, user.scope, contact_id, lock=lock)
    if contact is None:
        raise NotFound("contact", contact_id)
    return contact


def create_contact(
    conn: Conn, user: Principal, body: ContactIn, *, actor: Actor, now: datetime
) -> ContactOut:
    user.need("route.write")
    _check_refs(conn, body.organisation_id)
    contact = get_contact(conn, user, storage.insert_contact(conn, body, now=now))
    record(
        conn,
        actor,
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
    contact_id: int,
    body: ContactPatch,
    *,
    actor: Actor,
    now: datetime,
) -> ContactOut:
    user.need("route.write")
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
    other = changes.get("phone", before.phone) or changes.get(
        "telegram_chat_id", before.telegram_chat_id
    )
    has_secret = (
        changes["webhook_secret"] is not None
        if "webhook_secret" in changes
        else before.has_webhook_secret
    )
    if email is None and url is None and not other:
        raise _bad(
            "email", "a contact needs an email, a webhook_url, a phone or a telegram_chat_id"
        )
    if url is not None and not has_secret:
        raise _bad("webhook_secret", "required with webhook_url (webhooks are signed)")
    storage.update_contact(conn, contact_id, changes, now=now)
    after = get_contact(conn, user, contact_id)
    secret_changed = "webhook_secret" in changes
    record(
        conn,
        actor,
        "contact.update",
        target_type="contact",
        target_id=contact_id,
        before=before,
        after=after,
        detail="webhook secret changed" if secret_changed else None,
    )
    return after


def delete_contact(conn: Conn, user: Principal, contact_id: int, *, actor: Actor) -> None:
    """Delete a contact and its routes; one that was ever sent a notice is
    kept for the record (deactivate it instead)."""
    user.need("route.write")
    before = get_contact(conn, user, contact_id, lock=True)
    if storage.contact_has_history(conn, contact_id):
        raise Conflict(
            f"contact {contact_id} has notification history and is kept for the record;"
            " set active to false instead"
        )
    routes = storage.delete_contact(conn, contact_id)
    record(
        conn,
        actor,
        "contact.delete",
        target_type="contact",
        target_id=contact_id,
        before=before,
        detail=f"with routes {routes}" if routes else None,
    )


# -- routes -----------------------------------------------------------------------


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
    user.need("route.read")
    return storage.routes_page(
        conn,
        user.scope,
        paging,
        organisation_id=organisation_id,
        site_id=site_id,
        contact_id=contact_id,
        channel=channel,
        incident_class=incident_class,
        active=active,
    )


def get_route(conn: Conn, user: Principal, route_id: int, *, lock: bool = False) -> RouteOut:
    user.need("route.read")
    route = storage.route(conn, user.scope, route_id, lock=lock)
    if route is None:
        raise NotFound("notification route", route_id)
    return route


def create_route(
    conn: Conn, user: Principal, body: RouteIn, *, actor: Actor, now: datetime
) -> RouteOut:
    user.need("route.write")
    _check_refs(conn, body.organisation_id, body.site_id)
    _check_channel(conn, body.contact_id, body.channel)
    route = get_route(conn, user, storage.insert_route(conn, body, now=now))
    record(
        conn,
        actor,
        "route.create",
        target_type="notification_route",
        target_id=route.id,
        after=route,
    )
    return route


def update_route(
    conn: Conn, user: Principal, route_id: int, body: RoutePatch, *, actor: Actor
) -> RouteOut:
    user.need("route.write")
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
    storage.update_route(conn, route_id, changes)
    after = get_route(conn, user, route_id)
    record(
        conn,
        actor,
        "route.update",
        target_type="notification_route",
        target_id=route_id,
        before=before,
        after=after,
    )
    return after


def delete_route(conn: Conn, user: Principal, route_id: int, *, actor: Actor) -> None:
    user.need("route.write")
    before = get_route(conn, user, route_id, lock=True)
    storage.delete_route(conn, route_id)
    record(
        conn,
        actor,
        "route.delete",
        target_type="notification_route",
        target_id=route_id,
        before=before,
    )
