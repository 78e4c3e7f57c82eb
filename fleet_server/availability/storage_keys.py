"""The boards and sites of one page of availability, in key order (board id,
site code), chosen before any figure is computed: a page of 50 boards
computes 50 boards' figures, not the scope's 10,000 (docs/api.md).

A board is listed when its period meets the period asked for, as
``fleet_board_availability`` (migration 0016) decides it: from its
installation day's local midnight (else its creation) to now, or to its
disabling while it is disabled. A site is listed when one of its boards is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.availability.models import Period
from fleet_server.availability.storage import Conn


@dataclass(frozen=True, slots=True)
class Visible:
    """The sites a request reads: the caller's scope and the request's
    filters, tested in the page's query itself (reading the ids first and
    passing them back, 836 for an operator, cost more than the page)."""

    scope: Scope
    site_id: int | None = None
    organisation_id: int | None = None

    def condition(self, site: str) -> tuple[str, list[Any]]:
        """SQL true for these sites; ``site``: the site id column tested."""
        clause, params = sites_condition(self.scope, site)
        parts, args = [clause], list(params)
        if self.site_id is not None:
            parts.append(f"{site} = %s")
            args.append(self.site_id)
        if self.organisation_id is not None:
            parts.append(f"{site} IN (SELECT id FROM sites WHERE organisation_id = %s)")
            args.append(self.organisation_id)
        return " AND ".join(parts), args


#: The board ``b``'s period meets [%s, %s): the two ends of the period.
_MEETS = """greatest(%s::timestamptz,
                     coalesce(b.installed_on::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh',
                              b.created_at))
            < least(%s::timestamptz, now(),
                    CASE WHEN NOT b.enabled THEN coalesce(b.disabled_at, '-infinity') END)"""


def boards(
    conn: Conn, period: Period, sites: Visible, *, after: str | None, limit: int, offset: int
) -> list[tuple[str, int]]:
    """The boards of the ``sites`` listed over ``period`` (id, site id), after the
    board ``after``, ``offset`` skipped, at most ``limit``."""
    where, params = sites.condition("b.site_id")
    if after is not None:
        where += " AND b.id > %s"
        params.append(after)
    rows = conn.execute(
        f"""SELECT b.id, b.site_id FROM boards b WHERE {_MEETS} AND {where}
            ORDER BY b.id LIMIT %s OFFSET %s""",
        (period.start, period.end, *params, limit, offset),
    ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def count_boards(conn: Conn, period: Period, sites: Visible) -> int:
    where, params = sites.condition("b.site_id")
    row = conn.execute(
        f"SELECT count(*) FROM boards b WHERE {_MEETS} AND {where}",
        (period.start, period.end, *params),
    ).fetchone()
    return int(row[0]) if row else 0


def sites(
    conn: Conn, period: Period, sites: Visible, *, after: str | None, limit: int, offset: int
) -> list[int]:
    """The ids of ``sites`` listed over ``period``, by code, after the site
    coded ``after``, ``offset`` skipped, at most ``limit``."""
    where, params = sites.condition("s.id")
    if after is not None:
        where += " AND s.code > %s"
        params.append(after)
    rows = conn.execute(
        f"""SELECT s.id FROM sites s
            WHERE EXISTS (SELECT 1 FROM boards b WHERE b.site_id = s.id AND {_MEETS})
              AND {where}
            ORDER BY s.code LIMIT %s OFFSET %s""",
        (period.start, period.end, *params, limit, offset),
    ).fetchall()
    return [int(r[0]) for r in rows]


def count_sites(conn: Conn, period: Period, sites: Visible) -> int:
    where, params = sites.condition("b.site_id")
    row = conn.execute(
        f"SELECT count(DISTINCT b.site_id) FROM boards b WHERE {_MEETS} AND {where}",
        (period.start, period.end, *params),
    ).fetchone()
    return int(row[0]) if row else 0
