"""SQL for the engine: board status, its history, rule conditions, inputs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

import psycopg
from pydantic import BaseModel, ValidationError

import fleet_protocol as fp
from fleet_server.datausage import judging
from fleet_server.engine.conditions import Condition
from fleet_server.engine.state import BoardStatus, StateReport, Transition
from fleet_server.engine.telemetry_rules import LATEST_MODELS, BoardInputs, Reading

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
M = TypeVar("M", bound=BaseModel)

#: How far behind the server a board's clock may be and its rows still count
#: in the engine's windows over raw telemetry: they select by received_at,
#: and bound measured_at only so TimescaleDB searches the newest chunks.
CLOCK_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class BoardPlace:
    board_id: str
    site_id: int
    organisation_id: int
    heartbeat_interval_s: int


def boards(conn: Conn) -> dict[str, BoardPlace]:
    rows = conn.execute(
        "SELECT b.id, b.site_id, s.organisation_id, b.heartbeat_interval_s"
        " FROM boards b JOIN sites s ON s.id = b.site_id WHERE b.enabled"
    ).fetchall()
    return {r[0]: BoardPlace(r[0], r[1], r[2], r[3]) for r in rows}


def statuses(conn: Conn) -> dict[str, BoardStatus]:
    rows = conn.execute(
        "SELECT board_id, state, since, reason, boot, seq, last_seen_at, heartbeat_interval_s"
        " FROM board_status"
    ).fetchall()
    return {r[0]: BoardStatus(*r) for r in rows}


def save_transition(conn: Conn, transition: Transition, now: datetime) -> None:
    after = transition.after
    conn.execute(
        """INSERT INTO board_status (board_id, state, reason, since, boot, seq, last_seen_at,
                                     heartbeat_interval_s, updated_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (board_id) DO UPDATE SET state = EXCLUDED.state,
               reason = EXCLUDED.reason, since = EXCLUDED.since, boot = EXCLUDED.boot,
               seq = EXCLUDED.seq, last_seen_at = EXCLUDED.last_seen_at,
               heartbeat_interval_s = EXCLUDED.heartbeat_interval_s,
               updated_at = EXCLUDED.updated_at""",
        (
            after.board_id,
            after.state,
            after.reason,
            after.since,
            after.boot,
            after.seq,
            after.last_seen_at,
            after.heartbeat_interval_s,
            now,
        ),
    )
    if transition.changed:
        conn.execute(
            "INSERT INTO board_status_history (board_id, at, state, previous, reason, boot, seq)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                after.board_id,
                after.since,
                after.state,
                transition.before.state,
                after.reason,
                after.boot,
                after.seq,
            ),
        )


def state_reports(conn: Conn, since: datetime | None) -> list[tuple[str, StateReport]]:
    """State messages received after ``since`` (all latest ones when None)."""
    if since is None:
        rows = conn.execute(
            "SELECT device_id, data->>'status', boot, seq, received_at, data->>'reason',"
            " (data->>'heartbeat_interval_s')::int FROM board_latest WHERE kind = 'state'"
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT device_id, status, boot, seq, received_at, reason, heartbeat_interval_s"
            " FROM board_states WHERE stored_at >= %s ORDER BY received_at, boot, seq",
            (since,),
        ).fetchall()
    return [(r[0], StateReport(r[1], r[2], r[3], r[4], r[5], r[6])) for r in rows]


def heartbeats(conn: Conn, since: datetime | None) -> list[tuple[str, datetime]]:
    """Latest heartbeat receipt per board, changed after ``since``."""
    rows = conn.execute(
        "SELECT device_id, received_at FROM board_latest WHERE kind = 'heartbeat'"
        " AND (%s::timestamptz IS NULL OR stored_at >= %s)",
        (since, since),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def last_power(conn: Conn, board_ids: list[str]) -> dict[str, bool | None]:
    """mains_present of each board's newest power reading (None when unknown)."""
    rows = conn.execute(
        "SELECT device_id, (data->>'mains_present')::boolean FROM board_latest"
        " WHERE kind = 'power' AND device_id = ANY(%s)",
        (board_ids,),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def conditions(conn: Conn, prefix: str) -> dict[str, Condition]:
    rows = conn.execute(
        "SELECT dedupe_key, rule, active, active_since, inactive_since, flips"
        " FROM rule_conditions WHERE dedupe_key LIKE %s",
        (prefix + "%",),
    ).fetchall()
    return {r[0]: Condition(r[0], r[1], r[2], r[3], r[4], tuple(r[5])) for r in rows}


def save_condition(conn: Conn, cond: Condition, now: datetime) -> None:
    conn.execute(
        """INSERT INTO rule_conditions (dedupe_key, rule, active, active_since, inactive_since,
                                        flips, updated_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (dedupe_key) DO UPDATE SET active = EXCLUDED.active,
               active_since = EXCLUDED.active_since, inactive_since = EXCLUDED.inactive_since,
               flips = EXCLUDED.flips, updated_at = EXCLUDED.updated_at""",
        (
            cond.key,
            cond.rule,
            cond.active,
            cond.active_since,
            cond.inactive_since,
            list(cond.flips),
            now,
        ),
    )


def telemetry_inputs(
    conn: Conn, now: datetime, window_s: float, *, data_budget_default: int | None = None
) -> dict[str, BoardInputs]:
    """Latest readings, network averages, restarts, spool drops and the
    month's 4G data against its budget (``data_budget_default``: bytes,
    FLEET_DATA_BUDGET_MB) per board.
    Windows select rows by receipt (the server's clock); measured_at only
    lets TimescaleDB skip old chunks, with ``CLOCK_SLACK`` to spare."""
    inputs: dict[str, BoardInputs] = {}
    for device, kind, data, measured_at, received_at, observed_at in conn.execute(
        "SELECT device_id, kind, data, measured_at, received_at, observed_at FROM board_latest"
        " WHERE kind = ANY(%s)",
        (list(LATEST_MODELS),),
    ):
        model = read_data(LATEST_MODELS[kind], data, device, kind)
        if model is not None:
            reading = Reading(model, measured_at, received_at, observed_at)
            setattr(inputs.setdefault(device, BoardInputs()), kind, reading)
    network_from = now - timedelta(seconds=window_s)
    for device, loss, rtt in conn.execute(
        "SELECT device_id, avg(loss_percent), avg(rtt_ms) FROM telemetry_network"
        " WHERE received_at > %s AND measured_at > %s GROUP BY device_id",
        (network_from, network_from - CLOCK_SLACK),
    ):
        board = inputs.setdefault(device, BoardInputs())
        board.loss_avg = None if loss is None else float(loss)
        board.rtt_avg = None if rtt is None else float(rtt)
    hour_ago = now - timedelta(hours=1)
    for device, boots in conn.execute(
        "SELECT device_id, count(DISTINCT boot) FROM board_states"
        " WHERE received_at > %s GROUP BY device_id",
        (hour_ago,),
    ):
        inputs.setdefault(device, BoardInputs()).boots_last_hour = int(boots)
    for device, dropped in conn.execute(
        "SELECT device_id, max(spool_dropped) - min(spool_dropped) FROM telemetry_heartbeat"
        " WHERE received_at > %s AND measured_at > %s GROUP BY device_id",
        (hour_ago, hour_ago - CLOCK_SLACK),
    ):
        inputs.setdefault(device, BoardInputs()).dropped_last_hour = int(dropped or 0)
    windows: dict[str, list[tuple[time, time]]] = {}
    for board_id, start, end in conn.execute(
        """SELECT b.id, w.starts_at, w.ends_at FROM boards b
             JOIN broadcast_windows w ON w.board_id = b.id
                OR (w.site_id = b.site_id AND NOT EXISTS (
                    SELECT 1 FROM broadcast_windows o WHERE o.board_id = b.id))"""
    ):
        windows.setdefault(board_id, []).append((start, end))
    for board_id, rows in windows.items():
        inputs.setdefault(board_id, BoardInputs()).windows = sorted(rows)
    for board_id, judged in judging.judgements(conn, now, data_budget_default).items():
        inputs.setdefault(board_id, BoardInputs()).data_budget = judged
    return inputs


def rule_overrides(conn: Conn) -> tuple[dict[int, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(site_id -> {rule: params}, board_id -> {rule: params}). An
    organisation's override is each of its sites' unless the site's own
    says otherwise (threshold by threshold)."""
    sites: dict[int, dict[str, Any]] = {}
    boards_: dict[str, dict[str, Any]] = {}
    for rule, site_id, board_id, params, _level in conn.execute(
        """SELECT r.rule, s.id, NULL, r.params, 0 AS level FROM rule_overrides r
             JOIN sites s ON s.organisation_id = r.organisation_id
           UNION ALL
           SELECT rule, site_id, board_id, params, 1 FROM rule_overrides
            WHERE organisation_id IS NULL
           ORDER BY level"""
    ):
        target = sites.setdefault(site_id, {}) if site_id else boards_.setdefault(board_id, {})
        target[rule] = {**target.get(rule, {}), **params}
    return sites, boards_


def approved_content(conn: Conn) -> dict[str, tuple[datetime, datetime | None]]:
    """sha256 -> (valid_from, valid_to) of the approved content registry."""
    rows = conn.execute("SELECT sha256, valid_from, valid_to FROM content_items").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def displays(
    conn: Conn, since: datetime | None = None
) -> dict[str, tuple[fp.DisplayData, datetime]]:
    """Each board's newest display reading (changed after ``since``) and when,
    by the server's clock, it was measured (observed_at)."""
    rows = conn.execute(
        "SELECT device_id, data, observed_at FROM board_latest WHERE kind = 'display'"
        " AND (%s::timestamptz IS NULL OR stored_at >= %s)",
        (since, since),
    ).fetchall()
    found = {r[0]: (read_data(fp.DisplayData, r[1], r[0], "display"), r[2]) for r in rows}
    return {board: (data, at) for board, (data, at) in found.items() if data is not None}


def read_data(model: type[M], data: dict[str, Any], device: str, kind: str) -> M | None:
    """A ``board_latest`` row's data back in the protocol's model (ingest
    stored it from one: ``model_dump_json``), or None, logged, for a row no
    longer valid under the current protocol — its rules then cannot tell."""
    try:
        return model.model_validate(data, strict=False)  # JSON types: times are text
    except ValidationError as exc:
        log.warning("board_latest %s/%s does not read back: %s", device, kind, exc)
        return None


def prune_conditions(conn: Conn, now: datetime, quiet_s: float = 3600) -> None:
    """Forget conditions that have been quiet for an hour and have no
    incident: they would only make every pass read more."""
    conn.execute(
        """DELETE FROM rule_conditions c
            WHERE NOT c.active AND c.inactive_since < %s
              AND NOT EXISTS (SELECT 1 FROM incidents i
                               WHERE i.dedupe_key = c.dedupe_key AND i.state <> 'resolved')""",
        (now - timedelta(seconds=quiet_s),),
    )


def save_last_seen(conn: Conn, seen: dict[str, datetime]) -> None:
    """Write a batch of last-heartbeat times (one statement)."""
    if not seen:
        return
    conn.execute(
        """UPDATE board_status s SET last_seen_at = v.at
             FROM unnest(%s::text[], %s::timestamptz[]) AS v(board_id, at)
            WHERE s.board_id = v.board_id
              AND (s.last_seen_at IS NULL OR s.last_seen_at < v.at)""",
        (list(seen), list(seen.values())),
    )


def database_now(conn: Conn) -> datetime:
    """The database's transaction time: the cursor of what was read."""
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    now: datetime = row[0]
    return now


def try_lead(conn: Conn, lock_key: int) -> bool:
    """Take the engine leader lock on ``conn`` (held until it closes)."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key,)).fetchone()
    return bool(row and row[0])


def listen(conn: Conn, channel: str) -> None:
    """Wake on NOTIFYs of ``channel`` (a constant of ours, never input)."""
    conn.execute(f"LISTEN {channel}")


def site_name(conn: Conn, site_id: int) -> str:
    """A site's name, for what the engine writes about it (a ticket's title)."""
    row = conn.execute("SELECT name FROM sites WHERE id = %s", (site_id,)).fetchone()
    return str(row[0]) if row else f"site {site_id}"


def forget_board_conditions(conn: Conn, board_id: str) -> None:
    """The rule conditions of a board that is gone (disabled or removed)."""
    conn.execute("DELETE FROM rule_conditions WHERE dedupe_key LIKE %s", (f"board:{board_id}:%",))
