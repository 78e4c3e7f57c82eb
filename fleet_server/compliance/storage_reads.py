"""SQL of what the API and the console read of compliance: the days per
board, a board's play log, and the last days' figures of the reports page.
Every query is narrowed to the sites a :class:`Scope` sees."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.compliance.storage import Conn

M = TypeVar("M", bound=BaseModel)


def days_page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    first: date,
    last: date,
    *,
    board_id: str | None,
    site_id: int | None,
    status: str | None,
    model: type[M],
) -> Page[M]:
    """Compliance days from ``first`` to ``last`` of the boards ``scope`` sees."""
    clause, params = sites_condition(scope, "b.site_id")
    where = [clause, "c.day BETWEEN %s AND %s"]
    params += [first, last]
    add_equal(
        where, params, (("c.board_id", board_id), ("b.site_id", site_id), ("c.status", status))
    )
    select = (
        "SELECT c.board_id, b.name AS board_name, b.site_id, c.day, c.status,"
        " c.morning_minutes, c.afternoon_minutes, c.total_minutes, c.advertising_minutes,"
        " c.emergency_minutes, c.morning_unknown, c.afternoon_unknown, c.counted_minutes,"
        " c.unapproved_minutes, c.unidentified_minutes, c.exempt_order_id,"
        " c.advertising_share_percent, c.advertising_ceiling_percent,"
        " c.advertising_ceiling_from, c.computed_at"
        " FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        f" WHERE {' AND '.join(where)}"
    )
    counted = _counted_organisation(scope) if board_id is None and site_id is None else None
    return fetch_page(
        conn,
        select,
        params,
        paging,
        sortable=("day", "board_id", "status", "morning_minutes", "afternoon_minutes"),
        default="day DESC",
        tiebreak="board_id",
        model=model,
        count=None if counted is None else lambda: _kept_total(conn, counted, first, last, status),
    )


def _kept_total(
    conn: Conn, counted: tuple[str, list[Any]], first: date, last: date, status: str | None
) -> int:
    """The list's total from the counts migration 0052 keeps (a month of the
    province: 300,000 board-days; counting 10,001 of them joined to their
    boards took 40-57 ms, these ~180 rows well under 1 ms)."""
    where, params = counted
    if status is not None:
        where, params = f"{where} AND status = %s", [*params, status]
    row = conn.execute(
        "SELECT coalesce(sum(board_days), 0) FROM compliance_status_counts"
        f" WHERE {where} AND day BETWEEN %s AND %s",
        [*params, first, last],
    ).fetchone()
    return int(row[0]) if row else 0


def plays_page(
    conn: Conn,
    paging: ListParams,
    board_id: str,
    since: datetime,
    until: datetime,
    *,
    kind: str | None,
    model: type[M],
) -> Page[M]:
    """What a board showed from ``since`` to ``until`` (the caller checked
    that the board is in scope), with the registry item of each file."""
    params: list[object] = [board_id, since, until]
    where = "p.device_id = %s AND p.started_at >= %s AND p.started_at < %s"
    if kind is not None:
        where += " AND COALESCE(p.content_kind, ci.kind) = %s"
        params.append(kind)
    select = (
        "SELECT p.device_id AS board_id, p.content_sha256, p.started_at, p.ended_at,"
        " round((extract(epoch FROM p.ended_at - p.started_at) / 60)::numeric, 2)::float8"
        " AS minutes, p.content_id, COALESCE(p.content_kind, ci.kind) AS content_kind,"
        " COALESCE(p.content_language, ci.language) AS content_language, ci.title,"
        " (ci.id IS NOT NULL AND p.started_at >= ci.valid_from"
        "  AND (ci.valid_to IS NULL OR p.started_at < ci.valid_to)) AS approved, p.source"
        " FROM play_log p LEFT JOIN content_items ci ON ci.sha256 = p.content_sha256"
        f" WHERE {where}"
    )
    return fetch_page(
        conn,
        select,
        params,
        paging,
        sortable=("started_at", "minutes", "content_kind"),
        default="started_at DESC",
        tiebreak="content_sha256",
        model=model,
    )


def _counted_organisation(scope: Scope) -> tuple[str, list[Any]] | None:
    """The condition on ``compliance_status_counts`` (migration 0052) that
    gives exactly the board-days ``scope`` sees, or None when the scope is
    not a whole organisation or the province (sites given one by one, a
    team's sites, the Border Guard's: those count the joined days)."""
    if scope.province_wide:
        return "TRUE", []
    if (
        scope.organisation_id is None
        or scope.site_ids
        or scope.team
        or scope.camera_guard_organisation_id is not None
        or scope.camera_incidents_only
    ):
        return None
    return "organisation_id = %s", [scope.organisation_id]


def status_counts(conn: Conn, scope: Scope, first: date, last: date) -> dict[str, int]:
    """How many board-days had each status from ``first`` to ``last``."""
    counted = _counted_organisation(scope)
    if counted is not None:
        # The counts the triggers of migration 0052 keep per (organisation,
        # day, status): ~30 x 6 rows instead of a month of the
        # organisation's 100,000 board-days joined to their boards (issue 20).
        where, params = counted
        rows = conn.execute(
            "SELECT status, sum(board_days) FROM compliance_status_counts"
            f" WHERE {where} AND day BETWEEN %s AND %s GROUP BY status",
            [*params, first, last],
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}
    clause, params = sites_condition(scope, "b.site_id")
    return dict(
        conn.execute(
            "SELECT c.status, count(*) FROM compliance_days c JOIN boards b ON b.id = c.board_id"
            f" WHERE {clause} AND c.day BETWEEN %s AND %s GROUP BY c.status",
            [*params, first, last],
        ).fetchall()
    )


def problem_days(
    conn: Conn, scope: Scope, first: date, last: date, *, limit: int = 100
) -> list[tuple[Any, ...]]:
    """The non-compliant, unknown and exempt days, and the days over their
    advertising ceiling (Điều 8.3), newest first: (day, board id, board
    name, site name, status, morning minutes, afternoon minutes, unknown
    minutes, advertising share %, advertising ceiling %)."""
    clause, params = sites_condition(scope, "b.site_id")
    return conn.execute(
        "SELECT c.day, c.board_id, b.name, s.name, c.status, c.morning_minutes,"
        " c.afternoon_minutes, c.morning_unknown + c.afternoon_unknown,"
        " c.advertising_share_percent, c.advertising_ceiling_percent"
        " FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        " JOIN sites s ON s.id = b.site_id"
        f" WHERE {clause} AND c.day BETWEEN %s AND %s"
        " AND (c.status IN ('non_compliant', 'unknown', 'exempt')"
        "      OR c.advertising_share_percent > c.advertising_ceiling_percent)"
        " ORDER BY c.day DESC, c.board_id LIMIT %s",
        [*params, first, last, limit],
    ).fetchall()


def advertising_over(conn: Conn, scope: Scope, first: date, last: date) -> int:
    """How many board-days from ``first`` to ``last`` exceeded their
    advertising ceiling (Điều 8.3)."""
    counted = _counted_organisation(scope)
    if counted is not None:
        where, params = counted
        row = conn.execute(
            "SELECT coalesce(sum(board_days), 0) FROM compliance_status_counts"
            f" WHERE {where} AND day BETWEEN %s AND %s AND over_ceiling",
            [*params, first, last],
        ).fetchone()
        return int(row[0]) if row else 0
    clause, params = sites_condition(scope, "b.site_id")
    row = conn.execute(
        "SELECT count(*) FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        f" WHERE {clause} AND c.day BETWEEN %s AND %s"
        " AND c.advertising_share_percent > c.advertising_ceiling_percent",
        [*params, first, last],
    ).fetchone()
    return int(row[0]) if row else 0
