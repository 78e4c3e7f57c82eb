"""SQL of rule_overrides: the API's list and changes. (The engine reads the
table itself: ``engine.storage.rule_overrides``.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from fleet_server.thresholds.schemas import OverrideOut

Conn = psycopg.Connection[Any]

_SELECT = """
    SELECT r.id, r.rule, r.organisation_id, r.site_id, r.board_id, r.params,
           r.updated_by, r.updated_at,
           CASE WHEN r.board_id IS NOT NULL THEN 'board'
                WHEN r.site_id IS NOT NULL THEN 'site' ELSE 'organisation' END AS level,
           coalesce(b.name, s.name, o.name) AS target_name,
           CASE WHEN r.board_id IS NULL THEN coalesce(s.name_en, o.name_en) END
               AS target_name_en
    FROM rule_overrides r
    LEFT JOIN organisations o ON o.id = r.organisation_id
    LEFT JOIN sites s ON s.id = r.site_id
    LEFT JOIN boards b ON b.id = r.board_id
"""


def list_overrides(
    conn: Conn,
    *,
    rule: str | None = None,
    organisation_id: int | None = None,
    site_id: int | None = None,
    board_id: str | None = None,
) -> list[OverrideOut]:
    """Every override, filtered: rule, then organisation, site, board."""
    where, params = ["true"], []
    for column, value in (
        ("r.rule", rule),
        ("r.organisation_id", organisation_id),
        ("r.site_id", site_id),
        ("r.board_id", board_id),
    ):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"{_SELECT} WHERE {' AND '.join(where)}"
            " ORDER BY r.rule, r.organisation_id NULLS LAST, r.site_id NULLS LAST, r.board_id",
            params,
        ).fetchall()
    return [OverrideOut.model_validate(r) for r in rows]


def get(conn: Conn, override_id: int, *, lock: bool = False) -> OverrideOut | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE r.id = %s{' FOR UPDATE OF r' if lock else ''}", (override_id,)
        ).fetchone()
    return None if row is None else OverrideOut.model_validate(row)


def find(
    conn: Conn, rule: str, organisation_id: int | None, site_id: int | None, board_id: str | None
) -> OverrideOut | None:
    """The target's override of the rule, locked, if there is one."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"""{_SELECT} WHERE r.rule = %s AND r.organisation_id IS NOT DISTINCT FROM %s
                  AND r.site_id IS NOT DISTINCT FROM %s AND r.board_id IS NOT DISTINCT FROM %s
                FOR UPDATE OF r""",
            (rule, organisation_id, site_id, board_id),
        ).fetchone()
    return None if row is None else OverrideOut.model_validate(row)


def upsert(
    conn: Conn,
    *,
    rule: str,
    organisation_id: int | None,
    site_id: int | None,
    board_id: str | None,
    params: dict[str, Any],
    actor: str,
    now: datetime,
) -> int:
    """Set the target's override of the rule (replacing its params); its id."""
    row = conn.execute(
        """INSERT INTO rule_overrides (rule, organisation_id, site_id, board_id, params,
                                       updated_by, updated_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT ON CONSTRAINT rule_overrides_one_per_target DO UPDATE
               SET params = EXCLUDED.params, updated_by = EXCLUDED.updated_by,
                   updated_at = EXCLUDED.updated_at
           RETURNING id""",
        (rule, organisation_id, site_id, board_id, Jsonb(params), actor, now),
    ).fetchone()
    assert row is not None
    return int(row[0])


def delete(conn: Conn, override_id: int) -> None:
    conn.execute("DELETE FROM rule_overrides WHERE id = %s", (override_id,))


def target_exists(
    conn: Conn, organisation_id: int | None, site_id: int | None, board_id: str | None
) -> bool:
    """Whether the organisation, site or board named exists."""
    value: object
    if board_id is not None:
        query, value = "SELECT 1 FROM boards WHERE id = %s", board_id
    elif site_id is not None:
        query, value = "SELECT 1 FROM sites WHERE id = %s", site_id
    else:
        query, value = "SELECT 1 FROM organisations WHERE id = %s", organisation_id
    return conn.execute(query, (value,)).fetchone() is not None
