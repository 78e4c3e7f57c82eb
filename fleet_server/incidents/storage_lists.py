"""Incidents as people read them (the API, the console): the list's pages
in each of its sorts, its capped count, one incident, its timeline, a
board's unresolved incidents and a site incident's attached ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.keyset import Key, Keyset, resolve
from fleet_server.access.pagination import (
    CursorPage,
    ListParams,
    add_equal,
    add_range,
    count_capped,
    fetch_keyset_page,
)
from fleet_server.access.scope import Scope
from fleet_server.access.storage import incidents_condition
from fleet_server.incidents import storage_site_order
from fleet_server.incidents.models import ACTIVE_STATES, IncidentFilter
from fleet_server.incidents.schemas import IncidentEvent, IncidentOut

Conn = psycopg.Connection[Any]

_SELECT = """
    SELECT i.id, i.rule, i.class AS incident_class, i.severity, i.state, i.board_id,
           b.name AS board_name, i.site_id, i.site_name, s.name_en AS site_name_en,
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
        # the copy of the site's name on the incident (migration 0055): indexed
        "site_name": Key("site_name", "text", nullable=True),
    },
    default=("severity_rank",),  # worst, then newest first
    aliases={"severity": "severity_rank"},
)


def _selection(scope: Scope, filters: IncidentFilter) -> tuple[str, list[Any]]:
    """The WHERE text (over ``incidents i``) and parameters of the incidents
    ``scope`` sees that ``filters`` select."""
    f = filters
    clause, params = incidents_condition(scope, "i.site_id", "i.rule")
    where = [clause]
    if set(f.states) == set(ACTIVE_STATES):
        # the unresolved ones, as the partial index of them (0055) says it:
        # every plan may read it, generic ones too, and the row estimate is
        # the index's (with "= ANY" beside it too, it was 100 times too low
        # and the plan joined every unresolved incident before sorting)
        where.append("i.state <> 'resolved'")
    elif f.states:
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
            ("i.parent_id", f.parent_id),
        ),
    )
    if f.top_level:
        where.append("i.parent_id IS NULL")
    add_range(where, params, "i.opened_at", f.since, f.until)
    return " AND ".join(where), params


def page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    filters: IncidentFilter,
    *,
    count: Callable[[], tuple[int, bool]] | None = None,
) -> CursorPage[IncidentOut]:
    """One page of the incidents ``scope`` sees, worst and newest first.
    ``count``: the selection's capped total (:func:`count_selected`) when the caller
    keeps one, asked only when there is more than one page."""
    where, params = _selection(scope, filters)
    order = resolve(KEYSET, paging.sort)
    if storage_site_order.applies(scope, paging, order):
        return storage_site_order.page(
            conn,
            (f"{_SELECT} WHERE {where}", params),
            scope,
            paging,
            keyset=KEYSET,
            order=order,
            count=count or (lambda: count_selected(conn, scope, filters)),
        )
    return fetch_keyset_page(
        conn,
        f"{_SELECT} WHERE {where}",
        params,
        paging,
        keyset=KEYSET,
        model=IncidentOut,
        count=count,
    )


def count_selected(conn: Conn, scope: Scope, filters: IncidentFilter) -> tuple[int, bool]:
    """How many incidents ``scope`` sees that ``filters`` select, counted up
    to ``COUNT_CAP``; and whether there are more."""
    where, params = _selection(scope, filters)
    return count_capped(conn, f"FROM incidents i WHERE {where}", params)


def _rows(
    conn: Conn,
    scope: Scope,
    where: str,
    params: list[Any],
    tail: str = "",
    *,
    one_row: bool = False,
) -> list[dict[str, Any]]:
    """The rows of the incidents ``scope`` sees that ``where`` (with
    ``params``) selects, then ``tail`` (ORDER BY, LIMIT)."""
    clause, scope_params = incidents_condition(scope, "i.site_id", "i.rule", one_row=one_row)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"{_SELECT} WHERE {where} AND {clause}{tail}", [*params, *scope_params]
        ).fetchall()


def of_board(conn: Conn, scope: Scope, board_id: str) -> list[IncidentOut]:
    """The board's unresolved incidents ``scope`` sees, worst first."""
    rows = _rows(
        conn,
        scope,
        "i.board_id = %s AND i.state <> 'resolved'",
        [board_id],
        " ORDER BY severity_rank DESC, i.opened_at DESC LIMIT 100",
    )
    return [IncidentOut.model_validate(r) for r in rows]


def visible(conn: Conn, scope: Scope, incident_id: int) -> IncidentOut | None:
    """The incident, if it exists and ``scope`` sees it."""
    rows = _rows(conn, scope, "i.id = %s", [incident_id], one_row=True)
    return IncidentOut.model_validate(rows[0]) if rows else None


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
    rows = _rows(
        conn,
        scope,
        "i.parent_id = ANY(%s)",
        [parent_ids],
        " ORDER BY severity_rank DESC, i.board_id, i.id LIMIT 1000",
    )
    found: dict[int, list[IncidentOut]] = {}
    for row in rows:
        incident = IncidentOut.model_validate(row)
        found.setdefault(int(row["parent_id"]), []).append(incident)
    return found
