"""The board page's charts as data: one JSON block the browser draws from
(hourly rollups for most of the day, raw rows for the newest hours), the
same numbers as the stored samples and rollups, safe inside a script
element whatever the values, only for boards in the reader's scope, and
the lowest, highest and latest values for a reader without JavaScript. The
connectivity strip drawn from the changes the page already holds."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.access.principal import Principal
from fleet_server.access.roles import CAPABILITIES
from fleet_server.api.console.board_charts import CHARTS, script_json
from fleet_server.api.console.boards import HISTORY, connectivity_strip
from fleet_server.api.console.svg import state_strip
from fleet_server.boards.service import connectivity, get_board
from fleet_server.errors import Forbidden, Invalid, NotFound
from fleet_server.telemetry.recent import raw_from, recent_series
from tests.server.api.console.fleet_state import DAY_BOARD, record_day, roll_up, set_states
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
BLOCK = re.compile(r'<script type="application/json" id="board-charts">(.*?)</script>', re.S)
#: A board of the same site with no telemetry at all.
QUIET_BOARD = "lc-ma-lu-thang-02"


def _strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def chart_block(page: str) -> dict[str, Any]:
    found = BLOCK.search(page)
    assert found, "no chart data on the page"
    return dict(_strict(found.group(1)))


def _round(value: float) -> float:
    return float(f"{value:.4g}")


@pytest.fixture
def day(db_conn: Any, db_owner: Any, clock: Clock) -> datetime:
    set_states(db_conn, clock.now)
    record_day(db_conn, clock.now)
    roll_up(db_owner, clock.now - timedelta(hours=26), clock.now)
    return clock.now


def _stored(conn: Any, now: datetime, hourly_sql: str, raw_sql: str) -> list[tuple[int, float]]:
    """(time, value) from the rollups before the raw edge, raw 15-minute buckets after."""
    edge = raw_from(now)
    rows = conn.execute(hourly_sql, (DAY_BOARD, now - timedelta(hours=24), edge)).fetchall()
    rows += conn.execute(raw_sql, (DAY_BOARD, edge, now)).fetchall()
    return [(int(t.timestamp()), _round(v)) for t, v in rows if v is not None]


def _drawn(chart: dict[str, Any]) -> list[tuple[int, float]]:
    return [(t, v) for t, v in zip(chart["t"], chart["v"], strict=True) if v is not None]


def test_the_page_carries_every_chart_as_data_matching_the_store(
    new_browser: NewBrowser, db_conn: Any, day: datetime
) -> None:
    page = new_browser("operator").get(f"/boards/{DAY_BOARD}").text
    data = chart_block(page)
    assert data["until"] == int(day.timestamp())
    assert data["until"] - data["since"] == 24 * 3600
    assert data["offset"] == 7 * 3600  # the board's local time: Vietnam
    assert len(data["charts"]) == len(CHARTS)
    for index, chart in enumerate(data["charts"]):
        assert f'data-chart="{index}"' in page
        assert _drawn(chart), CHARTS[index].field  # each kind has points
    assert re.search(
        r'<script src="/static/board_charts\.js\?v=[0-9a-f]{16}" defer></script>', page
    )
    assert "<polyline" not in page  # drawn by the browser, not the server

    battery = _stored(
        db_conn,
        day,
        "SELECT bucket, battery_min FROM power_hourly WHERE device_id = %s"
        " AND bucket >= %s AND bucket < %s ORDER BY bucket",
        "SELECT date_bin('15 minutes', measured_at, TIMESTAMPTZ '2000-01-01'),"
        " min(battery_percent) FROM telemetry_power WHERE device_id = %s"
        " AND measured_at >= %s AND measured_at < %s GROUP BY 1 ORDER BY 1",
    )
    temperature = _stored(
        db_conn,
        day,
        "SELECT bucket, temperature_max FROM heartbeat_hourly WHERE device_id = %s"
        " AND bucket >= %s AND bucket < %s ORDER BY bucket",
        "SELECT date_bin('15 minutes', measured_at, TIMESTAMPTZ '2000-01-01'),"
        " max(temperature_c) FROM telemetry_heartbeat WHERE device_id = %s"
        " AND measured_at >= %s AND measured_at < %s GROUP BY 1 ORDER BY 1",
    )
    screen = _stored(
        db_conn,
        day,
        "SELECT bucket, 100.0 * screen_on_samples / samples FROM display_hourly"
        " WHERE device_id = %s AND bucket >= %s AND bucket < %s ORDER BY bucket",
        "SELECT date_bin('15 minutes', measured_at, TIMESTAMPTZ '2000-01-01'),"
        " 100.0 * avg(screen_on::int) FROM telemetry_display WHERE device_id = %s"
        " AND measured_at >= %s AND measured_at < %s GROUP BY 1 ORDER BY 1",
    )
    by_field = {spec.field: chart for spec, chart in zip(CHARTS, data["charts"], strict=True)}
    assert _drawn(by_field["battery_percent_min"]) == battery
    assert _drawn(by_field["temperature_c_max"]) == temperature
    assert _drawn(by_field["screen_on_share"]) == screen
    # Most of the day is hourly (the rollups), the newest hours 15-minute buckets.
    times = by_field["temperature_c_max"]["t"]
    steps = {b - a for a, b in itertools.pairwise(times)}
    assert {900, 3600} <= steps
    # The two silent hours break the line (a null) instead of joining across them.
    assert None in by_field["rtt_ms"]["v"]


def test_without_javascript_each_chart_says_its_lowest_highest_and_latest(
    new_browser: NewBrowser, day: datetime
) -> None:
    page = new_browser("operator").get(f"/boards/{DAY_BOARD}").text
    summaries = re.findall(r'<p class="chart-summary muted small">(.*?)</p>', page, re.S)
    assert len(summaries) == len(CHARTS)
    # The battery fell to 46 % (100 - 9 * 6) during the evening's mains cut.
    assert summaries[0].split() == ["thấp", "nhất", "46", "%", "·", "cao", "nhất", "100", "%"]
    assert page.count("mới nhất") >= len(CHARTS)
    english = new_browser("operator").get(f"/boards/{DAY_BOARD}?lang=en").text
    assert "lowest 46 % · highest 100 %" in " ".join(english.split())
    quiet = new_browser("operator").get(f"/boards/{QUIET_BOARD}").text
    assert quiet.count("Không có dữ liệu") == len(CHARTS)
    assert all(chart["t"] == [] for chart in chart_block(quiet)["charts"])


def test_another_organisations_board_is_a_404_without_its_data(
    new_browser: NewBrowser, day: datetime
) -> None:
    answer = new_browser("district").get(f"/boards/{DAY_BOARD}")
    assert answer.status_code == 404
    assert "board-charts" not in answer.text


def test_hostile_values_are_dropped_or_escaped(
    new_browser: NewBrowser, db_conn: Any, day: datetime
) -> None:
    for seq, (at, rtt, loss) in enumerate(
        [
            (day - timedelta(minutes=50), "NaN", "3e38"),
            (day - timedelta(minutes=35), "Infinity", "-3e38"),
            (day - timedelta(minutes=20), "-Infinity", "NaN"),
        ]
    ):
        db_conn.execute(
            "INSERT INTO telemetry_network (device_id, boot, seq, measured_at, sent_at,"
            " received_at, replay, link_up, rtt_ms, loss_percent)"
            " VALUES (%s, 2, %s, %s, %s, %s, false, true, %s::real, %s::real)",
            (DAY_BOARD, seq, at, at, at, rtt, loss),
        )
    answer = new_browser("operator").get(f"/boards/{DAY_BOARD}")
    assert answer.status_code == 200
    data = chart_block(answer.text)  # strict: NaN or Infinity would fail here
    by_field = {spec.field: chart for spec, chart in zip(CHARTS, data["charts"], strict=True)}
    loss = by_field["loss_percent"]["v"]
    # huge but finite (the largest a real column holds): kept as numbers
    assert any(v is not None and v > 1e37 for v in loss)
    assert any(v is not None and v < -1e37 for v in loss)
    assert all(v is None or abs(v) < float("inf") for v in by_field["rtt_ms"]["v"])


def test_the_data_block_cannot_close_its_script_element() -> None:
    hostile = {"unit": "</script><script>alert(1)</script><!--", "x": "a\u2028b&'\""}
    text = str(script_json(hostile))
    for unsafe in ("<", ">", "&", "'", "\u2028"):
        assert unsafe not in text
    assert json.loads(text) == hostile
    with pytest.raises(ValueError, match="JSON compliant"):
        script_json({"v": float("nan")})


def _principal(role: str, *, province_wide: bool = True, capabilities: Any = None) -> Principal:
    return Principal(
        user_id=99,
        username=f"test.{role}",
        full_name=role,
        role=role,
        organisation_id=None,
        team=None,
        language="vi",
        province_wide=province_wide,
        capabilities=CAPABILITIES[role] if capabilities is None else capabilities,
    )


def test_the_recent_series_refuses_what_it_cannot_answer(db_conn: Any, day: datetime) -> None:
    admin = _principal("admin")
    span: dict[str, Any] = {"since": day - timedelta(hours=24), "until": day, "bucket_s": 900}
    recent = recent_series(db_conn, admin, DAY_BOARD, ["power"], **span)
    assert {b.width_s for b in recent["power"]} == {900, 3600}
    with pytest.raises(Invalid):  # one series a board; cameras have several
        recent_series(db_conn, admin, DAY_BOARD, ["camera"], **span)
    with pytest.raises(Invalid):  # buckets that do not divide an hour
        recent_series(db_conn, admin, DAY_BOARD, ["power"], **(span | {"bucket_s": 700}))
    with pytest.raises(Invalid):
        recent_series(db_conn, admin, DAY_BOARD, ["power"], **(span | {"until": span["since"]}))
    no_telemetry = _principal("admin", capabilities=frozenset({"board.read"}))
    with pytest.raises(Forbidden):
        recent_series(db_conn, no_telemetry, DAY_BOARD, ["power"], **span)
    with pytest.raises(NotFound):  # outside the caller's sites: as if it did not exist
        recent_series(
            db_conn, _principal("operator", province_wide=False), DAY_BOARD, ["power"], **span
        )


def _strip_from_database(conn: Any, user: Principal, board_id: str, now: datetime) -> Any:
    board = get_board(conn, user, board_id)
    since = now - timedelta(hours=24)
    changes = connectivity(conn, user, board_id, since=since, until=now)
    return state_strip(
        [(c.at, c.state) for c in changes], since=since, until=now, current=board.state
    )


def test_the_connectivity_strip_is_drawn_from_the_page_history_or_read_again(
    db_conn: Any, day: datetime
) -> None:
    admin = _principal("admin")
    quiet = get_board(db_conn, admin, DAY_BOARD, history=HISTORY)
    assert len(quiet.history) < HISTORY  # the whole history is on the page: no query
    assert connectivity_strip(db_conn, admin, quiet, day) == _strip_from_database(
        db_conn, admin, DAY_BOARD, day
    )
    # A board that flapped 60 times in the day: its 50 newest changes do not
    # reach back past the day, so the strip reads the day's changes again.
    states = ["online", "offline"] * 30
    for n, state in enumerate(states):
        db_conn.execute(
            "INSERT INTO board_status_history (board_id, at, state, previous, reason)"
            " VALUES (%s, %s, %s, %s, 'test: flapping')",
            (QUIET_BOARD, day - timedelta(minutes=20 * (len(states) - n)), state, "online"),
        )
    flappy = get_board(db_conn, admin, QUIET_BOARD, history=HISTORY)
    assert len(flappy.history) == HISTORY
    bands = connectivity_strip(db_conn, admin, flappy, day)
    assert bands == _strip_from_database(db_conn, admin, QUIET_BOARD, day)
    assert len(bands) > HISTORY  # every change of the day, not only the 50 newest
