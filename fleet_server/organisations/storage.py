"""SQL of organisations, sites and site health."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.pagination import ListParams, Page, add_search, fetch_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import (
    board_site_condition,
    incidents_condition,
    sites_condition,
)
from fleet_server.organisations.models import HEALTHS
from fleet_server.organisations.schemas import OrganisationOut, SiteHealth, SiteOut

Conn = psycopg.Connection[Any]
T = TypeVar("T")

_SITE_SELECT = """
    SELECT s.id, s.code, s.name, s.name_en, s.kind, s.district, s.latitude, s.longitude,
           s.organisation_id, o.code AS organisation_code, s.camera_guard_organisation_id,
           (SELECT count(*) FROM boards b WHERE b.site_id = s.id) AS boards
    FROM sites s JOIN organisations o ON o.id = s.organisation_id
"""

#: The columns a site change may name (the fields of ``SitePatch``).
SITE_CHANGEABLE = frozenset(
    {"name", "name_en", "kind", "district", "latitude", "longitude", "camera_guard_organisation_id"}
)


def list_sites(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    organisation_id: int | None = None,
    kind: str | None = None,
    q: str | None = None,
) -> Page[SiteOut]:
    visible, params = sites_condition(scope, "s.id")
    where = [visible]
    if organisation_id is not None:
        where.append("s.organisation_id = %s")
        params.append(organisation_id)
    if kind is not None:
        where.append("s.kind = %s")
        params.append(kind)
    add_search(where, params, q, ("s.name", "s.code", "s.district"))
    return fetch_page(
        conn,
        f"{_SITE_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "code", "name", "kind", "district", "boards"),
        default="name",
        tiebreak="id",
        model=SiteOut,
    )


def _site_health_sql(scope: Scope, site_id: int | None) -> tuple[str, list[object]]:
    """Every visible site with its boards by state, open incidents, health
    (online / offline / degraded / unknown) and that health's rank for
    :data:`_HEALTH_ORDER`: all in SQL, so the API can hand PostgreSQL's JSON
    straight to the client."""
    visible, params = sites_condition(scope, "s.id")
    incident_scope, incident_params = incidents_condition(scope, "i.site_id", "i.rule")
    extra = ""
    if site_id is not None:
        extra = " AND s.id = %s"
    sql = f"""
        WITH b AS (
            SELECT b.site_id, coalesce(st.state, 'unknown') AS state
            FROM boards b LEFT JOIN board_status st ON st.board_id = b.id
            WHERE b.enabled
        ), bs AS (
            SELECT site_id, count(*) AS boards,
                   count(*) FILTER (WHERE state = 'online') AS online,
                   count(*) FILTER (WHERE state = 'offline') AS offline,
                   count(*) FILTER (WHERE state = 'lost') AS lost,
                   count(*) FILTER (WHERE state = 'stale') AS stale,
                   count(*) FILTER (WHERE state = 'unknown') AS unknown
            FROM b GROUP BY site_id
        ), inc AS (
            SELECT i.site_id, count(*) AS open_incidents,
                   max(CASE i.severity WHEN 'critical' THEN 3 WHEN 'major' THEN 2
                                       WHEN 'minor' THEN 1 ELSE 0 END) AS worst
            FROM incidents i
            WHERE i.state <> 'resolved' AND {incident_scope}
            GROUP BY i.site_id
        ), h AS (
            SELECT s.id, s.code, s.name, s.name_en, s.kind, s.district,
                   s.latitude, s.longitude, s.organisation_id,
                   coalesce(bs.boards, 0) AS boards, coalesce(bs.online, 0) AS online,
                   coalesce(bs.offline, 0) AS offline, coalesce(bs.lost, 0) AS lost,
                   coalesce(bs.stale, 0) AS stale, coalesce(bs.unknown, 0) AS unknown,
                   coalesce(inc.open_incidents, 0) AS open_incidents,
                   (ARRAY['warning', 'minor', 'major', 'critical'])[inc.worst + 1]
                       AS worst_severity
            FROM sites s LEFT JOIN bs ON bs.site_id = s.id LEFT JOIN inc ON inc.site_id = s.id
            WHERE {visible}{extra}
        ), r AS (
            SELECT h.*,
                   CASE WHEN boards > 0 AND offline + lost = boards THEN 'offline'
                        WHEN offline + lost + stale + open_incidents > 0 THEN 'degraded'
                        WHEN boards > 0 AND online = boards THEN 'online'
                        ELSE 'unknown' END AS health
            FROM h
        )
        SELECT r.*, array_position(%s::text[], health) - 1 AS health_rank
        FROM r
    """
    site = [site_id] if site_id is not None else []
    return sql, [*incident_params, *params, *site, list(HEALTHS)]


#: Problems first: down, then degraded, unknown, online; then by open incidents.
_HEALTH_ORDER = 'health_rank, open_incidents DESC, name COLLATE "C", id'


def site_health(conn: Conn, scope: Scope, *, site_id: int | None = None) -> list[SiteHealth]:
    sql, params = _site_health_sql(scope, site_id)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"{sql} ORDER BY {_HEALTH_ORDER}", params).fetchall()
    return [SiteHealth.model_validate(r) for r in rows]


def site_health_json(conn: Conn, scope: Scope) -> bytes:
    sql, params = _site_health_sql(scope, None)
    row = conn.execute(
        f"SELECT coalesce(json_agg(q ORDER BY {_HEALTH_ORDER}), '[]')::text FROM ({sql}) q",
        params,
    ).fetchone()
    assert row is not None
    return str(row[0]).encode()


def boards_by_state(conn: Conn, scope: Scope) -> dict[str, int]:
    """Enabled boards by connectivity state (the states that have any)."""
    visible, params = sites_condition(scope, "b.site_id")
    rows = conn.execute(
        f"""SELECT coalesce(st.state, 'unknown'), count(*)
            FROM boards b LEFT JOIN board_status st ON st.board_id = b.id
            WHERE b.enabled AND {visible} GROUP BY 1""",
        params,
    ).fetchall()
    return {str(state): int(n) for state, n in rows}


def health_version(conn: Conn) -> tuple[int, int]:
    """The database's oid and its fleet health version (migration 0045;
    0 until the first change)."""
    row = conn.execute(
        """SELECT (SELECT oid FROM pg_database WHERE datname = current_database()),
                  CASE WHEN is_called THEN last_value ELSE 0 END
             FROM fleet_health_version"""
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def get_site(
    conn: Conn, scope: Scope, site_id: int, *, along: Callable[[], T]
) -> tuple[tuple[dict[str, Any], datetime] | None, T]:
    """The site (as :class:`SiteOut`'s fields) and when it was created, or
    None if absent or outside ``scope``; and ``along``'s answer, run after
    the site's statement is sent and before it is read (pipeline mode: one
    round trip for both)."""
    visible, params = board_site_condition(scope, "s.id")  # one site: keyed probes
    with conn.pipeline(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT q.*, (SELECT created_at FROM sites WHERE id = q.id) AS created_at"
            f" FROM ({_SITE_SELECT} WHERE s.id = %s AND {visible}) q",
            [site_id, *params],
        )
        other = along()
        row = cur.fetchone()
    if row is None:
        return None, other
    return (row, row.pop("created_at")), other


def organisation_names(
    conn: Conn, scope: Scope, own_organisation_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Ids and names (``id``, ``name``, ``name_en``), by name, of the first
    ``limit`` organisations :func:`list_organisations` lists, without their
    counts (the administration pages' choices: counting every organisation's
    boards cost more than the page)."""
    visible, params = sites_condition(scope, "s.id")
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT o.id, o.name, o.name_en FROM organisations o WHERE (%s OR o.id = %s OR"
            f" EXISTS (SELECT 1 FROM sites s WHERE s.organisation_id = o.id AND {visible}))"
            " ORDER BY o.name, o.id LIMIT %s",
            [scope.province_wide, own_organisation_id, *params, limit],
        )
        return cur.fetchall()


