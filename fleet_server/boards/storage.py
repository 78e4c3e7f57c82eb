"""SQL of the boards feature."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.keyset import Key, Keyset
from fleet_server.access.pagination import (
    CursorPage,
    ListParams,
    add_equal,
    add_search,
    fetch_keyset_page,
)
from fleet_server.access.scope import Scope
from fleet_server.access.storage import board_site_condition, sites_condition
from fleet_server.boards.schemas import BoardOut, BoardPatch

Conn = psycopg.Connection[Any]
T = TypeVar("T")

#: The sorts of the board list; each ends with the board id, so equal keys
#: still have one order.
KEYSET = Keyset(
    name="boards",
    tiebreak=Key("id", "text"),
    sorts={
        "id": Key("id", "text"),
        "name": Key("name", "text"),
        "site_name": Key("site_name", "text"),
        "state": Key("state", "text"),
        "state_since": Key("state_since", "timestamp", nullable=True),
        "last_seen_at": Key("last_seen_at", "timestamp", nullable=True),
        "open_incidents": Key("open_incidents", "int"),
        "installed_on": Key("installed_on", "date", nullable=True),
    },
    # Board ids start with their site code (lc-<site>-NN): the primary key
    # orders them by site and lets a page stop after its rows.
    default=("id",),
    default_descending=False,
)

_COLUMNS = """
    SELECT b.id, b.name, b.site_id, s.code AS site_code, s.name AS site_name,
           s.name_en AS site_name_en, s.organisation_id, o.code AS organisation_code,
           b.model, b.serial, b.installed_on, b.tags,
           b.enabled, coalesce(st.state, 'unknown') AS state, st.reason AS state_reason,
           st.since AS state_since, st.last_seen_at, b.heartbeat_interval_s,
"""
#: Each board's open incidents and cameras, counted.
_COUNTS = """
           (SELECT count(*) FROM incidents i
             WHERE i.board_id = b.id AND i.state <> 'resolved') AS open_incidents,
           (SELECT count(*) FROM cameras c WHERE c.board_id = b.id) AS cameras
"""
_FROM = """
    FROM boards b
    JOIN sites s ON s.id = b.site_id
    JOIN organisations o ON o.id = s.organisation_id
    LEFT JOIN board_status st ON st.board_id = b.id
"""
_BOARD_SELECT = _COLUMNS + _COUNTS + _FROM
#: The list's rows before their counts: PostgreSQL counts a row's incidents
#: and cameras for every row a page reads, so an offset of 5,000 counted them
#: 5,000 times; the page's 50 are counted after (:func:`_counted`).
_UNCOUNTED = _COLUMNS + "0::bigint AS open_incidents, 0::bigint AS cameras" + _FROM


def board_visible(conn: Conn, scope: Scope, board_id: str) -> bool:
    """Whether the board exists and ``scope`` sees its site."""
    clause, params = board_site_condition(scope, "b.site_id")
    row = conn.execute(
        f"SELECT 1 FROM boards b WHERE b.id = %s AND {clause}", [board_id, *params]
    ).fetchone()
    return row is not None


def board_enabled(conn: Conn, scope: Scope, board_id: str) -> bool | None:
    """Whether the board is enabled; None when it does not exist or lies
    outside ``scope``."""
    clause, params = board_site_condition(scope, "b.site_id")
    row = conn.execute(
        f"SELECT b.enabled FROM boards b WHERE b.id = %s AND {clause}", [board_id, *params]
    ).fetchone()
    return None if row is None else bool(row[0])


def board_page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    site_id: int | None = None,
    organisation_id: int | None = None,
    state: str | None = None,
    q: str | None = None,
    enabled: bool | None = None,
    tag: str | None = None,
) -> CursorPage[BoardOut]:
    # one site's boards (its page): the scope as keyed probes of that site,
    # not a hash of every site the scope sees
    condition = sites_condition if site_id is None else board_site_condition
    clause, params = condition(scope, "b.site_id")
    where = [clause]
    if tag is not None:
        where.append("b.tags @> %s::text[]")  # the GIN index's operator
        params.append([tag])
    add_equal(
        where,
        params,
        (
            ("b.site_id", site_id),
            ("s.organisation_id", organisation_id),
            ("coalesce(st.state, 'unknown')", state),
            ("b.enabled", enabled),
        ),
    )
    add_search(where, params, q, ("b.id", "b.name", "s.name"))
    by_count = (paging.sort or "").lstrip("-") == "open_incidents"  # then counted to sort
    page = fetch_keyset_page(
        conn,
        f"{_BOARD_SELECT if by_count else _UNCOUNTED} WHERE {' AND '.join(where)}",
        params,
        paging,
        keyset=KEYSET,
        model=BoardOut,
    )
    return page if by_count else _counted(conn, page)


def _counted(conn: Conn, page: CursorPage[BoardOut]) -> CursorPage[BoardOut]:
    """``page`` with its boards' open incidents and cameras counted."""
    if not page.items:
        return page
    rows = conn.execute(
        "SELECT q.id, (SELECT count(*) FROM incidents i"
        "   WHERE i.board_id = q.id AND i.state <> 'resolved'),"
        " (SELECT count(*) FROM cameras c WHERE c.board_id = q.id)"
        " FROM unnest(%s::text[]) AS q(id)",
        ([b.id for b in page.items],),
    ).fetchall()
    counts = {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
    items = [
        b.model_copy(update={"open_incidents": counts[b.id][0], "cameras": counts[b.id][1]})
        for b in page.items
    ]
    return page.model_copy(update={"items": items})


def board_row(conn: Conn, scope: Scope, board_id: str) -> dict[str, Any] | None:
    """One board's columns as a list shows them, or None outside ``scope``."""
    clause, params = board_site_condition(scope, "b.site_id")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"{_BOARD_SELECT} WHERE b.id = %s AND {clause}", [board_id, *params]
        ).fetchone()


