"""The boards and sites of one page of availability, in key order (board id,
site code), chosen before any figure is computed: a page of 50 boards
computes 50 boards' figures, not the scope's 10,000 (docs/api.md).

A board is listed when its period meets the period asked for, as
``fleet_board_availability`` (migration 0016) decides it: from its
installation day's local midnight (else its creation) to now, or to its
disabling while it is disabled. A site is listed when one of its boards is."""

from __future__ import annotations

from typing import Any

from fleet_server.availability.models import Period
from fleet_server.availability.storage import Conn

#: The site ids in scope; None: every site.
Sites = list[Any] | None
#: The board ``b``'s period meets [%s, %s): the two ends of the period.
#: ``sites`` below: the site ids in scope, None for every site (a province-wide
#: caller without filters: no 2,500-element array to test each board against).
_MEETS = """greatest(%s::timestamptz,
                     coalesce(b.installed_on::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh',
                              b.created_at))
            < least(%s::timestamptz, now(),
                    CASE WHEN NOT b.enabled THEN coalesce(b.disabled_at, '-infinity') END)"""


def boards(
    conn: Conn, period: Period, sites: Sites, *, after: str | None, limit: int, offset: int
) -> list[tuple[str, int]]:
    """The boards of ``sites`` listed over ``period`` (id, site id), after the
    board ``after``, ``offset`` skipped, at most ``limit``."""
    where, params = _in_sites("b.site_id", sites)
    if after is not None:
        where += " AND b.id > %s"
        params.append(after)
    rows = conn.execute(
        f"""SELECT b.id, b.site_id FROM boards b WHERE {_MEETS} AND {where}
            ORDER BY b.id LIMIT %s OFFSET %s""",
        (period.start, period.end, *params, limit, offset),
    ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def count_boards(conn: Conn, period: Period, sites: Sites) -> int:
    where, params = _in_sites("b.site_id", sites)
    row = conn.execute(
        f"SELECT count(*) FROM boards b WHERE {_MEETS} AND {where}",
        (period.start, period.end, *params),
    ).fetchone()
    return int(row[0]) if row else 0


def _in_sites(column: str, sites: Sites) -> tuple[str, list[Any]]:
    return ("TRUE", []) if sites is None else (f"{column} = ANY (%s::bigint[])", [sites])


def sites(
    conn: Conn, period: Period, sites: Sites, *, after: str | None, limit: int, offset: int
) -> list[int]:
    """The ids of ``sites`` listed over ``period``, by code, after the site
    coded ``after``, ``offset`` skipped, at most ``limit``."""
    where, params = _in_sites("s.id", sites)
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


def count_sites(conn: Conn, period: Period, sites: Sites) -> int:
    where, params = _in_sites("b.site_id", sites)
    row = conn.execute(
        f"SELECT count(DISTINCT b.site_id) FROM boards b WHERE {_MEETS} AND {where}",
        (period.start, period.end, *params),
    ).fetchone()
    return int(row[0]) if row else 0
