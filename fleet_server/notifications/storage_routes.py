"""SQL of notification contacts and routes as the API manages them.

Every function runs in the caller's transaction. Reads are narrowed by a
:class:`Scope`: contacts of the reader's organisation; routes to those
contacts, or about the organisation or one of its sites (everything
province-wide). What the engine reads to route a notice is in ``storage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.pagination import ListParams, Page, add_equal, add_search, fetch_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.notifications.schemas import ContactIn, ContactOut, RouteIn, RouteOut

Conn = psycopg.Connection[Any]

_CONTACT_SELECT = """
    SELECT c.id, c.organisation_id, c.kind, c.name, c.email, c.webhook_url,
           c.webhook_secret IS NOT NULL AS has_webhook_secret, c.phone, c.telegram_chat_id,
           c.zalo_consent_at, c.user_id, c.language, c.active,
           c.created_at, c.updated_at
    FROM contacts c
"""
_ROUTE_SELECT = """
    SELECT r.id, r.organisation_id, r.site_id, r.incident_class, r.incident_kinds,
           r.min_severity, r.channel, r.contact_id, c.name AS contact_name,
           r.escalation_level, r.active, r.note, r.created_at
    FROM notification_routes r JOIN contacts c ON c.id = r.contact_id
"""


def _contact_scope(scope: Scope) -> tuple[str, list[Any]]:
    """Contacts a reader sees: their organisation's (everything province-wide)."""
    if scope.province_wide:
        return "TRUE", []
    return "c.organisation_id = %s", [scope.organisation_id]


def _route_scope(scope: Scope) -> tuple[str, list[Any]]:
    """Routes a reader sees: to their organisation's contacts, or about their
    organisation or one of their sites (everything province-wide)."""
    if scope.province_wide:
        return "TRUE", []
    sites, params = sites_condition(scope, "r.site_id")
    return (
        f"(c.organisation_id = %s OR r.organisation_id = %s OR (r.site_id IS NOT NULL"
        f" AND {sites}))",
        [scope.organisation_id, scope.organisation_id, *params],
    )


# -- references -------------------------------------------------------------------


def organisation_exists(conn: Conn, organisation_id: int) -> bool:
    row = conn.execute("SELECT 1 FROM organisations WHERE id = %s", (organisation_id,)).fetchone()
    return row is not None


def site_exists(conn: Conn, site_id: int) -> bool:
    return conn.execute("SELECT 1 FROM sites WHERE id = %s", (site_id,)).fetchone() is not None


def contact_addresses(conn: Conn, contact_id: int) -> dict[str, Any] | None:
    """The contact's addresses by channel (None: none), or None when there is
    no such contact. Zalo needs the phone and the person's consent."""
    row = conn.execute(
        "SELECT email, webhook_url, telegram_chat_id, phone,"
        " CASE WHEN zalo_consent_at IS NOT NULL THEN phone END"
        " FROM contacts WHERE id = %s",
        (contact_id,),
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("email", "webhook", "telegram", "sms", "zalo"), row, strict=True))


# -- contacts ---------------------------------------------------------------------


def contacts_page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    organisation_id: int | None = None,
    kind: str | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Page[ContactOut]:
    clause, params = _contact_scope(scope)
    where = [clause]
    add_equal(where, params, (("c.organisation_id", organisation_id), ("c.kind", kind)))
    if active is not None:
        where.append("c.active = %s")
        params.append(active)
    add_search(where, params, q, ("c.name", "c.email"))
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


def contact(conn: Conn, scope: Scope, contact_id: int, *, lock: bool = False) -> ContactOut | None:
    """The contact if ``scope`` sees it; ``lock`` takes its row lock."""
    clause, params = _contact_scope(scope)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_CONTACT_SELECT} WHERE c.id = %s AND {clause}{' FOR UPDATE' if lock else ''}",
            [contact_id, *params],
        ).fetchone()
    return None if row is None else ContactOut.model_validate(row)


def insert_contact(conn: Conn, body: ContactIn, *, now: datetime) -> int:
    row = conn.execute(
        "INSERT INTO contacts (organisation_id, kind, name, email, webhook_url, webhook_secret,"
        " language, active, created_at, updated_at, phone, telegram_chat_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
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
            body.phone,
            body.telegram_chat_id,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def update_contact(
    conn: Conn, contact_id: int, changes: Mapping[str, Any], *, now: datetime
) -> None:
    """Set ``changes`` (column -> value; the columns are the model's field
    names, never the caller's text) and ``updated_at``."""
    if not changes:
        return
    assignments = ", ".join(f"{column} = %s" for column in changes)
    conn.execute(
        f"UPDATE contacts SET {assignments}, updated_at = %s WHERE id = %s",
        [*changes.values(), now, contact_id],
    )


def contact_has_history(conn: Conn, contact_id: int) -> bool:
    """Whether the contact was ever queued a notice."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM notification_outbox WHERE contact_id = %s)", (contact_id,)
    ).fetchone()
    return bool(row and row[0])


def delete_contact(conn: Conn, contact_id: int) -> list[int]:
    """Delete the contact and its routes; returns the routes' ids."""
    routes = [
        int(r[0])
        for r in conn.execute(
            "DELETE FROM notification_routes WHERE contact_id = %s RETURNING id", (contact_id,)
        )
    ]
    conn.execute("DELETE FROM contacts WHERE id = %s", (contact_id,))
    return routes


# -- routes -----------------------------------------------------------------------


def routes_page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    organisation_id: int | None = None,
    site_id: int | None = None,
    contact_id: int | None = None,
    channel: str | None = None,
    incident_class: str | None = None,
    active: bool | None = None,
) -> Page[RouteOut]:
    clause, params = _route_scope(scope)
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


def route(conn: Conn, scope: Scope, route_id: int, *, lock: bool = False) -> RouteOut | None:
    """The route if ``scope`` sees it; ``lock`` takes the route's row lock."""
    clause, params = _route_scope(scope)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_ROUTE_SELECT} WHERE r.id = %s AND {clause}{' FOR UPDATE OF r' if lock else ''}",
            [route_id, *params],
        ).fetchone()
    return None if row is None else RouteOut.model_validate(row)


def insert_route(conn: Conn, body: RouteIn, *, now: datetime) -> int:
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
    return int(row[0])


def update_route(conn: Conn, route_id: int, changes: Mapping[str, Any]) -> None:
    """Set ``changes`` (column -> value; the columns are the model's field names)."""
    if not changes:
        return
    assignments = ", ".join(f"{column} = %s" for column in changes)
    conn.execute(
        f"UPDATE notification_routes SET {assignments} WHERE id = %s",
        [*changes.values(), route_id],
    )


def delete_route(conn: Conn, route_id: int) -> None:
    conn.execute("DELETE FROM notification_routes WHERE id = %s", (route_id,))
