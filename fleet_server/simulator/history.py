"""Seven days of history for the demo's first start, so its charts,
availability and compliance have figures from the first minute.

What the boards would have sent over the week — heartbeats, power, network
and camera readings every 5 minutes, display readings every 90 s (the
compliance job needs them: a sample holds at most 2 minutes) — written by
PostgreSQL itself (``INSERT … SELECT … generate_series``: a few seconds for
20 boards, nothing crosses the wire), with four episodes the records of
``history_records`` describe: a power cut that outlasted a site's UPS, a
camera down for a morning, a screen dark through a morning broadcast
window, an evening of poor 4G.

Rows carry their past times in ``stored_at`` too: the engine reads what was
stored after its cursor, and a week-old "online" must never look new.
Only on a database without telemetry (``has_history``); a second start
finds it and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg

from edge_agent import __version__ as agent_version
from edge_agent.simulation import SimulatedContent
from fleet_server.localtime import LOCAL_TZ, LOCAL_TZ_NAME
from fleet_server.simulator.boards import BoardSpec
from fleet_server.simulator.places import DEFAULT_WINDOWS

Conn = psycopg.Connection[Any]

HISTORY_DAYS = 7
READING_STEP_S = 300
DISPLAY_STEP_S = 90

#: What the boards played over the week (and the registry approved):
#: (content id, kind, language, title). One slot in twelve outside the
#: broadcast windows is advertising (the windows are for information,
#: Điều 8.1): about 5 % of a day, under the 10 % ceiling of Điều 8.3.
PLAYLIST: tuple[tuple[str, str, str, str], ...] = (
    (SimulatedContent().content_id, "propaganda", "vi", "Tuyên truyền tháng 11/2026"),
    ("ban-tin-bien-gioi-tuan-48", "propaganda", "vi", "Bản tin biên giới tuần 48"),
    ("an-toan-giao-thong-cuoi-nam", "propaganda", "vi", "An toàn giao thông dịp cuối năm"),
    ("huong-dan-xuat-nhap-canh", "propaganda", "vi-zh", "Hướng dẫn thủ tục xuất nhập cảnh"),
    ("quang-cao-du-lich-lai-chau", "advertising", "vi", "Du lịch Lai Châu — mùa hoa đào"),
)


def sha256_of(content_id: str) -> str:
    return SimulatedContent(content_id).sha256


@dataclass(frozen=True, slots=True)
class Span:
    """Something that went wrong on some boards from ``start`` to ``end``."""

    boards: tuple[str, ...]
    start: datetime
    end: datetime
    site: str = ""
    camera: str = ""


@dataclass(frozen=True, slots=True)
class PowerCut:
    """Mains lost at ``mains_lost``; the UPS ran out at ``dead`` (the boards
    went silent, last will "lost"); power and a new boot at ``back``."""

    site: str
    boards: tuple[str, ...]
    mains_lost: datetime
    dead: datetime
    back: datetime


@dataclass(frozen=True, slots=True)
class Week:
    """The week's bounds and its episodes (each None when the fleet has no
    board for it)."""

    boards: tuple[BoardSpec, ...]
    start: datetime
    end: datetime
    power_cut: PowerCut | None
    camera_down: Span | None
    screen_dark: Span | None
    slow_uplink: Span | None


def _local(day: date, hh_mm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hh_mm), LOCAL_TZ)


def _site(boards: Sequence[BoardSpec], prefer: tuple[str, ...], at_least: int = 1) -> list[str]:
    by_site: dict[str, list[str]] = {}
    for spec in boards:
        by_site.setdefault(spec.site, []).append(spec.device_id)
    for site in (*prefer, *by_site):
        if len(by_site.get(site, [])) >= at_least:
            return [site, *by_site[site]]
    return []


def plan(boards: Sequence[BoardSpec], now: datetime) -> Week:
    """The seven days before today (local) and today until ``now``, and
    what happened in them (pure)."""
    end = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    today = now.astimezone(LOCAL_TZ).date()
    # from local midnight: every past day of the week is whole
    start = _local(today - timedelta(days=HISTORY_DAYS), "00:00")
    cut = _site(boards, ("pa-nam-cum", "u-ma-tu-khoong", "phong-tho"), at_least=2)
    border = [b for b in boards if len(b.cameras) > 1]
    dark = _site(boards, ("tam-duong", "tan-uyen", "than-uyen"))
    slow = _site(boards, ("muong-te", "nam-nhun"))
    cut_day, camera_day = today - timedelta(days=4), today - timedelta(days=2)
    dark_day, slow_day = today - timedelta(days=3), today - timedelta(days=5)
    return Week(
        boards=tuple(boards),
        start=start,
        end=end,
        power_cut=PowerCut(
            cut[0],
            tuple(cut[1:]),
            _local(cut_day, "13:40"),
            _local(cut_day, "15:10"),
            _local(cut_day, "16:25"),
        )
        if cut
        else None,
        camera_down=Span(
            (border[-1].device_id,),
            _local(camera_day, "09:05"),
            _local(camera_day, "12:20"),
            border[-1].site,
            border[-1].cameras[-1],
        )
        if border
        else None,
        screen_dark=Span((dark[1],), _local(dark_day, "05:50"), _local(dark_day, "11:20"), dark[0])
        if dark
        else None,
        slow_uplink=Span(
            tuple(slow[1:]), _local(slow_day, "19:00"), _local(slow_day, "23:30"), slow[0]
        )
        if slow
        else None,
    )


def has_history(conn: Conn) -> bool:
    """Telemetry is stored already (history or a demo that ran before)."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM telemetry_heartbeat)").fetchone() == (True,)


