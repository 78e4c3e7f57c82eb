"""Incidents in PostgreSQL (all the feature's SQL). At most one unresolved
incident per dedupe key, enforced by a partial unique index: two engines, or
two triggers milliseconds apart, end up with the same incident."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row, dict_row

from fleet_server.access.keyset import Key, Keyset
from fleet_server.access.pagination import CursorPage, ListParams, add_equal, fetch_keyset_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import incidents_condition
from fleet_server.incidents.models import Incident, IncidentFilter, IncidentSpec
from fleet_server.incidents.models import InvalidTransition as InvalidTransition  # noqa: PLC0414
from fleet_server.incidents.schemas import IncidentEvent, IncidentOut

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


# -- what the API shows ---------------------------------------------------------------

_SELECT = """
    SELECT i.id, i.rule, i.class AS incident_class, i.severity, i.state, i.board_id,
           b.name AS board_name, i.site_id, s.name AS site_name, s.name_en AS site_name_en,
           i.organisation_id,
           i.parent_id, i.title, i.title_key, i.title_params, i.details, i.flapping,
           i.opened_at, i.acknowledged_at,
           i.acknowledged_by, i.resolved_at, i.resolved_by, i.resolution_note, i.reopen_count,
           i.reported_by,
           CASE i.severity WHEN 'critical' THEN 3 WHEN 'major' THEN 2 WHEN 'minor' THEN 1
                ELSE 0 END AS severity_rank
    FROM incidents i
    LEFT JOIN boards b ON b.id = i.board_id
    LEFT JOIN sites s ON s.id = i.site_id
"""
#: The sorts of the list; each ends with the id, so equal keys still have one order.
KEYSET = Keyset(
    name="incidents",
    tiebreak=Key("id", "int"),
    sorts={
        "id": Key("id", "int"),
        "opened_at": Key("opened_at", "timestamp"),
        # worst first, then newest: the index on (rank, opened_at, id) serves both
        "severity_rank": (Key("severity_rank", "int"), Key("opened_at", "timestamp")),
        "state": Key("state", "text"),
        "rule": Key("rule", "text"),
        "board_id": Key("board_id", "text", nullable=True),
        "site_name": Key("site_name", "text", nullable=True),
    },
    default=("severity_rank",),  # worst, then newest first
    aliases={"severity": "severity_rank"},
)


def page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    filters: IncidentFilter,
) -> CursorPage[IncidentOut]:
    """One page of the incidents ``scope`` sees, worst and newest first."""
    f = filters
    clause, params = incidents_condition(scope, "i.site_id", "i.rule")
    where = [clause]
    if f.states:
        where.append("i.state = ANY(%s)")
        params.append(list(f.states))
    if f.severities:
        where.append("i.severity = ANY(%s)")
        params.append(list(f.severities))
    add_equal(
        where,
        params,
        (
            ("i.class", f.incident_class),
            ("i.board_id", f.board_id),
            ("i.site_id", f.site_id),
            ("i.rule", f.rule),
        ),
    )
    if f.parent_id is not None:
        where.append("i.parent_id = %s")
        params.append(f.parent_id)
    if f.top_level:
        where.append("i.parent_id IS NULL")
    if f.since is not None:
        where.append("i.opened_at >= %s")
        params.append(f.since)
    if f.until is not None:
        where.append("i.opened_at < %s")
        params.append(f.until)
    return fetch_keyset_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        keyset=KEYSET,
        model=IncidentOut,
    )


def of_board(conn: Conn, scope: Scope, board_id: str) -> list[IncidentOut]:
    """The board's unresolved incidents ``scope`` sees, worst first."""
    clause, params = incidents_condition(scope, "i.site_id", "i.rule")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"{_SELECT} WHERE i.board_id = %s AND i.state <> 'resolved' AND {clause}"
            " ORDER BY severity_rank DESC, i.opened_at DESC LIMIT 100",
            [board_id, *params],
        ).fetchall()
    return [IncidentOut.model_validate(r) for r in rows]


def visible(conn: Conn, scope: Scope, incident_id: int) -> IncidentOut | None:
    """The incident, if it exists and ``scope`` sees it."""
    clause, params = incidents_condition(scope, "i.site_id", "i.rule")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE i.id = %s AND {clause}", [incident_id, *params]
        ).fetchone()
    return None if row is None else IncidentOut.model_validate(row)


def timeline(conn: Conn, incident_id: int) -> list[IncidentEvent]:
    """The incident's events, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT at, kind, actor, note, data FROM incident_events"
            " WHERE incident_id = %s ORDER BY at, id",
            (incident_id,),
        ).fetchall()
    return [IncidentEvent(**r) for r in rows]


def children(conn: Conn, scope: Scope, parent_ids: list[int]) -> dict[int, list[IncidentOut]]:
    """The incidents attached to each of ``parent_ids`` that ``scope`` sees,
    worst first (a site incident's boards)."""
    if not parent_ids:
        return {}
    clause, params = incidents_condition(scope, "i.site_id", "i.rule")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"{_SELECT} WHERE i.parent_id = ANY(%s) AND {clause}"
            " ORDER BY severity_rank DESC, i.board_id, i.id LIMIT 1000",
            [parent_ids, *params],
        ).fetchall()
    found: dict[int, list[IncidentOut]] = {}
    for row in rows:
        incident = IncidentOut.model_validate(row)
        found.setdefault(int(row["parent_id"]), []).append(incident)
    return found
