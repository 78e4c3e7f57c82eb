"""SQL of the tickets the platform opens by itself: preventive schedules
(what the engine reads, and the API's lists and changes) and the link that
says an incident has its ticket."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.localtime import LOCAL_TZ
from fleet_server.tickets.schemas_preventive import ScheduleOut

Conn = psycopg.Connection[Any]


def incident_has_ticket(conn: Conn, incident_id: int) -> bool:
    """Whether a ticket was ever linked to the incident (perhaps closed since)."""
    row = conn.execute(
        "SELECT 1 FROM ticket_incidents WHERE incident_id = %s", (incident_id,)
    ).fetchone()
    return row is not None


class DueSchedule(NamedTuple):
    id: int
    board_id: str | None
    site_id: int
    title: str
    every_days: int
    next_due_on: date
    priority: str
    checklist: str


def due_schedules(conn: Conn, now: datetime) -> list[DueSchedule]:
    """Preventive schedules due by ``now``'s Vietnam date, locked (a site
    schedule has no board)."""
    rows = conn.execute(
        """SELECT p.id, p.board_id, coalesce(p.site_id, b.site_id), p.title, p.every_days,
                  p.next_due_on, p.priority, p.checklist
             FROM preventive_schedules p LEFT JOIN boards b ON b.id = p.board_id
            WHERE p.next_due_on <= %s FOR UPDATE OF p""",
        (now.astimezone(LOCAL_TZ).date(),),
    ).fetchall()
    return [DueSchedule(*r) for r in rows]


def following_due(due: DueSchedule, now: datetime) -> date:
    """The day after ``due``'s ticket: its interval on, past ``now``'s Vietnam
    date (missed periods make one ticket, not one each)."""
    today = now.astimezone(LOCAL_TZ).date()
    following = due.next_due_on + timedelta(days=due.every_days)
    while following <= today:
        following += timedelta(days=due.every_days)
    return following


def set_next_due(conn: Conn, schedule_id: int, due_on: date) -> None:
    conn.execute(
        "UPDATE preventive_schedules SET next_due_on = %s WHERE id = %s", (due_on, schedule_id)
    )


_SELECT = """
    SELECT p.id, p.site_id, p.board_id, s.id AS at_site_id, s.name AS site_name,
           s.name_en AS site_name_en, b.name AS board_name, p.title, p.checklist, p.priority,
           p.every_days, p.next_due_on, p.created_by, p.created_at, p.updated_by, p.updated_at
    FROM preventive_schedules p
    LEFT JOIN boards b ON b.id = p.board_id
    JOIN sites s ON s.id = coalesce(p.site_id, b.site_id)
"""


def list_schedules(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    site_id: int | None = None,
    board_id: str | None = None,
    due_by: date | None = None,
) -> Page[ScheduleOut]:
    """Schedules at the sites ``scope`` sees. ``site_id``: the site's and its
    boards'; ``board_id``: the board's own and its site's."""
    clause, params = sites_condition(scope, "s.id")
    where = [clause]
    if site_id is not None:
        where.append("s.id = %s")
        params.append(site_id)
    if board_id is not None:
        where.append("(p.board_id = %s OR p.site_id = (SELECT site_id FROM boards WHERE id = %s))")
        params += [board_id, board_id]
    if due_by is not None:
        where.append("p.next_due_on <= %s")
        params.append(due_by)
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "next_due_on", "every_days", "created_at"),
        default="next_due_on",
        tiebreak="id",
        model=ScheduleOut,
    )


def get_schedule(
    conn: Conn, scope: Scope, schedule_id: int, *, lock: bool = False
) -> ScheduleOut | None:
    clause, params = sites_condition(scope, "s.id")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE p.id = %s AND {clause}{' FOR UPDATE OF p' if lock else ''}",
            [schedule_id, *params],
        ).fetchone()
    return None if row is None else ScheduleOut.model_validate(row)


def insert_schedule(conn: Conn, values: dict[str, Any], *, actor: str, now: datetime) -> int:
    """A new schedule from the checked ``values``; its id."""
    row = conn.execute(
        """INSERT INTO preventive_schedules (site_id, board_id, title, checklist, priority,
                                             every_days, next_due_on, created_by, created_at)
           VALUES (%(site_id)s, %(board_id)s, %(title)s, %(checklist)s, %(priority)s,
                   %(every_days)s, %(next_due_on)s, %(actor)s, %(now)s)
           RETURNING id""",
        {**values, "actor": actor, "now": now},
    ).fetchone()
    assert row is not None
    return int(row[0])


#: The columns a change may set (never the caller's text in SQL).
CHANGEABLE = ("title", "checklist", "priority", "every_days", "next_due_on")


def update_schedule(
    conn: Conn, schedule_id: int, changes: dict[str, Any], *, actor: str, now: datetime
) -> None:
    columns = [c for c in CHANGEABLE if c in changes]
    sets = ", ".join(f"{c} = %({c})s" for c in columns)
    conn.execute(
        f"UPDATE preventive_schedules SET {sets}, updated_by = %(actor)s, updated_at = %(now)s"
        " WHERE id = %(id)s",
        {**{c: changes[c] for c in columns}, "actor": actor, "now": now, "id": schedule_id},
    )


def delete_schedule(conn: Conn, schedule_id: int) -> None:
    conn.execute("DELETE FROM preventive_schedules WHERE id = %s", (schedule_id,))