def list_organisations(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    own_organisation_id: int | None,
    kind: str | None = None,
) -> Page[OrganisationOut]:
    """Organisations with a site ``scope`` sees, ``own_organisation_id``, and
    for a province-wide scope all of them; ``sites`` and ``boards`` count
    only what ``scope`` sees."""
    visible, params = sites_condition(scope, "s.id")
    where = [
        f"(%s OR o.id = %s OR EXISTS (SELECT 1 FROM sites s WHERE s.organisation_id = o.id"
        f" AND {visible}))"
    ]
    all_params: list[object] = [
        *params,
        *params,
        scope.province_wide,
        own_organisation_id,
        *params,
    ]
    if kind is not None:
        where.append("o.kind = %s")
        all_params.append(kind)
    return fetch_page(
        conn,
        f"""SELECT o.id, o.code, o.name, o.name_en, o.kind,
                   (SELECT count(*) FROM sites s
                     WHERE s.organisation_id = o.id AND {visible}) AS sites,
                   (SELECT count(*) FROM boards b JOIN sites s ON s.id = b.site_id
                     WHERE s.organisation_id = o.id AND {visible}) AS boards
            FROM organisations o WHERE {" AND ".join(where)}""",
        all_params,
        paging,
        sortable=("id", "code", "name", "kind", "sites", "boards"),
        default="name",
        tiebreak="id",
        model=OrganisationOut,
    )


def insert_organisation(
    conn: Conn, *, code: str, name: str, name_en: str | None, kind: str
) -> int | None:
    """The new organisation's id, or None if the code is taken."""
    row = conn.execute(
        "INSERT INTO organisations (code, name, name_en, kind) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (code) DO NOTHING RETURNING id",
        (code, name, name_en, kind),
    ).fetchone()
    return None if row is None else int(row[0])


def organisation_exists(conn: Conn, organisation_id: int) -> bool:
    return (
        conn.execute("SELECT 1 FROM organisations WHERE id = %s", (organisation_id,)).fetchone()
        is not None
    )


def insert_site(
    conn: Conn,
    *,
    code: str,
    organisation_id: int,
    name: str,
    name_en: str | None,
    kind: str,
    district: str | None,
    latitude: float | None,
    longitude: float | None,
    camera_guard_organisation_id: int | None,
) -> int | None:
    """The new site's id, or None if the code is taken."""
    row = conn.execute(
        """INSERT INTO sites (code, organisation_id, name, name_en, kind, district, latitude,
                              longitude, camera_guard_organisation_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (code) DO NOTHING
           RETURNING id""",
        (
            code,
            organisation_id,
            name,
            name_en,
            kind,
            district,
            latitude,
            longitude,
            camera_guard_organisation_id,
        ),
    ).fetchone()
    return None if row is None else int(row[0])


def update_site(conn: Conn, site_id: int, changes: Mapping[str, Any]) -> None:
    """Set the columns named in ``changes`` (of :data:`SITE_CHANGEABLE`)."""
    unknown = set(changes) - SITE_CHANGEABLE
    if unknown:
        raise ValueError(f"not a changeable column: {sorted(unknown)}")
    sets = ", ".join(f"{column} = %s" for column in changes)
    conn.execute(f"UPDATE sites SET {sets} WHERE id = %s", [*changes.values(), site_id])
