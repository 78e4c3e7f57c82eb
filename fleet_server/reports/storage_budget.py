"""SQL of the report's budget (II.5): ticket costs per organisation and line,
the amounts people enter (migration 0030), and the deadline reminders' marks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from fleet_server.reports.budget import Basis, Entry, Line

Conn = psycopg.Connection[Any]

_ENTRY = "organisation_id, year, line, basis, amount_vnd, note, entered_by, entered_at"


def _entry(row: Sequence[Any]) -> Entry:
    return Entry(
        organisation_id=row[0],
        year=row[1],
        line=row[2],
        basis=row[3],
        amount_vnd=Decimal(row[4]),
        note=row[5],
        entered_by=row[6],
        entered_at=row[7],
    )


def ticket_costs(
    conn: Conn, start: datetime, end: datetime, site_ids: list[int]
) -> dict[tuple[int, str], Decimal]:
    """Costs recorded on tickets in [start, end) at these sites, in whole
    đồng, per (organisation of the ticket's site, category)."""
    rows = conn.execute(
        "SELECT s.organisation_id, c.category, sum(round(c.quantity * c.amount_vnd))"
        "  FROM ticket_costs c JOIN tickets t ON t.id = c.ticket_id"
        "  JOIN sites s ON s.id = t.site_id"
        " WHERE c.recorded_at >= %s AND c.recorded_at < %s AND t.site_id = ANY(%s)"
        " GROUP BY 1, 2",
        (start, end, site_ids),
    ).fetchall()
    return {(r[0], r[1]): Decimal(r[2]).quantize(Decimal(1)) for r in rows}


def entries(conn: Conn, year: int, basis: Basis, organisation_id: int | None = None) -> list[Entry]:
    """The entries of a year and basis: one organisation's, or every one."""
    rows = conn.execute(
        f"SELECT {_ENTRY} FROM report_budget_entries"
        " WHERE year = %(year)s AND basis = %(basis)s"
        "   AND (%(org)s::bigint IS NULL OR organisation_id = %(org)s)"
        " ORDER BY organisation_id, line",
        {"year": year, "basis": basis, "org": organisation_id},
    ).fetchall()
    return [_entry(r) for r in rows]


def entry(conn: Conn, organisation_id: int, year: int, line: Line, basis: Basis) -> Entry | None:
    row = conn.execute(
        f"SELECT {_ENTRY} FROM report_budget_entries"
        " WHERE organisation_id = %s AND year = %s AND line = %s AND basis = %s FOR UPDATE",
        (organisation_id, year, line, basis),
    ).fetchone()
    return None if row is None else _entry(row)


def put_entry(conn: Conn, e: Entry) -> Entry:
    row = conn.execute(
        f"INSERT INTO report_budget_entries ({_ENTRY})"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (organisation_id, year, line, basis) DO UPDATE SET"
        "   amount_vnd = EXCLUDED.amount_vnd, note = EXCLUDED.note,"
        "   entered_by = EXCLUDED.entered_by, entered_at = EXCLUDED.entered_at"
        f" RETURNING {_ENTRY}",
        (
            e.organisation_id,
            e.year,
            e.line,
            e.basis,
            e.amount_vnd,
            e.note,
            e.entered_by,
            e.entered_at,
        ),
    ).fetchone()
    assert row is not None
    return _entry(row)


def delete_entry(conn: Conn, organisation_id: int, year: int, line: Line, basis: Basis) -> None:
    conn.execute(
        "DELETE FROM report_budget_entries"
        " WHERE organisation_id = %s AND year = %s AND line = %s AND basis = %s",
        (organisation_id, year, line, basis),
    )


def organisations_with_entries(conn: Conn, years: Sequence[int]) -> list[int]:
    """Organisations that entered an amount for these years (the Department
    may produce content without owning a site)."""
    rows = conn.execute(
        "SELECT DISTINCT organisation_id FROM report_budget_entries WHERE year = ANY(%s)",
        (list(years),),
    ).fetchall()
    return [r[0] for r in rows]


def site_organisations(conn: Conn, site_ids: list[int]) -> list[int]:
    rows = conn.execute(
        "SELECT DISTINCT organisation_id FROM sites WHERE id = ANY(%s)", (site_ids,)
    ).fetchall()
    return [r[0] for r in rows]


# -- deadline reminders (Điều 14.1, 14.2) -------------------------------------------


def operating_organisations(conn: Conn) -> list[tuple[int, str, str]]:
    """(id, code, name) of the organisations with an enabled board at one of
    their sites: they report under Điều 14.1."""
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT o.id, o.code, o.name FROM organisations o"
            " WHERE EXISTS (SELECT 1 FROM sites s JOIN boards b ON b.site_id = s.id"
            "               WHERE s.organisation_id = o.id AND b.enabled)"
            " ORDER BY o.code"
        ).fetchall()
    ]


def departments(conn: Conn) -> list[tuple[int, str, str]]:
    """(id, code, name) of the provincial department(s): they compile (14.2)."""
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT id, code, name FROM organisations WHERE kind = 'provincial_department'"
            " ORDER BY code"
        ).fetchall()
    ]


def mark_reminder(
    conn: Conn, year: int, deadline: str, organisation_id: int | None, now: datetime
) -> bool:
    """Mark the reminder as queued; False when it was queued before."""
    row = conn.execute(
        "INSERT INTO report_reminders (year, deadline, organisation_id, queued_at, recipients)"
        " VALUES (%s, %s, %s, %s, 0) ON CONFLICT DO NOTHING RETURNING 1",
        (year, deadline, organisation_id or 0, now),
    ).fetchone()
    return row is not None


def set_recipients(
    conn: Conn, year: int, deadline: str, organisation_id: int | None, count: int
) -> None:
    conn.execute(
        "UPDATE report_reminders SET recipients = %s"
        " WHERE year = %s AND deadline = %s AND organisation_id = %s",
        (count, year, deadline, organisation_id or 0),
    )
