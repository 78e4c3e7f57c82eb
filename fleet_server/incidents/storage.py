"""Incidents in PostgreSQL: their lifecycle's writes and the engine's reads
(what people list and read is in ``storage_lists``). At most one unresolved
incident per dedupe key, enforced by a partial unique index: two engines, or
two triggers milliseconds apart, end up with the same incident."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row

from fleet_server.incidents import storage_lists
from fleet_server.incidents.models import Incident, IncidentSpec
from fleet_server.incidents.models import InvalidTransition as InvalidTransition  # noqa: PLC0414

Conn = psycopg.Connection[Any]
Outcome = Literal["opened", "reopened", "existing"]

_COLUMNS = """id, dedupe_key, rule, class AS incident_class, severity, state, board_id,
              site_id, organisation_id, parent_id, title, flapping, opened_at,
              acknowledged_at, resolved_at, reopen_count, title_key, title_params"""


def _one(conn: Conn, sql: str, params: Iterable[Any]) -> Incident | None:
    with conn.cursor(row_factory=class_row(Incident)) as cur:
        return cur.execute(sql, tuple(params)).fetchone()


def get(conn: Conn, incident_id: int) -> Incident | None:
    return _one(conn, f"SELECT {_COLUMNS} FROM incidents WHERE id = %s", (incident_id,))


def unresolved(conn: Conn, dedupe_key: str) -> Incident | None:
    return _one(
        conn,
        f"SELECT {_COLUMNS} FROM incidents WHERE dedupe_key = %s AND state <> 'resolved'",
        (dedupe_key,),
    )


def unresolved_keys(conn: Conn, prefix: str = "") -> dict[str, Incident]:
    with conn.cursor(row_factory=class_row(Incident)) as cur:
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM incidents WHERE state <> 'resolved' AND dedupe_key LIKE %s",
            (prefix + "%",),
        ).fetchall()
    return {row.dedupe_key: row for row in rows}


def add_event(
    conn: Conn,
    incident_id: int,
    at: datetime,
    kind: str,
    *,
    actor: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO incident_events (incident_id, at, kind, actor, note, data)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (incident_id, at, kind, actor, note, json.dumps(data or {})),
    )


def open_incident(
    conn: Conn, spec: IncidentSpec, now: datetime, *, actor: str, reopen_within_s: float = 900
) -> tuple[Incident, Outcome]:
    """Open (or reopen a recently resolved) incident for ``spec.dedupe_key``,
    or return the one already open. Call inside a transaction."""
    existing = unresolved(conn, spec.dedupe_key)
    if existing is not None:
        return existing, "existing"
    try:
        with conn.transaction():  # a savepoint: a lost race must not abort the caller
            recent = _one(
                conn,
                "UPDATE incidents SET state = 'open', resolved_at = NULL, resolved_by = NULL,"
                " resolution_note = NULL, acknowledged_at = NULL, acknowledged_by = NULL,"
                " reopen_count = reopen_count + 1, parent_id = NULL, severity = %s,"
                " title = %s, title_key = %s, title_params = %s, updated_at = %s"
                " WHERE id = (SELECT id FROM incidents WHERE dedupe_key = %s"
                "             AND state = 'resolved' AND resolved_at >= %s"
                "             ORDER BY resolved_at DESC LIMIT 1)"
                f" RETURNING {_COLUMNS}",
                (
                    spec.severity,
                    spec.title,
                    spec.title_key,
                    json.dumps(spec.title_params),
                    now,
                    spec.dedupe_key,
                    now - timedelta(seconds=reopen_within_s),
                ),
            )
            if recent is not None:
                add_event(conn, recent.id, now, "reopened", actor=actor, note=spec.title)
                return recent, "reopened"
            created = _one(
                conn,
                "INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id,"
                " site_id, organisation_id, title, title_key, title_params, details, opened_at,"
                " updated_at)"
                " VALUES (%s, %s, %s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (dedupe_key) WHERE state <> 'resolved' DO NOTHING"
                f" RETURNING {_COLUMNS}",
                (
                    spec.dedupe_key,
                    spec.rule,
                    spec.incident_class,
                    spec.severity,
                    spec.board_id,
                    spec.site_id,
                    spec.organisation_id,
                    spec.title,
                    spec.title_key,
                    json.dumps(spec.title_params),
                    json.dumps(spec.details),
                    now,
                    now,
                ),
            )
    except psycopg.errors.UniqueViolation:
        created = None  # a concurrent open won; the savepoint rolled back: read it
    if created is None:
        raced = unresolved(conn, spec.dedupe_key)
        assert raced is not None, "unique index conflict without an unresolved incident"
        return raced, "existing"
    add_event(conn, created.id, now, "opened", actor=actor, note=spec.title, data=spec.details)
    return created, "opened"


def resolve(
    conn: Conn, incident_id: int, now: datetime, *, actor: str, note: str | None = None
) -> Incident:
    row = _one(
        conn,
        "UPDATE incidents SET state = 'resolved', resolved_at = %s,"
        " resolved_by = %s, resolution_note = %s, updated_at = %s"
        f" WHERE id = %s AND state <> 'resolved' RETURNING {_COLUMNS}",
        (now, actor, note, now, incident_id),
    )
    if row is None:
        raise InvalidTransition(f"incident {incident_id} is already resolved or does not exist")
    add_event(conn, incident_id, now, "resolved", actor=actor, note=note)
    return row


def acknowledge(
    conn: Conn, incident_id: int, now: datetime, *, actor: str, note: str | None = None
) -> Incident:
    row = _one(
        conn,
        "UPDATE incidents SET state = 'acknowledged', acknowledged_at = %s,"
        " acknowledged_by = %s, updated_at = %s"
        f" WHERE id = %s AND state = 'open' RETURNING {_COLUMNS}",
        (now, actor, now, incident_id),
    )
    if row is None:
        raise InvalidTransition(f"incident {incident_id} is not open")
    add_event(conn, incident_id, now, "acknowledged", actor=actor, note=note)
    return row


def mark_flapping(conn: Conn, incident_id: int, now: datetime, *, actor: str) -> None:
    conn.execute(
        "UPDATE incidents SET flapping = true, updated_at = %s WHERE id = %s", (now, incident_id)
    )
    add_event(
        conn,
        incident_id,
        now,
        "flapping",
        actor=actor,
        note="condition keeps opening and clearing: one flapping incident",
    )


def attach(conn: Conn, child_id: int, parent_id: int, now: datetime, *, actor: str) -> None:
    conn.execute(
        "UPDATE incidents SET parent_id = %s, updated_at = %s WHERE id = %s",
        (parent_id, now, child_id),
    )
    add_event(
        conn,
        child_id,
        now,
        "attached",
        actor=actor,
        note=f"part of site incident {parent_id}",
        data={"parent_id": parent_id},
    )


def events(conn: Conn, incident_id: int) -> list[tuple[str, str, str | None]]:
    rows = conn.execute(
        "SELECT kind, actor, note FROM incident_events WHERE incident_id = %s ORDER BY at, id",
        (incident_id,),
    ).fetchall()
    return [(str(r[0]), str(r[1]), r[2]) for r in rows]


def unresolved_on_boards(conn: Conn) -> list[tuple[int, str]]:
    """(id, board id) of every unresolved board incident."""
    rows = conn.execute(
        "SELECT id, board_id FROM incidents WHERE state <> 'resolved' AND board_id IS NOT NULL"
    ).fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def release_children(conn: Conn, parent_id: int, now: datetime) -> list[int]:
    """Detach the unresolved incidents attached to ``parent_id``; their ids."""
    rows = conn.execute(
        "UPDATE incidents SET parent_id = NULL, updated_at = %s"
        " WHERE parent_id = %s AND state <> 'resolved' RETURNING id",
        (now, parent_id),
    ).fetchall()
    return [int(r[0]) for r in rows]


def notice_heard(conn: Conn, incident_id: int) -> bool:
    """Whether somebody may have heard that the incident opened: its opened
    notice was sent, is being sent, or was tried before (a worker that died
    after the mail server took it leaves the row pending for a retry)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM notification_outbox WHERE incident_id = %s"
        " AND kind IN ('incident_opened', 'site_incident')"
        " AND (state IN ('sent', 'sending') OR (state = 'pending' AND attempts > 0)))",
        (incident_id,),
    ).fetchone()
    return bool(row and row[0])


def notified(conn: Conn, incident_id: int) -> set[str]:
    """Reminders and escalations already done for an incident (once each,
    even when no route exists, so nothing is retried or logged every pass)."""
    rows = conn.execute(
        "SELECT kind, note FROM incident_events WHERE incident_id = %s"
        " AND kind IN ('notified', 'escalated')",
        (incident_id,),
    ).fetchall()
    return {str(note) if kind == "notified" else "escalated" for kind, note in rows}


#: Where the boards' pages read a board's incidents (storage_lists holds the reads).
of_board = storage_lists.of_board