#: Every (board, time) of the week on a grid, each board a few seconds off
#: the others; its boot (2 after a power cut), the seconds since that boot,
#: and whether it was off the air (no sample then).
_GRID = """
WITH grid AS (
    SELECT b.d AS device_id,
           g + make_interval(secs => abs(hashtext(b.d)) %% %(step)s) AS m,
           (extract(epoch FROM g - %(start)s) / %(step)s)::bigint AS n
      FROM unnest(%(boards)s::text[]) AS b(d)
     CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz,
                                make_interval(secs => %(step)s)) AS g
), s AS (
    SELECT device_id, m, n, m + interval '0.4 s' AS sent, m + interval '0.9 s' AS recv,
           device_id = ANY(%(cut)s) AND m >= %(back)s AS rebooted,
           device_id = ANY(%(cut)s) AND m >= %(mains_lost)s AND m < %(dead)s AS on_battery,
           (extract(epoch FROM m - %(mains_lost)s) / nullif(extract(epoch FROM
               %(dead)s::timestamptz - %(mains_lost)s), 0))::float8 AS drained,
           (extract(hour FROM m AT TIME ZONE %(tz)s)
               + extract(minute FROM m AT TIME ZONE %(tz)s) / 60)::float8 AS hour,
           random() AS r
      FROM grid
     WHERE NOT (device_id = ANY(%(cut)s) AND m >= %(dead)s AND m < %(back)s)
)
"""
_ENVELOPE = "device_id, boot, seq, measured_at, sent_at, received_at, stored_at, replay"
_ENVELOPE_VALUES = "CASE WHEN rebooted THEN 2 ELSE 1 END, n, m, sent, recv, recv, false"

_HEARTBEAT = f"""INSERT INTO telemetry_heartbeat ({_ENVELOPE}, uptime_s, agent_version,
        cpu_percent, memory_percent, disk_percent, temperature_c, clock_synced,
        spool_pending, spool_dropped)
    SELECT device_id, {_ENVELOPE_VALUES},
           CASE WHEN rebooted THEN extract(epoch FROM m - %(back)s)
                ELSE extract(epoch FROM m - %(start)s) + 2592000 END::bigint,
           %(version)s, 8 + 9 * (1 + sin(pi() * (hour - 9) / 12)) + 6 * r,
           36 + 10 * r, 41 + 6 * n * %(step)s / 604800.0,
           34 + 7 * (1 + sin(pi() * (hour - 8) / 12)) + 2 * r, true, 0, 0
      FROM s"""  # noqa: S608 - constants only

