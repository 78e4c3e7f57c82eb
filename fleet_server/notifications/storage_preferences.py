"""SQL of people's notification preferences and the contact that is theirs
(``contacts.user_id``). Every function runs in the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.notifications.preferences import Preferences

Conn = psycopg.Connection[Any]


def load_preferences(
    cur: psycopg.Cursor[tuple[Any, ...]], contact_ids: Collection[int]
) -> dict[int, Preferences]:
    """The preferences of those contacts that have any (enqueue's cursor)."""
    if not contact_ids:
        return {}
    cur.execute(
        """SELECT contact_id, channels, severities, quiet_from, quiet_until
           FROM notification_preferences WHERE contact_id = ANY(%s)""",
        (list(contact_ids),),
    )
    return {
        row[0]: Preferences(row[0], tuple(row[1]), frozenset(row[2]), row[3], row[4])
        for row in cur.fetchall()
    }


_MINE = """
    SELECT c.id AS contact_id, c.name, c.email, c.phone, c.telegram_chat_id,
           c.zalo_consent_at, c.language, p.channels, p.severities, p.quiet_from,
           p.quiet_until, p.updated_at
    FROM contacts c LEFT JOIN notification_preferences p ON p.contact_id = c.id
    WHERE c.user_id = %s
"""


def mine(conn: Conn, user_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    """The user's contact with their preferences (NULLs without), or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_MINE + (" FOR UPDATE OF c" if lock else ""), (user_id,)).fetchone()


def user_email(conn: Conn, user_id: int) -> str | None:
    row = conn.execute("SELECT email FROM users WHERE id = %s", (user_id,)).fetchone()
    return None if row is None else row[0]


def insert_contact_for(
    conn: Conn,
    user_id: int,
    *,
    name: str,
    email: str | None,
    organisation_id: int | None,
    language: str,
    now: datetime,
) -> int:
    row = conn.execute(
        "INSERT INTO contacts (organisation_id, kind, name, email, language, user_id,"
        " created_at, updated_at) VALUES (%s, 'person', %s, %s, %s, %s, %s, %s) RETURNING id",
        (organisation_id, name, email, language, user_id, now, now),
    ).fetchone()
    assert row is not None
    return int(row[0])


def update_addresses(
    conn: Conn,
    contact_id: int,
    *,
    phone: str | None,
    telegram_chat_id: str | None,
    zalo_consent_at: datetime | None,
    now: datetime,
) -> None:
    conn.execute(
        "UPDATE contacts SET phone = %s, telegram_chat_id = %s, zalo_consent_at = %s,"
        " updated_at = %s WHERE id = %s",
        (phone, telegram_chat_id, zalo_consent_at, now, contact_id),
    )


def upsert(conn: Conn, preferences: Preferences, *, now: datetime) -> None:
    conn.execute(
        """INSERT INTO notification_preferences
               (contact_id, channels, severities, quiet_from, quiet_until, updated_at)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (contact_id) DO UPDATE SET
               channels = excluded.channels, severities = excluded.severities,
               quiet_from = excluded.quiet_from, quiet_until = excluded.quiet_until,
               updated_at = excluded.updated_at""",
        (
            preferences.contact_id,
            list(preferences.channels),
            sorted(preferences.severities),
            preferences.quiet_from,
            preferences.quiet_until,
            now,
        ),
    )
