"""SQL of the notification outbox, the queue side.

``enqueue``, ``cancel_for_incident`` and ``release_held`` run in the
*caller's* transaction: the engine queues notices together with the incident
change that caused them, so a rolled-back change queues nothing. The SQL the
worker runs is in ``storage_worker``; contacts and routes as the API manages
them are in ``storage_routes``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from fleet_server.notifications import preferences as person
from fleet_server.notifications.models import (
    PERSON_CHANNELS,
    Channel,
    Notice,
    NoticeKind,
    Recipient,
    Rendered,
    Route,
)
from fleet_server.notifications.routing import group_key_for, recipients_for
from fleet_server.notifications.storage_preferences import load_preferences
from fleet_server.notifications.templates import render

log = logging.getLogger(__name__)

# Any row factory: the engine's connection may use dict rows; our cursors use tuples.
Conn = psycopg.Connection[Any]
_MAX_KEY = 500


def enqueue(
    conn: Conn,
    notice: Notice,
    *,
    hold_until: datetime | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Queue ``notice`` for every recipient its routes (and ``contact_ids``) name.

    Runs in the caller's transaction (on an autocommit connection outside a
    transaction block, in a transaction of its own). Returns
    the ids of the new outbox rows; a notice queued before (same event key)
    queues nothing again. ``hold_until`` keeps the rows back, e.g. until a
    maintenance window ends; ``release_held`` lets them go earlier.
    """
    now = now or datetime.now(UTC)
    available_at = max(now, hold_until) if hold_until else now
    with _atomic(conn), conn.cursor(row_factory=tuple_row) as cur:
        routes = _load_routes(cur)
        direct = _load_direct(cur, notice.contact_ids)
        contacts = {r.contact_id for r in routes} | {r.contact_id for r in direct}
        prefs = load_preferences(cur, contacts)
        recipients = person.apply(
            notice, recipients_for(notice, routes, direct), prefs, at=available_at
        )
        if not recipients:
            log.warning(
                "no route for %s notice (incident %s, site %s, class %s, severity %s)",
                notice.kind,
                notice.incident_id,
                notice.site_id,
                notice.incident_class,
                notice.severity,
            )
            return []
        rendered = {lang: render(notice, lang) for lang in {r.language for r in recipients}}
        payload = Jsonb(notice.to_payload())
        group_key = group_key_for(notice)
        ids: list[int] = []
        for recipient in recipients:
            chained = recipient.contact_id in prefs and recipient.channel in PERSON_CHANNELS
            row_id = _insert(
                cur,
                notice,
                recipient,
                rendered=rendered[recipient.language],
                payload=payload,
                group_key=group_key,
                created_at=now,
                available_at=max(available_at, recipient.hold_until or available_at),
                key_channel="person" if chained else recipient.channel,
            )
            if row_id is not None:
                ids.append(row_id)
        if person.is_urgent(notice) and notice.incident_id is not None:
            _release_quiet(cur, notice.incident_id, {r.contact_id for r in recipients}, now)
    log.info("queued %s notice for %d recipient(s): outbox %s", notice.kind, len(ids), ids)
    return ids


def _atomic(conn: Conn) -> AbstractContextManager[object]:
    # conn.transaction() on an idle non-autocommit connection would COMMIT at
    # its end: never do that to the caller, whose transaction this is.
    if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        return conn.transaction()
    return nullcontext()


def _idempotency_key(notice: Notice, recipient: Recipient, channel: str) -> str:
    key = f"{notice.event_key()}|{channel}|{recipient.contact_id}"
    if len(key) > _MAX_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _insert(
    cur: psycopg.Cursor[tuple[Any, ...]],
    notice: Notice,
    recipient: Recipient,
    *,
    rendered: Rendered,
    payload: Jsonb,
    group_key: str | None,
    created_at: datetime,
    available_at: datetime,
    key_channel: str,
) -> int | None:
    """One row; a person's chain is keyed "person", not by its first channel,
    so the same event is queued once whatever the person chose meanwhile."""
    cur.execute(
        """INSERT INTO notification_outbox
               (created_at, idempotency_key, kind, channel, contact_id, language, subject,
                body_text, payload, group_key, incident_id, site_id, board_id,
                available_at, next_attempt_at, ticket_id, fallback, severity, held_for)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   %s, %s, %s)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING id""",
        (
            created_at,
            _idempotency_key(notice, recipient, key_channel),
            notice.kind,
            recipient.channel,
            recipient.contact_id,
            recipient.language,
            rendered.subject,
            rendered.body_text,
            payload,
            group_key,
            notice.incident_id,
            notice.site_id,
            notice.board_id,
            available_at,
            available_at,
            notice.ticket_id,
            list(recipient.fallback),
            notice.severity,
            "quiet_hours" if recipient.hold_until else None,
        ),
    )
    row = cur.fetchone()
    return None if row is None else int(row[0])


