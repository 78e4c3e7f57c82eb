"""SQL of the fallback chain: a message accepted and waiting for its
delivery report, a notice handed to the next channel of its contact's chain,
reports that arrive and confirmations that never do.

Moving on appends the channel to ``tried`` and takes the next from
``fallback``: a notice is never given to the same channel twice. Each step
is a ``notification_deliveries`` row (channel, when, result, why).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import tuple_row

from fleet_server.notifications.channels.base import Delivery
from fleet_server.notifications.storage_worker import record_attempt, record_sent

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
ReportStatus = Literal["delivered", "failed"]

# The next channel of the chain, or failed when there is none. Every
# right-hand side reads the row as it was.
_MOVE_ON = """
    state = CASE WHEN cardinality(fallback) > 0 THEN 'pending' ELSE 'failed' END,
    channel = coalesce(fallback[1], channel),
    fallback = CASE WHEN cardinality(fallback) > 0 THEN fallback[2:] ELSE fallback END,
    tried = tried || channel,
    attempts = CASE WHEN cardinality(fallback) > 0 THEN 0 ELSE attempts END,
    next_attempt_at = greatest(next_attempt_at, %(now)s),
    last_error = %(error)s, claimed_by = NULL, claimed_at = NULL, confirm_by = NULL
"""


def record_accepted(
    conn: Conn,
    ids: Sequence[int],
    *,
    at: datetime,
    confirm_by: datetime,
    message_id: str,
    delivery: Delivery,
    worker: str,
    channel: str,
) -> None:
    """The provider took the message and will report its delivery."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """UPDATE notification_outbox
               SET state = 'confirming', confirm_by = %s, message_id = %s,
                   provider_message_id = %s, last_error = NULL,
                   claimed_by = NULL, claimed_at = NULL
               WHERE id = ANY(%s) AND state = 'sending' AND claimed_by = %s""",
            (confirm_by, message_id, delivery.provider_message_id, list(ids), worker),
        )
        for outbox_id in ids:
            record_attempt(
                cur, outbox_id, at, ok=True, worker=worker, channel=channel,
                response=delivery.reason + ", awaiting the delivery report",
                message_id=message_id, provider_message_id=delivery.provider_message_id,
            )  # fmt: skip


def record_success(
    conn: Conn,
    ids: Sequence[int],
    *,
    at: datetime,
    message_id: str,
    delivery: Delivery,
    worker: str,
    channel: str,
    confirm_by: datetime | None,
) -> None:
    """Sent, or (``confirm_by``) accepted and waiting for the delivery report."""
    if confirm_by is None:
        record_sent(
            conn, ids, at=at, message_id=message_id, response=delivery.reason, worker=worker,
            channel=channel, provider_message_id=delivery.provider_message_id,
        )  # fmt: skip
    else:
        record_accepted(
            conn, ids, at=at, confirm_by=confirm_by, message_id=message_id,
            delivery=delivery, worker=worker, channel=channel,
        )  # fmt: skip


def record_fallback(
    conn: Conn,
    ids: Sequence[int],
    *,
    at: datetime,
    error: str,
    message_id: str | None,
    worker: str,
    channel: str,
) -> list[int]:
    """A failure that hands each row to its next channel (or fails it);
    returns the rows handed on."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            f"""UPDATE notification_outbox SET {_MOVE_ON}
                WHERE id = ANY(%(ids)s) AND state = 'sending' AND claimed_by = %(worker)s
                RETURNING id, state""",
            {"now": at, "error": error[:1000], "ids": list(ids), "worker": worker},
        )
        moved = [int(row_id) for row_id, state in cur.fetchall() if state == "pending"]
        for outbox_id in ids:
            record_attempt(
                cur, outbox_id, at, ok=False, error=error[:1000], message_id=message_id,
                worker=worker, channel=channel,
            )  # fmt: skip
    return moved


def expire_confirmations(conn: Conn, *, now: datetime, worker: str) -> int:
    """Messages accepted but not reported delivered by their ``confirm_by``:
    the next channel of the chain, or, with none left, ``sent`` (the provider
    took it; whether it arrived is unknown, and the record says so).
    Returns how many rows moved on to another channel."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            f"""UPDATE notification_outbox o SET {_MOVE_ON.replace("'failed'", "'sent'")},
                    sent_at = CASE WHEN cardinality(fallback) > 0 THEN NULL ELSE %(now)s END
                WHERE state = 'confirming' AND confirm_by <= %(now)s
                RETURNING id, state, tried[cardinality(tried)]""",
            {"now": now, "error": "delivery not confirmed in time"},
        )
        expired = cur.fetchall()
        for outbox_id, _, channel in expired:
            record_attempt(
                cur, outbox_id, now, ok=False, worker=worker, channel=channel,
                error=f"{channel}: delivery not confirmed in time",
            )  # fmt: skip
    moved = [row[0] for row in expired if row[1] == "pending"]
    if expired:
        log.warning("outbox %s: delivery not confirmed in time", [row[0] for row in expired])
    return len(moved)


def delivery_report(
    conn: Conn,
    channel: str,
    *,
    request_id: str | None,
    provider_message_id: str | None,
    status: ReportStatus,
    error: str | None,
    now: datetime,
) -> list[int]:
    """A provider's delivery report for the message it knows by
    ``request_id`` (our id without the domain) or its own id. Rows no longer
    waiting (timed out and moved on, or reported before) are left alone.
    Returns the rows it settled. Runs in the caller's transaction."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            """SELECT id FROM notification_outbox
               WHERE state = 'confirming' AND channel = %(channel)s
                 AND (split_part(message_id, '@', 1) = %(request)s
                      OR provider_message_id = %(provider)s)
               ORDER BY id FOR UPDATE""",
            {"channel": channel, "request": request_id, "provider": provider_message_id},
        )
        ids = [int(row[0]) for row in cur.fetchall()]
        if not ids:
            return []
        if status == "delivered":
            cur.execute(
                """UPDATE notification_outbox
                   SET state = 'sent', sent_at = %s, confirm_by = NULL, last_error = NULL
                   WHERE id = ANY(%s)""",
                (now, ids),
            )
        else:
            cur.execute(
                f"UPDATE notification_outbox SET {_MOVE_ON} WHERE id = ANY(%(ids)s)",
                {"now": now, "error": f"{channel}: {error or 'not delivered'}", "ids": ids},
            )
        for outbox_id in ids:
            record_attempt(
                cur, outbox_id, now, ok=status == "delivered", worker="delivery-report",
                channel=channel, provider_message_id=provider_message_id,
                response="delivery report: delivered" if status == "delivered" else None,
                error=None if status == "delivered" else f"{channel}: {error or 'not delivered'}",
            )  # fmt: skip
    return ids
