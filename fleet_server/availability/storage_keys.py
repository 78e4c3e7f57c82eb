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

#: The board ``b``'s period meets [%s, %s): the two ends of the period.
_MEETS = """greatest(%s::timestamptz,
                     coalesce(b.installed_on::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh',
                              b.created_at))
            < least(%s::timestamptz, now(),
                    CASE WHEN NOT b.enabled THEN coalesce(b.disabled_at, '-infinity') END)"""


def boards(
    conn: Conn, period: Period, sites: list[Any], *, after: str | None, limit: int, offset: int
) -> list[tuple[str, int]]:
    """The boards of ``sites`` listed over ``period`` (id, site id), after the
    board ``after``, ``offset`` skipped, at most ``limit``."""
    seek, params = ("", []) if after is None else (" AND b.id > %s", [after])
    rows = conn.execute(
        f"""SELECT b.id, b.site_id FROM boards b
            WHERE b.site_id = ANY (%s::bigint[]) AND {_MEETS}{seek}
            ORDER BY b.id LIMIT %s OFFSET %s""",
        (sites, period.start, period.end, *params, limit, offset),
    ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def count_boards(conn: Conn, period: Period, sites: list[Any]) -> int:
    row = conn.execute(
        f"SELECT count(*) FROM boards b WHERE b.site_id = ANY (%s::bigint[]) AND {_MEETS}",
        (sites, period.start, period.end),
    ).fetchone()
    return int(row[0]) if row else 0


_LISTED_SITE = f"""s.id = ANY (%s::bigint[])
    AND EXISTS (SELECT 1 FROM boards b WHERE b.site_id = s.id AND {_MEETS})"""


def sites(
    conn: Conn, period: Period, sites: list[Any], *, after: str | None, limit: int, offset: int
) -> list[int]:
    """The ids of ``sites`` listed over ``period``, by code, after the site
    coded ``after``, ``offset`` skipped, at most ``limit``."""
    seek, params = ("", []) if after is None else (" AND s.code > %s", [after])
    rows = conn.execute(
        f"""SELECT s.id FROM sites s WHERE {_LISTED_SITE}{seek}
            ORDER BY s.code LIMIT %s OFFSET %s""",
        (sites, period.start, period.end, *params, limit, offset),
    ).fetchall()
    return [int(r[0]) for r in rows]


def count_sites(conn: Conn, period: Period, sites: list[Any]) -> int:
    row = conn.execute(
        f"SELECT count(*) FROM sites s WHERE {_LISTED_SITE}", (sites, period.start, period.end)
    ).fetchone()
    return int(row[0]) if row else 0
