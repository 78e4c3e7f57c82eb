"""SQL for "why is it offline": the evidence about one board around one
moment, read from PostgreSQL, and the cause stored on its incident.

Every query is bounded: one board's raw telemetry by ``(device_id,
measured_at)`` (the per-board indexes, with ``SKEW`` to spare for the
board's clock), the fleet's by ``received_at`` (the receipt indexes) over a
few minutes, a site's few boards by id. A reading's time is the server's
reckoning of when it was measured (``_OBSERVED``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import psycopg

from fleet_server.engine import pipeline_health
from fleet_server.engine.offline_evidence import (
    LOOKBACK,
    TOGETHER,
    Evidence,
    FleetPulse,
    HeartbeatReading,
    NetworkReading,
    PowerReading,
    SitePeer,
    StateReading,
)

Conn = psycopg.Connection[Any]

#: how far a board's clock may be off and its readings still be found
SKEW = timedelta(hours=1)
#: readings measured this long after the loss still tell about it (a spool replay)
AFTER = timedelta(hours=2)
#: When the server reckons a reading was measured: its receipt minus the time
#: it waited on the board (``observed_at``) — unless it was sent long before it
#: arrived (held by the broker while ingest was away): then the board's clock.
_OBSERVED = (
    "CASE WHEN received_at - sent_at > interval '2 minutes' THEN measured_at"
    " ELSE received_at - greatest(sent_at - measured_at, interval '0') END"
)
_ROWS = 400


def gather(
    conn: Conn,
    board_id: str,
    *,
    state: str,
    silent_from: datetime,
    lost_at: datetime,
    boot: int | None,
    interval_s: int,
    now: datetime,
) -> Evidence:
    """What the server knows about ``board_id`` going at ``silent_from``
    (declared gone at ``lost_at``), as of ``now``."""
    until = min(now, lost_at + AFTER)
    site = conn.execute("SELECT site_id FROM boards WHERE id = %s", (board_id,)).fetchone()
    site_id = int(site[0]) if site else None
    return Evidence(
        board_id=board_id,
        state=state,
        silent_from=silent_from,
        lost_at=lost_at,
        boot=boot,
        interval_s=interval_s,
        power=_power(conn, board_id, silent_from - LOOKBACK, until),
        network=_network(conn, board_id, silent_from - LOOKBACK, until),
        states=_states(conn, board_id, silent_from - LOOKBACK, until),
        heartbeats=_heartbeats(
            conn, board_id, silent_from - timedelta(seconds=2 * interval_s), until
        ),
        site_peers=_site_peers(
            conn,
            board_id,
            site_id=site_id,
            silent_from=silent_from,
            lost_at=lost_at,
            interval_s=interval_s,
        ),
        fleet=_fleet(
            conn,
            board_id,
            site_id=site_id,
            silent_from=silent_from,
            lost_at=lost_at,
            interval_s=interval_s,
            now=now,
        ),
        uptime=pipeline_health.spans(conn, silent_from - LOOKBACK, until),
        now=now,
    )


def _window(start: datetime, end: datetime) -> dict[str, Any]:
    return {"from": start - SKEW, "to": end + SKEW, "start": start, "end": end}


def _power(conn: Conn, board: str, start: datetime, end: datetime) -> tuple[PowerReading, ...]:
    rows = conn.execute(
        f"""SELECT * FROM (
              SELECT {_OBSERVED} AS at, source, mains_present, on_battery, low_battery,
                     battery_percent, runtime_s
                FROM telemetry_power
               WHERE device_id = %(b)s AND measured_at BETWEEN %(from)s AND %(to)s
               ORDER BY measured_at DESC LIMIT {_ROWS}) r
             WHERE at BETWEEN %(start)s AND %(end)s ORDER BY at""",
        {"b": board, **_window(start, end)},
    ).fetchall()
    return tuple(PowerReading(*r) for r in rows)


def _network(conn: Conn, board: str, start: datetime, end: datetime) -> tuple[NetworkReading, ...]:
    rows = conn.execute(
        f"""SELECT * FROM (
              SELECT {_OBSERVED} AS at, link_up, loss_percent, rtt_ms, lte_signal_percent, boot
                FROM telemetry_network
               WHERE device_id = %(b)s AND measured_at BETWEEN %(from)s AND %(to)s
               ORDER BY measured_at DESC LIMIT {_ROWS}) r
             WHERE at BETWEEN %(start)s AND %(end)s ORDER BY at""",
        {"b": board, **_window(start, end)},
    ).fetchall()
    return tuple(NetworkReading(*r) for r in rows)


def _states(conn: Conn, board: str, start: datetime, end: datetime) -> tuple[StateReading, ...]:
    rows = conn.execute(
        """SELECT received_at, status, boot, reason FROM board_states
            WHERE device_id = %(b)s AND measured_at BETWEEN %(from)s AND %(to)s
              AND received_at BETWEEN %(start)s AND %(end)s
            ORDER BY received_at, boot, seq LIMIT 100""",
        {"b": board, **_window(start, end)},
    ).fetchall()
    return tuple(StateReading(*r) for r in rows)


def _heartbeats(
    conn: Conn, board: str, start: datetime, end: datetime
) -> tuple[HeartbeatReading, ...]:
    rows = conn.execute(
        f"""SELECT * FROM (
              SELECT {_OBSERVED} AS at, received_at, boot, uptime_s, replay
                FROM telemetry_heartbeat
               WHERE device_id = %(b)s AND measured_at BETWEEN %(from)s AND %(to)s
               ORDER BY measured_at LIMIT {_ROWS}) r
             WHERE at BETWEEN %(start)s AND %(end)s ORDER BY at""",
        {"b": board, **_window(start, end)},
    ).fetchall()
    return tuple(HeartbeatReading(*r) for r in rows)


def _site_peers(
    conn: Conn,
    board: str,
    *,
    site_id: int | None,
    silent_from: datetime,
    lost_at: datetime,
    interval_s: int,
) -> tuple[SitePeer, ...]:
    """The site's other enabled boards: when each went (a lost/stale
    transition near the loss, or its last heartbeat there), whether it was
    heard after this board went silent, and its mains before then."""
    if site_id is None:
        return ()
    peers = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM boards WHERE site_id = %s AND enabled AND id <> %s ORDER BY id",
            (site_id, board),
        )
    ]
    if not peers:
        return ()
    went = dict(
        conn.execute(
            """SELECT board_id, min(at) FROM board_status_history
                WHERE board_id = ANY(%s) AND state IN ('lost', 'stale')
                  AND at BETWEEN %s AND %s GROUP BY board_id""",
            (peers, silent_from - TOGETHER, lost_at + TOGETHER),
        ).fetchall()
    )
    grace = timedelta(seconds=interval_s)
    heard = dict(
        conn.execute(
            "SELECT device_id, received_at FROM board_latest"
            " WHERE kind = 'heartbeat' AND device_id = ANY(%s)",
            (peers,),
        ).fetchall()
    )
    mains = {
        r[0]: (not r[2] and r[1] is not False)
        for r in conn.execute(
            """SELECT DISTINCT ON (device_id) device_id, mains_present, on_battery
                 FROM telemetry_power
                WHERE device_id = ANY(%s) AND measured_at BETWEEN %s AND %s
                ORDER BY device_id, measured_at DESC""",
            (peers, silent_from - LOOKBACK - SKEW, lost_at + TOGETHER),
        )
    }
    found = []
    for peer in peers:
        last = heard.get(peer)
        went_at = went.get(peer)
        # a peer whose last heartbeat came about when this board went silent
        # went with it, even if the engine has not called it lost yet
        if went_at is None and last is not None and abs(last - silent_from) <= TOGETHER:
            went_at = last
        heard_after = last is not None and last > silent_from + grace + TOGETHER
        found.append(SitePeer(peer, went_at, heard_after, mains.get(peer)))
    return tuple(found)


def _fleet(
    conn: Conn,
    board: str,
    *,
    site_id: int | None,
    silent_from: datetime,
    lost_at: datetime,
    interval_s: int,
    now: datetime,
) -> FleetPulse | None:
    """Boards at other sites heard by ingest just before the board went
    silent, and how many of them were heard while it was; None when the
    silence is too short to tell (shorter than a heartbeat interval)."""
    interval = timedelta(seconds=interval_s)
    during_from = silent_from + interval
    during_to = min(now, silent_from + 3 * interval)
    waves = conn.execute(
        """SELECT count(DISTINCT s.device_id), count(DISTINCT b.site_id)
             FROM board_states s JOIN boards b ON b.id = s.device_id
            WHERE s.status = 'lost' AND s.received_at BETWEEN %s AND %s
              AND s.device_id <> %s AND b.site_id IS DISTINCT FROM %s""",
        (lost_at - TOGETHER, lost_at + TOGETHER, board, site_id),
    ).fetchone()
    wills, will_sites = (int(waves[0]), int(waves[1])) if waves else (0, 0)
    if during_to - during_from < interval:
        if not wills:
            return None
        return FleetPulse(0, 0, 0, wills, will_sites)
    row = conn.execute(
        """WITH heard AS (
               SELECT device_id,
                      bool_or(received_at <= %(silent)s) AS before,
                      bool_or(received_at > %(during_from)s) AS during
                 FROM telemetry_heartbeat
                WHERE received_at > %(before_from)s AND received_at <= %(during_to)s
                  AND measured_at > %(before_from)s - interval '1 day'
                  AND device_id <> %(board)s
                GROUP BY device_id)
           SELECT count(*) FILTER (WHERE h.before),
                  count(DISTINCT b.site_id) FILTER (WHERE h.before),
                  count(*) FILTER (WHERE h.before AND h.during)
             FROM heard h JOIN boards b ON b.id = h.device_id
            WHERE b.site_id IS DISTINCT FROM %(site)s""",
        {
            "silent": silent_from,
            "during_from": during_from,
            "during_to": during_to,
            "before_from": silent_from - 2 * interval,
            "board": board,
            "site": site_id,
        },
    ).fetchone()
    if row is None:
        return None
    return FleetPulse(int(row[0]), int(row[1]), int(row[2]), wills, will_sites)


# -- the cause on the incident -----------------------------------------------------


def stored_cause(conn: Conn, incident_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT details->'offline_cause' FROM incidents WHERE id = %s", (incident_id,)
    ).fetchone()
    return row[0] if row and isinstance(row[0], dict) else None


def save_cause(conn: Conn, incident_id: int, cause: dict[str, Any], now: datetime) -> None:
    conn.execute(
        "UPDATE incidents SET details = jsonb_set(details, '{offline_cause}', %s::jsonb),"
        " updated_at = %s WHERE id = %s",
        (json.dumps(cause), now, incident_id),
    )


def spool_drained(conn: Conn, board_id: str, since: datetime) -> bool:
    """The board's newest heartbeat came after ``since`` with nothing left in
    its spool: what it measured during the outage has arrived."""
    row = conn.execute(
        "SELECT received_at, (data->>'spool_pending')::bigint FROM board_latest"
        " WHERE device_id = %s AND kind = 'heartbeat'",
        (board_id,),
    ).fetchone()
    return bool(row and row[0] >= since and (row[1] or 0) == 0)
