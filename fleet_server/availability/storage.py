"""Reading availability as the SQL functions of migration 0016 compute it.

Every figure comes from ``fleet_board_availability``: the closed local days
of the period that migration 0050 keeps (``board_availability_days``, each
day that function's figures) summed with the function run live over the
rest (today, and an edge of the period off a local midnight), or its twin of
migration 0053 (``fleet_board_availability_open``) where the day before is
stored: it starts from that day's stored end state. Sites and
organisations sum their boards' seconds, as ``fleet_site_availability`` and
``fleet_organisation_availability`` do. This module narrows the sites to a
:class:`Scope` (every site by default), adds names and returns rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.availability.days import Stored, stored
from fleet_server.availability.models import (
    BoardAvailability,
    Figures,
    OrganisationAvailability,
    Period,
    SiteAvailability,
)
from fleet_server.localtime import local_day, local_midnight

Conn = psycopg.Connection[Any]
EVERY_SITE = Scope.everything()
#: The longest live part read by the open function: today, or the few days
#: the job has not closed yet.
OPEN_AT_MOST = timedelta(days=3)

_FIGURES = "a.expected_s, a.up_s, a.down_s, a.unknown_s, a.maintenance_s, a.availability"
_SUMS = """sum(p.expected_s) AS expected_s, sum(p.up_s) AS up_s, sum(p.down_s) AS down_s,
           sum(p.unknown_s) AS unknown_s, sum(p.maintenance_s) AS maintenance_s,
           sum(p.up_s) / nullif(sum(p.up_s) + sum(p.down_s), 0) AS availability"""


def _board_figures(
    conn: Conn,
    period: Period,
    exclude_maintenance: bool,
    sites: list[Any],
    boards: Sequence[str] | None = None,
) -> tuple[str, list[Any]]:
    """SQL of every board's figures over ``period`` (board_id, site_id,
    organisation_id and the figures), and its parameters: the stored closed
    days inside the period plus the function over its other parts (``boards``:
    only these boards of ``sites``)."""
    kept = stored(conn)
    first = local_day(period.start)
    if local_midnight(first) < period.start:
        first += timedelta(days=1)
    last = local_day(period.end)  # days before it end by period.end
    live = [(period.start, period.end)]
    parts: list[str] = []
    params: list[Any] = []
    if kept.first_day is not None and kept.through is not None:
        first, last = max(first, kept.first_day), min(last, kept.through)
        # Stored days only when they leave a single live part, the period's
        # end (today): a head before them would be computed by the 0016
        # function, whose cost is per board, not per day (30 days of one
        # site's boards: 6 ms all live, 27 ms as head, days and tail).
        if first < last and local_midnight(first) <= period.start:
            live = [(local_midnight(last), period.end)]
            x = "_x" if exclude_maintenance else ""
            only = "" if boards is None else " AND d.board_id = ANY (%s::text[])"
            parts.append(
                f"""SELECT d.board_id, b.site_id, s.organisation_id,
                           d.expected{x}_s AS expected_s, d.up{x}_s AS up_s,
                           d.down{x}_s AS down_s, d.unknown{x}_s AS unknown_s, d.maintenance_s
                    FROM board_availability_days d JOIN boards b ON b.id = d.board_id
                    JOIN sites s ON s.id = b.site_id
                    WHERE b.site_id = ANY (%s::bigint[]) AND d.day >= %s AND d.day < %s{only}"""
            )
            params += [sites, first, last, *([] if boards is None else [list(boards)])]
    for start, end in live:
        if start < end:
            parts.append(_live_part(kept, start, end, boards))
            params += [start, end, exclude_maintenance, sites]
            params += [] if boards is None else [list(boards)]
    # each part carries the board's (current) site and organisation: no
    # join of the union with boards, which PostgreSQL hashed whole
    union = " UNION ALL ".join(parts)
    sql = f"""SELECT p.board_id, p.site_id, p.organisation_id, {_SUMS}
              FROM ({union}) p
              GROUP BY p.board_id, p.site_id, p.organisation_id"""
    return sql, params


def _live_part(kept: Stored, start: datetime, end: datetime, boards: Sequence[str] | None) -> str:
    """The 0016 function's figures over [start, end). A short part (today)
    whose previous day is stored is read by fleet_board_availability_open
    (migration 0053): the stored end states and the part's changes of the
    whole fleet by set (10,000 boards' today in ~1/3 of the time). Otherwise
    the 0016 function probes each board, which costs less over a long period
    (the open function would read every board's changes of every day)."""
    before = local_day(start) - timedelta(days=1)
    opens = (
        kept.first_day is not None
        and kept.through is not None
        and kept.first_day <= before < kept.through
        and end - start <= OPEN_AT_MOST
    )
    function = "fleet_board_availability_open" if opens else "fleet_board_availability"
    only = "" if boards is None else " WHERE a.board_id = ANY (%s::text[])"
    return f"""SELECT a.board_id, a.site_id, a.organisation_id,
                      a.expected_s, a.up_s, a.down_s, a.unknown_s, a.maintenance_s
               FROM {function}(%s, %s, %s, %s::bigint[]) a{only}"""


def visible_sites(
    conn: Conn,
    scope: Scope,
    site_id: int | None = None,
    organisation_id: int | None = None,
    *,
    board_ids: Sequence[str] | None = None,
) -> list[Any]:
    """The site ids to compute, as one array parameter: never NULL (which
    the functions read as every site), empty when nothing is visible;
    ``board_ids``: only the sites of these boards.
    Read first and passed as a value, not a subquery: PostgreSQL inlines the
    SQL functions only when no argument holds a subquery, and a function it
    does not inline is planned for any sites (50 ms for one site's four
    boards on 10,000 boards, against 0.5 ms inlined)."""
    clause, params = sites_condition(scope, "s.id")
    where = [f"({clause})"]
    args = list(params)
    if site_id is not None:
        where.append("s.id = %s")
        args.append(site_id)
    if organisation_id is not None:
        where.append("s.organisation_id = %s")
        args.append(organisation_id)
    if board_ids is not None:
        where.append("s.id IN (SELECT b.site_id FROM boards b WHERE b.id = ANY (%s::text[]))")
        args.append(list(board_ids))
    row = conn.execute(
        "SELECT coalesce(array_agg(s.id), '{}'::bigint[]) FROM sites s"
        f" WHERE {' AND '.join(where)}",
        args,
    ).fetchone()
    return row[0] if row else []


def _figures(row: Sequence[Any]) -> Figures:
    expected, up, down, unknown, maintenance, availability = row
    return Figures(
        expected_s=float(expected),
        up_s=float(up),
        down_s=float(down),
        unknown_s=float(unknown),
        maintenance_s=float(maintenance),
        availability=None if availability is None else float(availability),
    )


def board_availability(
    conn: Conn,
    period: Period,
    *,
    exclude_maintenance: bool = True,
    scope: Scope = EVERY_SITE,
    site_id: int | None = None,
    organisation_id: int | None = None,
    board_ids: Sequence[str] | None = None,
    sites: Sequence[int] | None = None,
) -> list[BoardAvailability]:
    """Every board of the visible sites with a period inside ``period``, by
    id (``board_ids``: only these). ``sites``: the site ids to read, already
    narrowed by :func:`visible_sites` (the scope and filters are then unused)."""
    if sites is None:
        sites = visible_sites(conn, scope, site_id, organisation_id, board_ids=board_ids)
    figures, params = _board_figures(conn, period, exclude_maintenance, list(sites), board_ids)
    rows = conn.execute(
        f"""SELECT a.board_id, b.name, a.site_id, s.code, s.name,
                   a.organisation_id, o.code, o.name, {_FIGURES}
            FROM ({figures}) a
            JOIN boards b ON b.id = a.board_id
            JOIN sites s ON s.id = a.site_id
            JOIN organisations o ON o.id = a.organisation_id
            ORDER BY a.board_id""",
        params,
        prepare=False,  # a custom plan for these sites, never a generic one (51 ms)
    ).fetchall()
    return [
        BoardAvailability(
            board_id=r[0],
            board_name=r[1],
            site_id=r[2],
            site_code=r[3],
            site_name=r[4],
            organisation_id=r[5],
            organisation_code=r[6],
            organisation_name=r[7],
            figures=_figures(r[8:]),
        )
        for r in rows
    ]


def site_availability(
    conn: Conn,
    period: Period,
    *,
    exclude_maintenance: bool = True,
    scope: Scope = EVERY_SITE,
    site_id: int | None = None,
    organisation_id: int | None = None,
    sites: Sequence[int] | None = None,
) -> list[SiteAvailability]:
    """Every visible site with boards in ``period``, by code: its boards'
    seconds summed. ``sites``: as for :func:`board_availability`."""
    if sites is None:
        sites = visible_sites(conn, scope, site_id, organisation_id)
    figures, params = _board_figures(conn, period, exclude_maintenance, list(sites))
    rows = conn.execute(
        f"""SELECT a.site_id, s.code, s.name, a.organisation_id, o.code, o.name, a.boards,
                   {_FIGURES}
            FROM (SELECT p.site_id, p.organisation_id, count(*)::integer AS boards, {_SUMS}
                  FROM ({figures}) p GROUP BY p.site_id, p.organisation_id) a
            JOIN sites s ON s.id = a.site_id
            JOIN organisations o ON o.id = a.organisation_id
            ORDER BY s.code""",
        params,
        prepare=False,  # a custom plan for these sites, never a generic one (51 ms)
    ).fetchall()
    return [
        SiteAvailability(
            site_id=r[0],
            site_code=r[1],
            site_name=r[2],
            organisation_id=r[3],
            organisation_code=r[4],
            organisation_name=r[5],
            boards=r[6],
            figures=_figures(r[7:]),
        )
        for r in rows
    ]


def organisation_availability(
    conn: Conn,
    period: Period,
    *,
    exclude_maintenance: bool = True,
    scope: Scope = EVERY_SITE,
    site_id: int | None = None,
    organisation_id: int | None = None,
    sites: Sequence[int] | None = None,
) -> list[OrganisationAvailability]:
    """Every organisation with visible boards in ``period`` (only the visible
    sites count): its boards' seconds summed. ``sites``: as for
    :func:`board_availability`."""
    if sites is None:
        sites = visible_sites(conn, scope, site_id, organisation_id)
    figures, params = _board_figures(conn, period, exclude_maintenance, list(sites))
    rows = conn.execute(
        f"""SELECT a.organisation_id, o.code, o.name, a.sites, a.boards, {_FIGURES}
            FROM (SELECT p.organisation_id, count(DISTINCT p.site_id)::integer AS sites,
                         count(*)::integer AS boards, {_SUMS}
                  FROM ({figures}) p GROUP BY p.organisation_id) a
            JOIN organisations o ON o.id = a.organisation_id
            ORDER BY o.code""",
        params,
        prepare=False,  # a custom plan for these sites, never a generic one (51 ms)
    ).fetchall()
    return [
        OrganisationAvailability(
            organisation_id=r[0],
            organisation_code=r[1],
            organisation_name=r[2],
            sites=r[3],
            boards=r[4],
            figures=_figures(r[5:]),
        )
        for r in rows
    ]


def organisation_id(conn: Conn, code: str) -> int | None:
    """The id of the organisation with this code, or None."""
    row = conn.execute("SELECT id FROM organisations WHERE code = %s", (code,)).fetchone()
    return None if row is None else int(row[0])
