"""Commands and desired configuration in PostgreSQL (migration 0012).

Every read derives the state through ``board_command_state(state,
expires_at, at)``, so "expired" is decided in one SQL function, at the time
the caller passes (the API's clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel

import fleet_protocol as fp
from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition

Conn = psycopg.Connection[Any]

CommandState = Literal["queued", "sent", "delivered", "succeeded", "failed", "rejected", "expired"]
#: States in which a command still waits for its board.
WAITING: tuple[CommandState, ...] = ("queued", "sent", "delivered")
#: Rows the background retry takes per round.
RETRY_LIMIT = 100
#: A command waiting for its board is published again at least this often,
#: in case the board's return was not seen (ingest away, clocks apart).
AWAITING_RETRY = timedelta(seconds=60)


class CommandRecord(BaseModel):
    request_id: str
    board_id: str
    command: str
    args: dict[str, Any]
    note: str | None
    state: CommandState
    created_by: str
    created_at: datetime
    expires_at: datetime
    attempts: int
    #: published, but the board was not connected: sent again when it is back
    awaiting_board: bool
    sent_at: datetime | None
    delivered_at: datetime | None
    finished_at: datetime | None
    result_status: str | None
    output: dict[str, Any] | None
    error: str | None

    def request(self) -> fp.CommandRequest:
        """The message on ``cmd/<name>``."""
        return fp.CommandRequest(
            schema_version=1,
            device_id=self.board_id,
            request_id=self.request_id,
            command=self.command,
            issued_at=self.created_at,
            expires_at=self.expires_at,
            args=self.args,
        )


class DesiredVersion(BaseModel):
    version: int
    config: dict[str, Any]
    created_by: str
    created_at: datetime
    published_at: datetime | None

    def message(self, board_id: str) -> fp.ConfigDesired:
        return fp.ConfigDesired(
            schema_version=1,
            device_id=board_id,
            version=self.version,
            issued_at=self.created_at,
            config=self.config,
        )


class ReportedConfig(BaseModel):
    version: int
    applied: bool
    error: str | None
    config: dict[str, Any]
    measured_at: datetime
    received_at: datetime


def command_select(alias: str = "c", table: str = "board_commands", now: str = "%s") -> str:
    """Columns of a CommandRecord; the first parameter (``now``) is the time
    the state is shown at."""
    return f"""
        SELECT {alias}.id, {alias}.request_id, {alias}.board_id, {alias}.command, {alias}.args,
               {alias}.note,
               board_command_state({alias}.state, {alias}.expires_at, {now}::timestamptz) AS state,
               {alias}.created_by, {alias}.created_at, {alias}.expires_at, {alias}.attempts,
               {alias}.awaiting_board,
               {alias}.sent_at, {alias}.delivered_at, {alias}.finished_at,
               {alias}.result_status, {alias}.output, {alias}.error
          FROM {table} {alias}"""


def insert_command(
    conn: Conn,
    *,
    request_id: str,
    board_id: str,
    command: str,
    args: dict[str, Any],
    note: str | None,
    created_by: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """A new command, reserved for the caller's own first publish attempt
    (``last_attempt_at``) so the background retry leaves it alone meanwhile."""
    conn.execute(
        "INSERT INTO board_commands (request_id, board_id, command, args, note, created_by,"
        " created_at, expires_at, attempts, last_attempt_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, %s)",
        (request_id, board_id, command, Jsonb(args), note, created_by, now, expires_at, now),
    )


def get_command(conn: Conn, request_id: str, now: datetime) -> CommandRecord | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{command_select()} WHERE c.request_id = %s", (now, request_id)
        ).fetchone()
    return CommandRecord.model_validate(row) if row else None


def pending_command(conn: Conn, board_id: str, command: str, now: datetime) -> CommandRecord | None:
    """The board's newest ``command`` still waiting for its answer at ``now``
    (queued, sent or delivered, not expired), taking a transaction lock on
    (board, command) first so two requests at once see each other."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{command}\x1f{board_id}",)
    )
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{command_select()} WHERE c.board_id = %s AND c.command = %s"
            " AND board_command_state(c.state, c.expires_at, %s::timestamptz)"
            " IN ('queued', 'sent', 'delivered') ORDER BY c.created_at DESC, c.id DESC LIMIT 1",
            (now, board_id, command, now),
        ).fetchone()
    return CommandRecord.model_validate(row) if row else None


