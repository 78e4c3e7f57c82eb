"""SQL of the cameras list in its default order, one health group at a time.

The list shows failing cameras first, then unknown, then ok, each group by
site name (then board and camera id). Health depends on the clock (a status
observed before ``stale_before`` is unknown), so no index holds that order;
sorting every camera in scope for each page cost 70-80 ms at 13,344 cameras
(issue 20). Each group is therefore read on its own, in site-name order with
a LIMIT: walking ``sites`` by name (``sites_name_idx``, migration 0054), their
boards and cameras, the page's rows are about all it reads when a group is
large, and a small group is found through its own index and sorted (the
failing readings by ``camera_health_failing_idx``; the unknown cameras are
the stale readings, by ``camera_health_observed_idx``, and the cameras
without a reading, ``camera_gaps``). A page that ends inside a group goes on
from a position (the last row's site name, board and camera), and the next
group starts where that one ends. Groups are counted up to a cap rather than
exactly (three exact counts at 13,344 cameras cost more than the page); the
cameras in scope are a sum of stored counts per site."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from fleet_server.access.keyset import Key, Keyset, Order, decode, encode, resolve
from fleet_server.access.keyset import after as seek
from fleet_server.access.pagination import add_equal, capped, capped_count_sql, first_rows
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.cameras.models import Health
from fleet_server.cameras.schemas import CameraOut
from fleet_server.cameras.storage import COLUMNS, HEALTH_IS, Conn

#: The default order's groups, in order.
GROUPS: tuple[Health, ...] = ("failing", "unknown", "ok")

_JOINS = """
      FROM sites s
      JOIN boards b ON b.site_id = s.id
      JOIN cameras c ON c.board_id = b.id
      LEFT JOIN camera_health h ON h.board_id = c.board_id AND h.camera_id = c.camera_id"""
#: The cameras without a reading: from their own small table (migration
#: 0054), not an anti-join of every camera with every reading.
_GAP_JOINS = """
      FROM camera_gaps g
      JOIN cameras c ON c.board_id = g.board_id AND c.camera_id = g.camera_id
      JOIN boards b ON b.id = c.board_id
      JOIN sites s ON s.id = b.site_id
      LEFT JOIN camera_health h ON h.board_id = c.board_id AND h.camera_id = c.camera_id"""

#: Each group as the parts it is read from (joins and the condition on
#: camera_health): the unknown cameras are the stale readings and the
#: cameras without one, each found by its own index when few.
_PARTS: dict[Health, tuple[tuple[str, str], ...]] = {
    "failing": ((_JOINS, HEALTH_IS["failing"]),),
    "ok": ((_JOINS, HEALTH_IS["ok"]),),
    "unknown": ((_JOINS, "h.observed_at < %s"), (_GAP_JOINS, "h.board_id IS NULL")),
}

#: A group's page in site-name order. One level, so planning it stays cheap
#: (a few joins, planned on every request); the open incident of each camera
#: is looked up for the page's rows only (after the LIMIT).
_PAGE = (
    COLUMNS
    + """
{joins}
      LEFT JOIN board_status st ON st.board_id = b.id
     WHERE {where}
     ORDER BY s.name, c.board_id, c.camera_id
     LIMIT %s"""
)
#: That order over the columns a group is read from (a position in a group
#: is after a camera in it).
_WITHIN = Order(
    "", (Key("s.name", "text"), Key("c.board_id", "text"), Key("c.camera_id", "text")), (False,) * 3
)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: its last camera's group and sort key."""

    health: Health
    site_name: str
    board_id: str
    camera_id: str


@dataclass(frozen=True, slots=True)
class Count:
    """A group's cameras: exactly ``n``, or more than ``n`` when ``capped``."""

    n: int
    capped: bool


@dataclass(frozen=True, slots=True)
class Filters:
    """What a list shows: the caller's scope and the list's own filters."""

    scope: Scope
    stale_before: datetime
    site_id: int | None = None
    board_id: str | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        clause, params = sites_condition(self.scope, "s.id")
        where = [clause]
        add_equal(where, params, (("s.id", self.site_id), ("c.board_id", self.board_id)))
        return where, params


def _parts(filters: Filters, health: Health) -> list[tuple[str, list[str], list[Any]]]:
    """The joins, conditions and parameters of each part of a group."""
    found = []
    for joins, condition in _PARTS[health]:
        where, params = filters.where()
        where.append(condition)
        found.append((joins, where, params + [filters.stale_before] * condition.count("%s")))
    return found


