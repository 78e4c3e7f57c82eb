"""SQL of the notification outbox.

``enqueue``, ``cancel_for_incident`` and ``release_held`` run in the
*caller's* transaction: the engine queues notices together with the incident
change that caused them, so a rolled-back change queues nothing. The other
functions belong to the worker; each runs its own short transaction and
never holds a lock while a transport talks to the network.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from fleet_server.notifications.routing import group_key_for, plan_messages, recipients_for
from fleet_server.notifications.schemas import (
    Notice,
    NoticeKind,
    OutboxRow,
    Recipient,
    Rendered,
    Route,
)
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
        recipients = recipients_for(notice, routes, direct)
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
            row_id = _insert(
                cur,
                notice,
                recipient,
                rendered=rendered[recipient.language],
                payload=payload,
                group_key=group_key,
                created_at=now,
                available_at=available_at,
            )
            if row_id is not None:
                ids.append(row_id)
    log.info("queued %s notice for %d recipient(s): outbox %s", notice.kind, len(ids), ids)
    return ids


def _atomic(conn: Conn) -> AbstractContextManager[object]:
    # conn.transaction() on an idle non-autocommit connection would COMMIT at
    # its end: never do that to the caller, whose transaction this is.
    if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        return conn.transaction()
    return nullcontext()


def _idempotency_key(notice: Notice, recipient: Recipient) -> str:
    key = f"{notice.event_key()}|{recipient.channel}|{recipient.contact_id}"
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
) -> int | None:
    cur.execute(
        """INSERT INTO notification_outbox
               (created_at, idempotency_key, kind, channel, contact_id, language, subject,
                body_text, payload, group_key, incident_id, site_id, board_id,
                available_at, next_attempt_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING id""",
        (
            created_at,
            _idempotency_key(notice, recipient),
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
        ),
    )
    row = cur.fetchone()
    return None if row is None else int(row[0])


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
        "SELECT id, language, email IS NOT NULL, webhook_url IS NOT NULL"
        " FROM contacts WHERE id = ANY(%s) AND active",
        (list(ids),),
    )
    found: list[Recipient] = []
    for contact_id, language, has_email, has_webhook in cur.fetchall():
        if has_email:
            found.append(Recipient(contact_id, "email", language))
        if has_webhook:
            found.append(Recipient(contact_id, "webhook", language))
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


# --- worker side -------------------------------------------------------------


def recover_expired_claims(conn: Conn, *, now: datetime, lease: timedelta, worker: str) -> int:
    """Put rows back whose worker claimed them longer than ``lease`` ago and
    never reported (it died mid-send). The attempt is recorded as unknown;
    the retry may duplicate a message, which its stable Message-ID lets
    receivers recognise."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """UPDATE notification_outbox
               SET state = 'pending', claimed_by = NULL, claimed_at = NULL,
                   next_attempt_at = greatest(available_at, %(now)s),
                   last_error = 'claim by ' || claimed_by || ' expired'
               WHERE state = 'sending' AND claimed_at < %(before)s
               RETURNING id, last_error""",
            {"now": now, "before": now - lease},
        )
        expired = cur.fetchall()
        for outbox_id, error in expired:
            _record_attempt(cur, outbox_id, now, ok=False, error=error, worker=worker)
    if expired:
        log.warning("took back %d expired claim(s): %s", len(expired), [r[0] for r in expired])
    return len(expired)


# Rows of one incident for one contact and channel go out in the order they
# were queued. A due row is not claimed while an earlier one of its incident
# is still being sent (maybe by a worker that died: until its claim is taken
# back) or waits for a retry; an earlier one that is due too comes back in
# ``earlier`` and must be sent before it or in the same message (plan_messages).
# Each state is spelled out so the partial indexes on pending and sending rows
# serve the look-ups; the outbox keeps its history and grows.
_CLAIM_SQL = """
SELECT o.id, o.idempotency_key, o.channel, o.contact_id, o.language, o.subject,
       o.body_text, o.payload, o.group_key, o.available_at, o.attempts,
       c.name, c.active, c.email, c.webhook_url, c.webhook_secret,
       ARRAY(SELECT e.id FROM notification_outbox e
             WHERE e.state = 'pending' AND e.incident_id = o.incident_id
               AND e.contact_id = o.contact_id AND e.channel = o.channel AND e.id < o.id
             ORDER BY e.id) AS earlier
FROM notification_outbox o JOIN contacts c ON c.id = o.contact_id
WHERE o.state = 'pending' AND o.next_attempt_at <= %(now)s
  AND NOT EXISTS (
      SELECT 1 FROM notification_outbox e
      WHERE e.state = 'sending' AND e.incident_id = o.incident_id
        AND e.contact_id = o.contact_id AND e.channel = o.channel AND e.id < o.id)
  AND NOT EXISTS (
      SELECT 1 FROM notification_outbox e
      WHERE e.state = 'pending' AND e.next_attempt_at > %(now)s
        AND e.incident_id = o.incident_id
        AND e.contact_id = o.contact_id AND e.channel = o.channel AND e.id < o.id)
ORDER BY o.id
LIMIT %(limit)s
FOR UPDATE OF o SKIP LOCKED
"""


def claim_due(
    conn: Conn, *, now: datetime, limit: int, window: timedelta, worker: str
) -> list[list[OutboxRow]]:
    """Claim due rows, planned into messages (see ``routing.plan_messages``).

    ``FOR UPDATE SKIP LOCKED`` plus the switch to ``sending`` in the same
    transaction means two workers never claim the same row. Oldest rows
    first, so an earlier notice of an incident is never cut off by ``limit``
    while a later one is claimed.
    """
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(_CLAIM_SQL, {"now": now, "limit": limit})
        rows = [_outbox_row(r) for r in cur.fetchall()]
        plan = plan_messages(rows, now, window)
        ids = [row.id for message in plan for row in message]
        if ids:
            cur.execute(
                """UPDATE notification_outbox
                   SET state = 'sending', attempts = attempts + 1,
                       claimed_by = %s, claimed_at = %s
                   WHERE id = ANY(%s)""",
                (worker, now, ids),
            )
    return [[replace(row, attempts=row.attempts + 1) for row in message] for message in plan]


def _outbox_row(r: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(
        id=r[0],
        idempotency_key=r[1],
        channel=r[2],
        contact_id=r[3],
        language=r[4],
        subject=r[5],
        body_text=r[6],
        payload=r[7],
        group_key=r[8],
        available_at=r[9],
        attempts=r[10],
        contact_name=r[11],
        contact_active=r[12],
        email=r[13],
        webhook_url=r[14],
        webhook_secret=r[15],
        earlier=tuple(r[16]),
    )


def renew_claims(conn: Conn, ids: Collection[int], *, now: datetime, worker: str) -> frozenset[int]:
    """Renew our claim on ``ids`` (the lease heartbeat); returns those still
    ours. A missing one was taken back: this worker stalled past the lease."""
    if not ids:
        return frozenset()
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """UPDATE notification_outbox SET claimed_at = %s
               WHERE id = ANY(%s) AND state = 'sending' AND claimed_by = %s
               RETURNING id""",
            (now, list(ids), worker),
        )
        return frozenset(int(r[0]) for r in cur.fetchall())


def release_claims(conn: Conn, ids: Collection[int], *, worker: str) -> int:
    """Give claimed rows back unsent, as if never claimed (no attempt was
    made: an earlier notice of their incident failed in the same run)."""
    if not ids:
        return 0
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """UPDATE notification_outbox
               SET state = 'pending', attempts = attempts - 1,
                   claimed_by = NULL, claimed_at = NULL
               WHERE id = ANY(%s) AND state = 'sending' AND claimed_by = %s""",
            (list(ids), worker),
        )
        return cur.rowcount


def record_sent(
    conn: Conn,
    ids: Sequence[int],
    *,
    at: datetime,
    message_id: str,
    response: str,
    worker: str,
) -> None:
    """Mark rows sent. A row whose claim was taken back while we sent (we
    stalled past the lease) is marked too if nobody has claimed it again
    since: it was delivered, a second copy would only be a duplicate."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """UPDATE notification_outbox
               SET state = 'sent', sent_at = %s, message_id = %s, last_error = NULL,
                   claimed_by = NULL, claimed_at = NULL
               WHERE id = ANY(%s)
                 AND (state = 'pending' OR (state = 'sending' AND claimed_by = %s))""",
            (at, message_id, list(ids), worker),
        )
        if cur.rowcount != len(ids):
            log.warning(
                "outbox %s sent, but %d row(s) are being sent by another worker",
                ids,
                len(ids) - cur.rowcount,
            )
        for outbox_id in ids:
            _record_attempt(
                cur,
                outbox_id,
                at,
                ok=True,
                response=response,
                message_id=message_id,
                worker=worker,
            )


def record_failure(
    conn: Conn,
    retry_at: Mapping[int, datetime | None],
    *,
    at: datetime,
    error: str,
    message_id: str | None,
    worker: str,
) -> None:
    """Record a failed attempt; each row is retried at ``retry_at[id]`` or,
    when that is None, marked ``failed`` for good."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        for outbox_id, next_at in retry_at.items():
            cur.execute(
                """UPDATE notification_outbox
                   SET state = CASE WHEN %(next)s::timestamptz IS NULL
                                    THEN 'failed' ELSE 'pending' END,
                       next_attempt_at = coalesce(%(next)s, next_attempt_at),
                       last_error = %(error)s, claimed_by = NULL, claimed_at = NULL
                   WHERE id = %(id)s AND state = 'sending' AND claimed_by = %(worker)s""",
                {"next": next_at, "error": error, "id": outbox_id, "worker": worker},
            )
            _record_attempt(
                cur, outbox_id, at, ok=False, error=error, message_id=message_id, worker=worker
            )


def record_cancelled(conn: Conn, ids: Sequence[int], *, reason: str, worker: str) -> None:
    """Cancel claimed rows that cannot be sent to anyone (contact deactivated)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """UPDATE notification_outbox
               SET state = 'cancelled', last_error = %s, claimed_by = NULL, claimed_at = NULL
               WHERE id = ANY(%s) AND state = 'sending' AND claimed_by = %s""",
            (reason, list(ids), worker),
        )


def _record_attempt(
    cur: psycopg.Cursor[tuple[Any, ...]],
    outbox_id: int,
    at: datetime,
    *,
    ok: bool,
    worker: str,
    error: str | None = None,
    response: str | None = None,
    message_id: str | None = None,
) -> None:
    cur.execute(
        """INSERT INTO notification_deliveries
               (outbox_id, attempted_at, ok, error, response, message_id, worker)
           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (outbox_id, at, ok, error, response, message_id, worker),
    )
