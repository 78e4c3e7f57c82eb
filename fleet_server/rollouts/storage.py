"""SQL of rollouts and their boards (migration 0040)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from fleet_server.access.keyset import Key, Keyset
from fleet_server.access.pagination import CursorPage, ListParams, fetch_keyset_page
from fleet_server.rollouts.models import BoardState, RolloutState

Conn = psycopg.Connection[Any]


class RolloutFields(BaseModel):
    """A rollout as stored and as the API shows it (``schemas.RolloutOut``)."""

    id: int
    version: str
    target: dict[str, Any]
    waves: list[dict[str, Any]]
    pause_s: int
    max_failures: int | None
    max_failure_percent: float | None
    force: bool
    health_deadline_s: int
    state: RolloutState
    reason: str | None
    current_wave: int
    next_wave_at: datetime | None
    starts_at: datetime
    created_by: str
    created_at: datetime
    finished_at: datetime | None


class RolloutRow(RolloutFields):
    updated_at: datetime


class BoardRow(BaseModel):
    rollout_id: int
    board_id: str
    position: int
    wave: int
    state: BoardState
    reason: str | None
    request_id: str | None
    version_before: str | None
    version_after: str | None
    sent_at: datetime | None
    installed_at: datetime | None
    updated_at: datetime


class Targeted(BaseModel):
    board_id: str
    site_id: int
    enabled: bool


_ROLLOUT = (
    "id, version, target, waves, pause_s, max_failures, max_failure_percent::float8"
    " AS max_failure_percent, force, health_deadline_s, state, reason, current_wave,"
    " next_wave_at, starts_at, created_by, created_at, finished_at, updated_at"
)
_BOARD = (
    "rollout_id, board_id, position, wave, state, reason, request_id, version_before,"
    " version_after, sent_at, installed_at, updated_at"
)


def targeted(
    conn: Conn,
    *,
    organisation_id: int | None,
    site_ids: list[int] | None,
    board_ids: list[str] | None,
    tags: list[str] | None,
) -> list[Targeted]:
    """The boards every given criterion lets through (``tags``: any one of
    them), in rollout order (by board id: deterministic, and the same after
    a restart)."""
    where: list[str] = ["true"]
    params: list[Any] = []
    if organisation_id is not None:
        where.append("s.organisation_id = %s")
        params.append(organisation_id)
    if site_ids is not None:
        where.append("b.site_id = ANY(%s)")
        params.append(site_ids)
    if board_ids is not None:
        where.append("b.id = ANY(%s)")
        params.append(board_ids)
    if tags is not None:
        where.append("b.tags && %s::text[]")  # the GIN index's operator
        params.append(tags)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT b.id AS board_id, b.site_id, b.enabled FROM boards b"
            f" JOIN sites s ON s.id = b.site_id WHERE {' AND '.join(where)} ORDER BY b.id",
            params,
        ).fetchall()
    return [Targeted.model_validate(r) for r in rows]


def running_versions(conn: Conn, board_ids: list[str]) -> dict[str, str]:
    """Each board's agent version as its newest heartbeat or birth says."""
    rows = conn.execute(
        "SELECT DISTINCT ON (device_id) device_id, data->>'agent_version' FROM board_latest"
        " WHERE device_id = ANY(%s) AND kind IN ('heartbeat', 'state')"
        "   AND data->>'agent_version' IS NOT NULL"
        " ORDER BY device_id, received_at DESC",
        (board_ids,),
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def running_version(conn: Conn, board_id: str) -> str | None:
    """The agent version of the board's newest birth or heartbeat, by the
    board's own order (boot, seq): a heartbeat of the old version replayed
    late from its spool does not count over the new version's birth."""
    row = conn.execute(
        "SELECT data->>'agent_version' FROM board_latest WHERE device_id = %s"
        " AND kind IN ('heartbeat', 'state') AND data->>'agent_version' IS NOT NULL"
        " ORDER BY boot DESC, seq DESC LIMIT 1",
        (board_id,),
    ).fetchone()
    return None if row is None else str(row[0])


def insert_rollout(conn: Conn, values: dict[str, Any]) -> int:
    row = conn.execute(
        "INSERT INTO rollouts (version, target, waves, pause_s, max_failures,"
        " max_failure_percent, force, health_deadline_s, state, starts_at, created_by,"
        " created_at, updated_at) VALUES (%(version)s, %(target)s, %(waves)s, %(pause_s)s,"
        " %(max_failures)s, %(max_failure_percent)s, %(force)s, %(health_deadline_s)s,"
        " %(state)s, %(starts_at)s, %(created_by)s, %(created_at)s, %(created_at)s)"
        " RETURNING id",
        {**values, "target": Jsonb(values["target"]), "waves": Jsonb(values["waves"])},
    ).fetchone()
    assert row is not None
    return int(row[0])


def insert_boards(conn: Conn, rollout_id: int, rows: list[dict[str, Any]], now: datetime) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO rollout_boards (rollout_id, board_id, position, wave, state, reason,"
            " version_before, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    rollout_id,
                    r["board_id"],
                    r["position"],
                    r["wave"],
                    r["state"],
                    r["reason"],
                    r["version_before"],
                    now,
                )
                for r in rows
            ],
        )