def group_page(
    conn: Conn, filters: Filters, health: Health, after: Position | None, limit: int
) -> list[CameraOut]:
    """Up to ``limit`` cameras of one health group in site-name order, after
    ``after`` (a position in this group) or from its start."""
    parts = []
    for joins, where, part_params in _parts(filters, health):
        if after is not None:
            # the first term bounds the walk of sites by name; the row
            # comparison decides among the cameras of that name
            ((rest, rest_params),) = seek(
                _WITHIN, (after.site_name, after.board_id, after.camera_id)
            )
            where.append(f"s.name >= %s AND {rest}")
            part_params += [after.site_name, *rest_params]
        page = _PAGE.format(joins=joins, where=" AND ".join(where))
        parts.append((page, [filters.stale_before, *part_params, limit]))
    sql, params = first_rows(parts, "u.site_name, u.board_id, u.camera_id", limit)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql, params)
        return [CameraOut.model_validate(r) for r in rows.fetchall()]


def page_after(
    conn: Conn,
    filters: Filters,
    groups: Sequence[Health],
    after: Position | None,
    limit: int,
    *,
    empty: Collection[Health] = (),
) -> list[CameraOut]:
    """Up to ``limit`` cameras of ``groups`` in the list's order, after ``after``
    (from the start without it): the rest of its group, then the next ones;
    ``empty``: groups known to hold no camera, not read."""
    start = groups.index(after.health) if after is not None else 0
    found: list[CameraOut] = []
    for health in groups[start:]:
        if health in empty:
            continue
        position = after if after is not None and after.health == health else None
        found += group_page(conn, filters, health, position, limit - len(found))
        if len(found) >= limit:
            break
    return found


def group_counts(
    conn: Conn, filters: Filters, groups: Sequence[Health], cap: int
) -> dict[Health, Count]:
    """Each group's cameras, counted up to ``cap`` (one statement)."""
    sums, params = [], list[Any]()
    for health in groups:
        counts = []
        for joins, where, part_params in _parts(filters, health):
            counts.append(_capped_count(joins, where))
            params += [*part_params, cap + 1]
        sums.append(" + ".join(counts))
    row = conn.execute("SELECT " + ", ".join(sums), params).fetchone()
    counted = [int(n) for n in row] if row else [0] * len(groups)
    return {health: Count(*capped(n, cap)) for health, n in zip(groups, counted, strict=True)}


def counts_and_total(conn: Conn, filters: Filters, cap: int) -> tuple[Count, Count, int]:
    """The failing and the ok cameras counted up to ``cap``, and every camera
    in scope (:func:`scope_count`), in one statement."""
    sums, params = [], list[Any]()
    for health in ("failing", "ok"):
        ((joins, where, part_params),) = _parts(filters, health)
        sums.append(_capped_count(joins, where))
        params += [*part_params, cap + 1]
    total_sql, total_params = _scope_sum(filters)
    row = conn.execute(f"SELECT {sums[0]}, {sums[1]}, ({total_sql})", [*params, *total_params])
    failing, ok, total = row.fetchone() or (0, 0, 0)
    return Count(*capped(failing, cap)), Count(*capped(ok, cap)), int(total or 0)


def _capped_count(joins: str, where: list[str]) -> str:
    """A part's cameras counted up to a cap (the parameter after the part's:
    the cap plus one), as a scalar subquery."""
    condition = " AND ".join(where)
    return f"({capped_count_sql(f'{joins} WHERE {condition}')})"


def _scope_sum(filters: Filters) -> tuple[str, list[Any]]:
    """The SELECT of :func:`scope_count` (a site's or the scope's sum)."""
    clause, params = sites_condition(filters.scope, "k.site_id")
    where = [clause]
    add_equal(where, params, (("k.site_id", filters.site_id),))
    return f"SELECT sum(k.cameras) FROM site_camera_counts k WHERE {' AND '.join(where)}", params


def scope_count(conn: Conn, filters: Filters) -> int:
    """The cameras in scope, whatever their health: the sum of their sites'
    counts (``site_camera_counts``, migration 0054), not a count of each
    camera; a board's own, counted."""
    if filters.board_id is not None:
        where, params = filters.where()
        sql = (
            "SELECT count(*) FROM sites s JOIN boards b ON b.site_id = s.id"
            f" JOIN cameras c ON c.board_id = b.id WHERE {' AND '.join(where)}"
        )
    else:
        sql, params = _scope_sum(filters)
    row = conn.execute(sql, params).fetchone()
    return int(row[0] or 0) if row else 0


# -- the cursor ------------------------------------------------------------------------

#: The default order as a keyset (its cursors carry the group and the sort key).
KEYSET = Keyset(
    name="cameras",
    tiebreak=Key("camera_id", "text"),
    sorts={
        "health": (
            Key("health", "text", values=GROUPS),
            Key("site_name", "text"),
            Key("board_id", "text"),
        )
    },
    default=("health",),
    default_descending=False,
)
_ORDER = resolve(KEYSET, None)


def position_of(cursor: str) -> Position:
    """The position a cursor names (Unprocessable: not a cursor of this list)."""
    health, site_name, board_id, camera_id = decode(KEYSET, _ORDER, cursor)
    return Position(health, site_name, board_id, camera_id)


def cursor_after(camera: CameraOut) -> str:
    """The cursor of the page after ``camera``."""
    return encode(KEYSET, _ORDER, camera.model_dump())
