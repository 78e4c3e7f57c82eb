"""SQL of the notification outbox, the worker side: claiming due rows,
renewing and taking back claims, recording each attempt.

Each function runs its own short transaction and never holds a lock while a
transport talks to the network. The queue side (``enqueue`` and friends,
in the caller's transaction) is in ``storage``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from fleet_server.notifications.models import OutboxRow
from fleet_server.notifications.routing import plan_messages

log = logging.getLogger(__name__)

# Any row factory: our cursors use tuples.
Conn = psycopg.Connection[Any]


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
               RETURNING id, last_error, channel""",
            {"now": now, "before": now - lease},
        )
        expired = cur.fetchall()
        for outbox_id, error, channel in expired:
            record_attempt(
                cur, outbox_id, now, ok=False, error=error, worker=worker, channel=channel
            )
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
       c.phone, c.telegram_chat_id, c.zalo_consent_at, o.fallback, o.tried,
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
        phone=r[16],
        telegram_chat_id=r[17],
        zalo_consent_at=r[18],
        fallback=tuple(r[19]),
        tried=tuple(r[20]),
        earlier=tuple(r[21]),
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
    channel: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """Mark rows sent. A row whose claim was taken back while we sent (we
    stalled past the lease) is marked too if nobody has claimed it again
    since: it was delivered, a second copy would only be a duplicate."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """UPDATE notification_outbox
               SET state = 'sent', sent_at = %s, message_id = %s, last_error = NULL,
                   claimed_by = NULL, claimed_at = NULL, provider_message_id = %s
               WHERE id = ANY(%s)
                 AND (state = 'pending' OR (state = 'sending' AND claimed_by = %s))""",
            (at, message_id, provider_message_id, list(ids), worker),
        )
        if cur.rowcount != len(ids):
            log.warning(
                "outbox %s sent, but %d row(s) are being sent by another worker",
                ids,
                len(ids) - cur.rowcount,
            )
        for outbox_id in ids:
            record_attempt(
                cur,
                outbox_id,
                at,
                ok=True,
                response=response,
                message_id=message_id,
                worker=worker,
                channel=channel,
                provider_message_id=provider_message_id,
            )


def record_failure(
    conn: Conn,
    retry_at: Mapping[int, datetime | None],
    *,
    at: datetime,
    error: str,
    message_id: str | None,
    worker: str,
    channel: str | None = None,
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
            record_attempt(
                cur,
                outbox_id,
                at,
                ok=False,
                error=error,
                message_id=message_id,
                worker=worker,
                channel=channel,
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


def record_attempt(
    cur: psycopg.Cursor[tuple[Any, ...]],
    outbox_id: int,
    at: datetime,
    *,
    ok: bool,
    worker: str,
    error: str | None = None,
    response: str | None = None,
    message_id: str | None = None,
    channel: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """One ``notification_deliveries`` row: to whom (the row's contact), on
    which channel, when, with what result and why."""
    cur.execute(
        """INSERT INTO notification_deliveries
               (outbox_id, attempted_at, ok, error, response, message_id, worker, channel,
                provider_message_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s,
                   coalesce(%s, (SELECT channel FROM notification_outbox WHERE id = %s)), %s)""",
        (
            outbox_id,
            at,
            ok,
            error,
            response,
            message_id,
            worker,
            channel,
            outbox_id,
            provider_message_id,
        ),
    )