def get_rollout(conn: Conn, rollout_id: int, *, lock: bool = False) -> RolloutRow | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_ROLLOUT} FROM rollouts WHERE id = %s{' FOR UPDATE' if lock else ''}",
            (rollout_id,),
        ).fetchone()
    return RolloutRow.model_validate(row) if row else None


def list_rollouts(conn: Conn, limit: int = 100) -> list[RolloutRow]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {_ROLLOUT} FROM rollouts ORDER BY id DESC LIMIT %s", (limit,)
        ).fetchall()
    return [RolloutRow.model_validate(r) for r in rows]


def active_ids(conn: Conn) -> list[int]:
    """Rollouts the engine follows: active ones, and ended ones with boards
    still in flight (their progress stays visible)."""
    rows = conn.execute(
        "SELECT id FROM rollouts WHERE state IN ('scheduled', 'running', 'paused')"
        " UNION SELECT DISTINCT rollout_id FROM rollout_boards"
        "  WHERE state IN ('sent', 'downloading', 'installed') ORDER BY 1"
    ).fetchall()
    return [int(r[0]) for r in rows]


def boards_of(conn: Conn, rollout_id: int) -> list[BoardRow]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {_BOARD} FROM rollout_boards WHERE rollout_id = %s ORDER BY position",
            (rollout_id,),
        ).fetchall()
    return [BoardRow.model_validate(r) for r in rows]


def save_board(conn: Conn, board: BoardRow, now: datetime) -> None:
    conn.execute(
        "UPDATE rollout_boards SET state = %s, reason = %s, request_id = %s, version_after = %s,"
        " sent_at = %s, installed_at = %s, updated_at = %s"
        " WHERE rollout_id = %s AND board_id = %s",
        (
            board.state,
            board.reason,
            board.request_id,
            board.version_after,
            board.sent_at,
            board.installed_at,
            now,
            board.rollout_id,
            board.board_id,
        ),
    )


def save_rollout(conn: Conn, rollout: RolloutRow, now: datetime) -> None:
    conn.execute(
        "UPDATE rollouts SET state = %s, reason = %s, current_wave = %s, next_wave_at = %s,"
        " finished_at = %s, updated_at = %s WHERE id = %s",
        (
            rollout.state,
            rollout.reason,
            rollout.current_wave,
            rollout.next_wave_at,
            rollout.finished_at,
            now,
            rollout.id,
        ),
    )


def update_events(conn: Conn, board_id: str, rollout_id: int, version: str) -> list[dict[str, Any]]:
    """The board's ``update`` events for this rollout and version, oldest first."""
    rows = conn.execute(
        "SELECT details FROM board_events WHERE device_id = %s AND type = 'update'"
        " AND details->>'rollout_id' = %s AND details->>'version' = %s"
        " ORDER BY measured_at, boot, seq",
        (board_id, str(rollout_id), version),
    ).fetchall()
    return [dict(r[0]) for r in rows]