def recent_commands(conn: Conn, board_id: str, now: datetime, limit: int) -> list[CommandRecord]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"{command_select()} WHERE c.board_id = %s ORDER BY c.created_at DESC, c.id DESC"
            " LIMIT %s",
            (now, board_id, limit),
        ).fetchall()
    return [CommandRecord.model_validate(r) for r in rows]


def mark_sent(conn: Conn, request_ids: list[str], now: datetime) -> None:
    """The broker acknowledged these publishes for the board's session. A
    command the board already answered keeps its final state."""
    if request_ids:
        conn.execute(
            "UPDATE board_commands SET sent_at = coalesce(sent_at, %s), awaiting_board = false,"
            " state = CASE WHEN state = 'queued' THEN 'sent' ELSE state END"
            " WHERE request_id = ANY(%s)",
            (now, request_ids),
        )


def mark_awaiting(conn: Conn, request_ids: list[str], now: datetime) -> None:
    """The broker had no subscriber for these (the board is not connected):
    they stay queued until the board is back."""
    if request_ids:
        conn.execute(
            "UPDATE board_commands SET awaiting_board = true, last_attempt_at = %s"
            " WHERE request_id = ANY(%s) AND state = 'queued'",
            (now, request_ids),
        )


def release(conn: Conn, request_id: str) -> None:
    """Nothing went out (no connection): the retry may take it at once."""
    conn.execute(
        "UPDATE board_commands SET last_attempt_at = NULL"
        " WHERE request_id = %s AND state = 'queued'",
        (request_id,),
    )


def claim_queued(conn: Conn, now: datetime, retry_after: timedelta) -> list[CommandRecord]:
    """Queued, unexpired commands to publish (again), marked as attempted by
    the caller so other API processes skip them:

    - never published (the broker was away), or published without a PUBACK
      within ``retry_after``;
    - published while the board was not connected (``awaiting_board``) and
      the board has come back since: its birth ("online") reached ingest
      after the last attempt; and, should that be missed, every
      ``AWAITING_RETRY`` anyway.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """WITH claimed AS (
                   UPDATE board_commands c
                      SET attempts = c.attempts + 1, last_attempt_at = %(now)s
                    WHERE c.id IN (
                          SELECT q.id FROM board_commands q
                           WHERE q.state = 'queued'
                             AND q.expires_at > %(now)s + interval '1 second'
                             AND (q.last_attempt_at IS NULL
                                  OR (NOT q.awaiting_board AND q.last_attempt_at <= %(retry)s)
                                  OR (q.awaiting_board AND q.last_attempt_at <= %(awaiting)s)
                                  OR (q.awaiting_board AND EXISTS (
                                        SELECT 1 FROM board_latest l
                                         WHERE l.device_id = q.board_id AND l.kind = 'state'
                                           AND l.data->>'status' = 'online'
                                           AND l.received_at > q.last_attempt_at)))
                           ORDER BY q.created_at
                           LIMIT %(limit)s
                           FOR UPDATE SKIP LOCKED)
                   RETURNING c.*)
               """
            + command_select("claimed", table="claimed", now="%(now)s"),
            {
                "now": now,
                "retry": now - retry_after,
                "awaiting": now - AWAITING_RETRY,
                "limit": RETRY_LIMIT,
            },
        ).fetchall()
    return [CommandRecord.model_validate(r) for r in rows]


def has_backlog(conn: Conn, now: datetime) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM board_commands WHERE state = 'queued' AND expires_at > %s)"
        " OR EXISTS (SELECT 1 FROM board_config_desired WHERE published_at IS NULL)",
        (now,),
    ).fetchone()
    return bool(row and row[0])


# -- desired configuration -----------------------------------------------------------


def add_desired(
    conn: Conn, board_id: str, config: dict[str, Any], created_by: str, now: datetime
) -> DesiredVersion:
    """The next version for ``board_id``: above every version stored or
    reported by the board (a board that reported version 7 from an earlier
    server ignores anything not newer). Serialised per board by locking its
    row."""
    conn.execute("SELECT 1 FROM boards WHERE id = %s FOR UPDATE", (board_id,))
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            """INSERT INTO board_config_desired (board_id, version, config, created_by, created_at)
               VALUES (%s, 1 + greatest(
                   (SELECT coalesce(max(version), 0) FROM board_config_desired WHERE board_id = %s),
                   (SELECT coalesce(max(version), 0) FROM config_reports WHERE device_id = %s)),
                   %s, %s, %s)
               RETURNING version, config, created_by, created_at, published_at""",
            (board_id, board_id, board_id, Jsonb(config), created_by, now),
        ).fetchone()
    assert row is not None
    return DesiredVersion.model_validate(row)


def desired_versions(conn: Conn, board_id: str, limit: int = 20) -> list[DesiredVersion]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT version, config, created_by, created_at, published_at"
            " FROM board_config_desired WHERE board_id = %s ORDER BY version DESC LIMIT %s",
            (board_id, limit),
        ).fetchall()
    return [DesiredVersion.model_validate(r) for r in rows]


def latest_desired(conn: Conn, board_id: str) -> DesiredVersion | None:
    found = desired_versions(conn, board_id, 1)
    return found[0] if found else None


def last_report(conn: Conn, board_id: str, *, applied: bool | None = None) -> ReportedConfig | None:
    """The board's newest configuration report (or newest applied one)."""
    condition = "" if applied is None else " AND applied = %s"
    params: list[Any] = [board_id] + ([] if applied is None else [applied])
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT version, applied, error, config, measured_at, received_at"
            f" FROM config_reports WHERE device_id = %s{condition}"
            " ORDER BY received_at DESC, boot DESC, seq DESC LIMIT 1",
            params,
        ).fetchone()
    return ReportedConfig.model_validate(row) if row else None


