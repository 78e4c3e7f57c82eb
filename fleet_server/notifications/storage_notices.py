"""The queued notices as the console lists them (SQL): outbox rows in the
reader's scope with their contact and newest delivery attempt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.notifications.schemas_notices import NoticeFilter, NoticeOut
from fleet_server.notifications.storage import Conn

#: The newest delivery attempt's ``column`` (``x``), as a scalar subquery
#: each: a query that uses none of them, like the page's count, does not run
#: them (as a LATERAL join they ran for every notice counted: 8,000 index
#: probes for an operator's count at 10,000 boards, issue 20).
_ATTEMPT = """(SELECT x.{column} FROM notification_deliveries x WHERE x.outbox_id = o.id
             ORDER BY x.attempted_at DESC, x.id DESC LIMIT 1)"""
_SELECT = f"""
    SELECT o.id, o.kind, o.channel, o.state, o.contact_id, c.name AS contact_name,
           o.language, o.subject, o.body_text, o.created_at, o.available_at, o.sent_at,
           o.attempts, o.last_error, o.incident_id, o.ticket_id, o.site_id, o.board_id,
           {_ATTEMPT.format(column="attempted_at")} AS attempted_at,
           {_ATTEMPT.format(column="ok")} AS attempt_ok,
           {_ATTEMPT.format(column="error")} AS attempt_error,
           {_ATTEMPT.format(column="response")} AS attempt_response
    FROM notification_outbox o
    JOIN contacts c ON c.id = o.contact_id
"""
SORTABLE = ("id", "created_at", "sent_at", "state", "kind")


def _site_rows(scope: Scope) -> tuple[str, list[Any]]:
    """Rows about a site the reader sees."""
    sites, params = sites_condition(scope, "o.site_id")
    return f"(o.site_id IS NOT NULL AND {sites})", params


def _siteless_rows(scope: Scope) -> tuple[str, list[Any]]:
    """Rows without a site (report deadlines, content supply) for the whole
    province or the reader's organisation."""
    return (
        "(o.site_id IS NULL AND (%s OR (o.payload->>'organisation_id')::bigint = %s))",
        [scope.province_wide, scope.organisation_id],
    )


def _scope(scope: Scope) -> tuple[str, list[Any]]:
    """The rows the reader sees: about its sites, or without a site."""
    (sites, site_params), (other, other_params) = _site_rows(scope), _siteless_rows(scope)
    return f"({sites} OR {other})", [*site_params, *other_params]


def notices_page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    filters: NoticeFilter,
    counts: dict[str, int] | None = None,
) -> Page[NoticeOut]:
    """Outbox rows ``scope`` sees, newest first unless sorted otherwise.
    ``counts``: :func:`state_counts` of the same scope, already read; the
    page's total comes from it when the filter is by state alone."""
    clause, params = _scope(scope)
    where = [clause]
    add_equal(
        where,
        params,
        (
            ("o.state", filters.state),
            ("o.kind", filters.kind),
            ("o.incident_id", filters.incident_id),
            ("o.ticket_id", filters.ticket_id),
        ),
    )
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=SORTABLE,
        default="id DESC",
        tiebreak="id DESC",
        model=NoticeOut,
        count=_counted(counts, filters),
    )


def _counted(counts: dict[str, int] | None, filters: NoticeFilter) -> Callable[[], int] | None:
    """The total from the state counts, when they answer it: counting the
    same rows again cost the notices page a second scan (issue 20)."""
    if counts is None or filters.kind or filters.incident_id or filters.ticket_id:
        return None
    if filters.state is None:
        return lambda: sum(counts.values())
    return lambda: counts.get(filters.state or "", 0)


def state_counts(conn: Conn, scope: Scope) -> dict[str, int]:
    """How many rows ``scope`` sees in each state: the rows about a site and
    the rows without one counted apart, each from its range of the (site_id,
    state) index (migration 0059; one scan with the scope's OR read every
    row)."""
    (sites, site_params), (other, other_params) = _site_rows(scope), _siteless_rows(scope)
    rows = conn.execute(
        f"""SELECT state, sum(n)::bigint FROM (
                SELECT o.state, count(*) AS n FROM notification_outbox o
                WHERE {sites} GROUP BY o.state
                UNION ALL
                SELECT o.state, count(*) FROM notification_outbox o
                WHERE {other} GROUP BY o.state) c
            GROUP BY state""",
        [*site_params, *other_params],
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}