def board_place(conn: Conn, board_id: str) -> tuple[int, bool] | None:
    """The board's site and whether it is enabled; None when it is gone."""
    row = conn.execute("SELECT site_id, enabled FROM boards WHERE id = %s", (board_id,)).fetchone()
    return None if row is None else (int(row[0]), bool(row[1]))


def updating_elsewhere(conn: Conn, board_id: str, rollout_id: int) -> int | None:
    """Another rollout whose update is in flight on the board, if any."""
    row = conn.execute(
        "SELECT rollout_id FROM rollout_boards WHERE board_id = %s AND rollout_id <> %s"
        " AND state IN ('sent', 'downloading', 'installed') LIMIT 1",
        (board_id, rollout_id),
    ).fetchone()
    return None if row is None else int(row[0])


def last_update(conn: Conn, board_id: str) -> tuple[BoardRow, str] | None:
    """The board's place in its newest rollout and that rollout's version
    (the board page)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT rb.rollout_id, rb.board_id, rb.position, rb.wave, rb.state, rb.reason,"
            " rb.request_id, rb.version_before, rb.version_after, rb.sent_at, rb.installed_at,"
            " rb.updated_at, r.version AS target FROM rollout_boards rb"
            " JOIN rollouts r ON r.id = rb.rollout_id WHERE rb.board_id = %s"
            " ORDER BY rb.rollout_id DESC LIMIT 1",
            (board_id,),
        ).fetchone()
    if row is None:
        return None
    target = str(row.pop("target"))
    return BoardRow.model_validate(row), target


def counts(conn: Conn, rollout_ids: list[int]) -> dict[int, dict[str, int]]:
    """Boards per state of each rollout."""
    found: dict[int, dict[str, int]] = {i: {} for i in rollout_ids}
    for rollout_id, state, n in conn.execute(
        "SELECT rollout_id, state, count(*) FROM rollout_boards WHERE rollout_id = ANY(%s)"
        " GROUP BY rollout_id, state",
        (rollout_ids,),
    ):
        found[int(rollout_id)][str(state)] = int(n)
    return found


def unknown_boards(conn: Conn, board_ids: list[str]) -> list[str]:
    known = {
        str(r[0]) for r in conn.execute("SELECT id FROM boards WHERE id = ANY(%s)", (board_ids,))
    }
    return sorted(set(board_ids) - known)


def unknown_sites(conn: Conn, site_ids: list[int]) -> list[int]:
    known = {
        int(r[0]) for r in conn.execute("SELECT id FROM sites WHERE id = ANY(%s)", (site_ids,))
    }
    return sorted(set(site_ids) - known)


def organisation_exists(conn: Conn, organisation_id: int) -> bool:
    row = conn.execute("SELECT 1 FROM organisations WHERE id = %s", (organisation_id,)).fetchone()
    return row is not None


#: The paged list of a rollout's boards (GET /api/v1/rollouts/{id}/boards):
#: by position (the rollout's order, default) or problems first (failed and
#: rolled back, then the rest), each by position.
BOARDS_KEYSET = Keyset(
    name="rollout_boards",
    tiebreak=Key("position", "int"),
    sorts={"position": Key("position", "int"), "problems": Key("problem_rank", "int")},
    default=("position",),
    default_descending=False,
)


def last_wave(conn: Conn, rollout_id: int) -> int:
    row = conn.execute(
        "SELECT coalesce(max(wave), 0) FROM rollout_boards WHERE rollout_id = %s", (rollout_id,)
    ).fetchone()
    return int(row[0]) if row else 0


def boards_page(
    conn: Conn, rollout_id: int, paging: ListParams, *, states: list[str] | None = None
) -> CursorPage[BoardRow]:
    """One page of a rollout's boards (``states``: only boards in these)."""
    where = ["rollout_id = %s"]
    params: list[Any] = [rollout_id]
    if states:
        where.append("state = ANY(%s)")
        params.append(states)
    return fetch_keyset_page(
        conn,
        f"SELECT {_BOARD}, CASE WHEN state IN ('failed', 'rolled_back') THEN 0 ELSE 1 END"
        f" AS problem_rank FROM rollout_boards WHERE {' AND '.join(where)}",
        params,
        paging,
        keyset=BOARDS_KEYSET,
        model=BoardRow,
    )