_COLUMNS = "version, applied, error, config, measured_at, received_at"
_NEWEST = " ORDER BY received_at DESC, boot DESC, seq DESC LIMIT 1"
Reports = tuple[ReportedConfig | None, ReportedConfig | None]


def desired_and_reports(conn: Conn, board_id: str) -> tuple[list[DesiredVersion], Reports]:
    """:func:`desired_versions`, and the board's newest configuration report
    and its newest applied one (the same report when the newest was applied),
    in one round trip (pipeline mode: the reports' statement is sent first
    and read after)."""
    with conn.pipeline(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"(SELECT false AS applied_only, {_COLUMNS} FROM config_reports"
            f" WHERE device_id = %s{_NEWEST}) UNION ALL (SELECT true, {_COLUMNS}"
            f" FROM config_reports WHERE device_id = %s AND applied = true{_NEWEST})",
            (board_id, board_id),
        )
        desired = desired_versions(conn, board_id)
        found = {r.pop("applied_only"): ReportedConfig.model_validate(r) for r in cur.fetchall()}
    return desired, (found.get(False), found.get(True))


def lock_desired(conn: Conn, board_id: str) -> None:
    """Serialise publishing a board's desired configuration across API
    processes (until the transaction ends), so the retained message is
    always the newest version."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('config/desired:' || %s))", (board_id,))


def mark_published(conn: Conn, board_id: str, version: int, now: datetime) -> None:
    conn.execute(
        "UPDATE board_config_desired SET published_at = coalesce(published_at, %s)"
        " WHERE board_id = %s AND version = %s",
        (now, board_id, version),
    )


def unpublished_boards(conn: Conn, limit: int = RETRY_LIMIT) -> list[str]:
    """Boards whose newest desired version the broker has not acknowledged."""
    rows = conn.execute(
        """SELECT d.board_id FROM board_config_desired d
            WHERE d.published_at IS NULL
              AND d.version = (SELECT max(version) FROM board_config_desired x
                                WHERE x.board_id = d.board_id)
            ORDER BY d.created_at LIMIT %s""",
        (limit,),
    ).fetchall()
    return [str(r[0]) for r in rows]


# -- what the API reads ----------------------------------------------------------------

#: Columns a board's command list may be sorted by.
COMMAND_SORTABLE = ("created_at", "expires_at", "state", "command", "finished_at")


def command_page(
    conn: Conn,
    board_id: str,
    paging: ListParams,
    now: datetime,
    state: CommandState | None = None,
) -> Page[CommandRecord]:
    """A board's commands, newest first, as they stand at ``now``."""
    select = f"{command_select()} WHERE c.board_id = %s"
    params: list[Any] = [now, board_id]
    if state is not None:
        select = f"SELECT * FROM ({select}) s WHERE s.state = %s"
        params.append(state)
    return fetch_page(
        conn,
        select,
        params,
        paging,
        sortable=COMMAND_SORTABLE,
        default="created_at DESC",
        tiebreak="id DESC",
        model=CommandRecord,
    )


def command_in_scope(
    conn: Conn, scope: Scope, request_id: str, now: datetime
) -> CommandRecord | None:
    """One command to a board ``scope`` sees, as it stands at ``now``."""
    clause, params = sites_condition(scope, "b.site_id")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{command_select()} JOIN boards b ON b.id = c.board_id"
            f" WHERE c.request_id = %s AND {clause}",
            [now, request_id, *params],
        ).fetchone()
    return CommandRecord.model_validate(row) if row else None