def board_detail(
    conn: Conn,
    scope: Scope,
    board_id: str,
    history: int,
    *,
    along: Callable[[], T],
) -> tuple[dict[str, Any] | None, T]:
    """:func:`board_row` with, in the same statement, the board's newest
    message of each kind (``latest``), its ``history`` newest connectivity
    changes, newest first (``changes``), and its cameras' names in camera
    order (``camera_names``), each a JSON array of objects; None outside
    ``scope``. ``along`` runs after the statement is sent and before its row
    is read, in pipeline mode, so its statements share the round trip; its
    answer comes second."""
    clause, params = board_site_condition(scope, "b.site_id")
    with conn.pipeline(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT q.*,"
            " (SELECT coalesce(json_agg(json_build_object('kind', l.kind,"
            "   'measured_at', l.measured_at, 'received_at', l.received_at, 'data', l.data)), '[]')"
            "  FROM board_latest l WHERE l.device_id = q.id) AS latest,"
            " (SELECT coalesce(json_agg(h ORDER BY h.at DESC), '[]') FROM"
            "  (SELECT at, state, previous, reason FROM board_status_history"
            "   WHERE board_id = q.id ORDER BY at DESC LIMIT %s) h) AS changes,"
            " (SELECT coalesce(json_agg(json_build_object('camera_id', c.camera_id,"
            "   'name', c.name) ORDER BY c.camera_id), '[]')"
            "  FROM cameras c WHERE c.board_id = q.id) AS camera_names"
            f" FROM ({_BOARD_SELECT} WHERE b.id = %s AND {clause}) q",
            [history, board_id, *params],
        )
        other = along()
        return cur.fetchone(), other


def status_changes(
    conn: Conn, board_id: str, *, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Connectivity changes in [since, until), oldest first, with the state
    the board was in at ``since`` as the first entry (dated ``since``)."""
    with conn.cursor(row_factory=dict_row) as cur:
        before = cur.execute(
            "SELECT %s::timestamptz AS at, state, previous, reason FROM board_status_history"
            " WHERE board_id = %s AND at < %s ORDER BY at DESC LIMIT 1",
            (since, board_id, since),
        ).fetchone()
        rows = cur.execute(
            "SELECT at, state, previous, reason FROM board_status_history"
            " WHERE board_id = %s AND at >= %s AND at < %s ORDER BY at LIMIT 5000",
            (board_id, since, until),
        ).fetchall()
    return ([before] if before else []) + rows


def update_board(conn: Conn, board_id: str, changes: dict[str, Any]) -> None:
    """Set inventory columns; ``changes`` keys are BoardPatch's field names
    (never the caller's text)."""
    unknown = set(changes) - set(BoardPatch.model_fields)
    assert not unknown, f"not a board inventory column: {sorted(unknown)}"
    sets = ", ".join(f"{column} = %s" for column in changes)
    conn.execute(
        f"UPDATE boards SET {sets}, updated_at = now() WHERE id = %s",
        [*changes.values(), board_id],
    )