def _release_quiet(
    cur: psycopg.Cursor[tuple[Any, ...]], incident_id: int, contacts: set[int], now: datetime
) -> None:
    """A critical notice goes out in quiet hours; the incident's earlier
    notices held for the quiet hours go with it, so they keep their order."""
    if contacts:
        cur.execute(
            """UPDATE notification_outbox
               SET available_at = %(now)s, next_attempt_at = %(now)s, held_for = NULL
               WHERE state = 'pending' AND held_for = 'quiet_hours'
                 AND incident_id = %(incident)s AND contact_id = ANY(%(contacts)s)
                 AND available_at > %(now)s""",
            {"now": now, "incident": incident_id, "contacts": list(contacts)},
        )


def _load_routes(cur: psycopg.Cursor[tuple[Any, ...]]) -> list[Route]:
    # Routes are few (tens); routing.py decides, SQL only drops the inactive ones.
    cur.execute(
        """SELECT r.id, r.contact_id, r.channel, c.language, r.min_severity,
                  r.organisation_id, r.site_id, r.incident_class, r.incident_kinds,
                  r.escalation_level
           FROM notification_routes r JOIN contacts c ON c.id = r.contact_id
           WHERE r.active AND c.active"""
    )
    return [
        Route(
            id=row[0],
            contact_id=row[1],
            channel=row[2],
            language=row[3],
            min_severity=row[4],
            organisation_id=row[5],
            site_id=row[6],
            incident_class=row[7],
            incident_kinds=None if row[8] is None else tuple(row[8]),
            escalation_level=row[9],
        )
        for row in cur.fetchall()
    ]


def _load_direct(cur: psycopg.Cursor[tuple[Any, ...]], ids: Sequence[int]) -> list[Recipient]:
    if not ids:
        return []
    cur.execute(
        "SELECT id, language, email IS NOT NULL, webhook_url IS NOT NULL,"
        " telegram_chat_id IS NOT NULL, phone IS NOT NULL,"
        " phone IS NOT NULL AND zalo_consent_at IS NOT NULL"
        " FROM contacts WHERE id = ANY(%s) AND active",
        (list(ids),),
    )
    found: list[Recipient] = []
    channels: tuple[Channel, ...] = ("email", "webhook", "telegram", "sms", "zalo")
    for contact_id, language, *has in cur.fetchall():
        found.extend(
            Recipient(contact_id, channel, language)
            for channel, present in zip(channels, has, strict=True)
            if present
        )
    missing = set(ids) - {r.contact_id for r in found}
    if missing:
        log.warning("contacts %s are inactive, unknown or have no address", sorted(missing))
    return found


def cancel_for_incident(
    conn: Conn,
    incident_id: int,
    *,
    kinds: Collection[NoticeKind] | None = None,
    reason: str = "cancelled",
) -> int:
    """Cancel the incident's rows not yet handed to a worker (e.g. reminders of
    a resolved incident, or notices held through a maintenance window in which
    the incident came and went). Returns how many were cancelled."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """UPDATE notification_outbox SET state = 'cancelled', last_error = %s
               WHERE incident_id = %s AND state = 'pending'
                 AND (%s::text[] IS NULL OR kind = ANY(%s::text[]))""",
            (reason, incident_id, _list(kinds), _list(kinds)),
        )
        return cur.rowcount


def release_held(
    conn: Conn,
    *,
    now: datetime | None = None,
    site_id: int | None = None,
    board_id: str | None = None,
    incident_id: int | None = None,
) -> int:
    """Make held rows due now (a maintenance window ended early). Filters
    combine with AND; none releases every held row. Returns how many."""
    now = now or datetime.now(UTC)
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """UPDATE notification_outbox
               SET available_at = %(now)s, next_attempt_at = %(now)s
               WHERE state = 'pending' AND available_at > %(now)s
                 AND (%(site)s::bigint IS NULL OR site_id = %(site)s)
                 AND (%(board)s::text IS NULL OR board_id = %(board)s)
                 AND (%(incident)s::bigint IS NULL OR incident_id = %(incident)s)""",
            {"now": now, "site": site_id, "board": board_id, "incident": incident_id},
        )
        return cur.rowcount


def _list(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else list(values)