_POWER = f"""INSERT INTO telemetry_power ({_ENVELOPE}, source, mains_present, on_battery,
        low_battery, battery_percent, runtime_s, input_voltage_v, ups_status)
    SELECT device_id, {_ENVELOPE_VALUES}, 'simulated', NOT on_battery, on_battery,
           on_battery AND drained > 0.7,
           CASE WHEN on_battery THEN round((100 * (1 - drained))::numeric, 1) ELSE 100 END,
           CASE WHEN on_battery THEN (5400 * (1 - drained))::int ELSE 5400 END,
           CASE WHEN on_battery THEN 0 ELSE round((219 + 6 * r)::numeric, 1) END,
           CASE WHEN on_battery THEN 'OB DISCHRG' ELSE 'OL' END
      FROM s"""  # noqa: S608 - constants only

_NETWORK = f"""INSERT INTO telemetry_network ({_ENVELOPE}, interface, link_up, target,
        rtt_ms, loss_percent, rx_bytes, tx_bytes, lte_operator, lte_access_tech,
        lte_signal_percent, lte_rsrp_dbm)
    SELECT device_id, {_ENVELOPE_VALUES}, 'wwan0', true, 'fleet-server',
           CASE WHEN slow THEN 900 + 900 * r ELSE 38 + 25 * r + 15 * (hour BETWEEN 18 AND 22)::int
           END, CASE WHEN slow THEN 15 + 15 * r ELSE (r > 0.93)::int * 2 END,
           n * 180000, n * 60000, 'Viettel', 'lte',
           CASE WHEN slow THEN 22 + 8 * r ELSE 52 + 12 * r END,
           CASE WHEN slow THEN -118 + 8 * r ELSE -90 + 12 * r END
      FROM (SELECT *, device_id = ANY(%(slow)s) AND m >= %(slow_from)s AND m < %(slow_to)s
                      AS slow FROM s) x"""  # noqa: S608 - constants only

_CAMERA = f"""INSERT INTO telemetry_camera ({_ENVELOPE}, camera_id, reachable, rtsp_answered,
        status, latency_ms, error)
    SELECT device_id, {_ENVELOPE_VALUES}, c.camera_id, NOT down, NOT down,
           CASE WHEN down THEN 'timeout' ELSE 'ok' END,
           CASE WHEN down THEN NULL ELSE 18 + 15 * r END,
           CASE WHEN down THEN 'no TCP connection within 3s' END
      FROM s JOIN unnest(%(camera_boards)s::text[], %(camera_ids)s::text[]) AS c(board, camera_id)
        ON c.board = s.device_id
     CROSS JOIN LATERAL (SELECT s.device_id = %(down_board)s AND c.camera_id = %(down_camera)s
                                AND m >= %(down_from)s AND m < %(down_to)s AS down) d"""  # noqa: S608 - constants only

_DISPLAY = f"""INSERT INTO telemetry_display ({_ENVELOPE}, screen_on, player_running,
        content_id, content_kind, content_sha256, content_language, content_started_at)
    SELECT device_id, {_ENVELOPE_VALUES}, showing, showing,
           CASE WHEN showing THEN p.content_id END, CASE WHEN showing THEN p.kind END,
           CASE WHEN showing THEN p.sha256 END, CASE WHEN showing THEN p.language END,
           CASE WHEN showing THEN to_timestamp(floor(extract(epoch FROM m) / 600) * 600) END
      FROM (SELECT *, hour >= 6 AND hour < 22
                      AND NOT (device_id = %(dark_board)s AND m >= %(dark_from)s
                               AND m < %(dark_to)s) AS showing,
                   CASE WHEN floor(extract(epoch FROM m) / 600)::bigint %% 12 = 11
                             AND NOT (hour >= %(am_from)s AND hour < %(am_to)s
                                      OR hour >= %(pm_from)s AND hour < %(pm_to)s)
                        THEN %(ad_slot)s
                        ELSE floor(extract(epoch FROM m) / 600)::bigint %% %(propaganda)s END
                       AS slot
              FROM s) x
      JOIN unnest(%(slots)s::int[], %(ids)s::text[], %(kinds)s::text[], %(shas)s::text[],
                  %(languages)s::text[]) AS p(slot, content_id, kind, sha256, language)
        ON p.slot = x.slot"""  # noqa: S608 - constants only


def _window_hours() -> dict[str, float]:
    """The default broadcast windows as local hours (am_from … pm_to)."""
    (_, am_from, am_to), (_, pm_from, pm_to) = DEFAULT_WINDOWS

    def hours(hh_mm: str) -> float:
        at = time.fromisoformat(hh_mm)
        return at.hour + at.minute / 60

    return {
        "am_from": hours(am_from),
        "am_to": hours(am_to),
        "pm_from": hours(pm_from),
        "pm_to": hours(pm_to),
    }


def _params(week: Week, step: int) -> dict[str, Any]:
    cut, camera, dark, slow = week.power_cut, week.camera_down, week.screen_dark, week.slow_uplink
    never = week.start - timedelta(days=1)
    propaganda = [c for c in PLAYLIST if c[1] == "propaganda"]
    adverts = [c for c in PLAYLIST if c[1] == "advertising"]
    playlist = [*propaganda, *adverts]
    return {
        "step": step,
        "tz": LOCAL_TZ_NAME,
        **_window_hours(),
        "start": week.start,
        "end": week.end,
        "boards": [b.device_id for b in week.boards],
        "cut": list(cut.boards) if cut else [],
        "mains_lost": cut.mains_lost if cut else never,
        "dead": cut.dead if cut else never,
        "back": cut.back if cut else never,
        "version": agent_version,
        "slow": list(slow.boards) if slow else [],
        "slow_from": slow.start if slow else never,
        "slow_to": slow.end if slow else never,
        "camera_boards": [b.device_id for b in week.boards for _ in b.cameras],
        "camera_ids": [c for b in week.boards for c in b.cameras],
        "down_board": camera.boards[0] if camera else "",
        "down_camera": camera.camera if camera else "",
        "down_from": camera.start if camera else never,
        "down_to": camera.end if camera else never,
        "dark_board": dark.boards[0] if dark else "",
        "dark_from": dark.start if dark else never,
        "dark_to": dark.end if dark else never,
        "propaganda": len(propaganda),
        "ad_slot": len(propaganda),
        "slots": list(range(len(playlist))),
        "ids": [c[0] for c in playlist],
        "kinds": [c[1] for c in playlist],
        "shas": [sha256_of(c[0]) for c in playlist],
        "languages": [c[2] for c in playlist],
    }


def write_telemetry(conn: Conn, week: Week) -> int:
    """The week's readings; returns the rows written."""
    rows = 0
    for statement, step in (
        (_HEARTBEAT, READING_STEP_S),
        (_POWER, READING_STEP_S),
        (_NETWORK, READING_STEP_S),
        (_CAMERA, READING_STEP_S),
        (_DISPLAY, DISPLAY_STEP_S),
    ):
        rows += conn.execute(_GRID + statement, _params(week, step)).rowcount
    return rows


def write_states(conn: Conn, week: Week) -> int:
    """Births at the week's start, and the power cut's last wills and new
    boots: the raw state messages and the status history availability reads."""
    changes: list[tuple[str, datetime, str, str | None, str, int, int]] = [
        (b.device_id, week.start, "online", "unknown", "birth: agent connected", 1, 0)
        for b in week.boards
    ]
    if week.power_cut:
        cut = week.power_cut
        for board in cut.boards:
            changes.append((board, cut.dead, "lost", "online", "last will", 1, 900_000))
            changes.append((board, cut.back, "online", "lost", "birth: agent connected", 2, 0))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO board_states (device_id, boot, seq, measured_at, sent_at, received_at,"
            " stored_at, replay, status, agent_version, reason, heartbeat_interval_s)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, false, %s, %s, %s, 30)",
            [
                (b, boot, seq, at, at, at, at, st, agent_version, r)
                for b, at, st, _, r, boot, seq in changes
            ],
        )
        cur.executemany(
            "INSERT INTO board_status_history (board_id, at, state, previous, reason, boot, seq)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            changes,
        )
    return len(changes)
