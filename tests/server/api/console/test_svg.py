"""The drawings: charts that break at gaps instead of drawing a slope
through a silence, and the connectivity strip (the map: test_site_map.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fleet_server.api.console.svg import CHART_HEIGHT, CHART_WIDTH, line_chart, state_strip

START = datetime(2026, 11, 28, tzinfo=UTC)


def test_a_chart_breaks_where_the_board_was_silent() -> None:
    bucket = timedelta(minutes=15)
    points = [(START + i * bucket, float(i)) for i in range(10)]
    points += [(START + i * bucket, float(i)) for i in range(20, 30)]
    points.append((START + 40 * bucket, 5.0))  # a lone point: a dot
    chart = line_chart(
        "rtt_ms", "ms", points, since=START, until=START + timedelta(hours=24), bucket=bucket
    )
    assert len(chart.lines) == 2
    assert len(chart.dots) == 1
    assert chart.latest == 5.0
    for line in chart.lines:
        for pair in line.split():
            x, y = (float(v) for v in pair.split(","))
            assert 0 <= x <= CHART_WIDTH
            assert 0 <= y <= CHART_HEIGHT


def test_a_fixed_scale_widens_for_values_outside_it_and_empty_data_is_empty() -> None:
    bucket = timedelta(minutes=15)
    points = [(START, 0.5), (START + bucket, 1.2), (START + 2 * bucket, None)]
    chart = line_chart(
        "screen_on_share",
        "%",
        points,
        since=START,
        until=START + timedelta(hours=1),
        bucket=bucket,
        scale=100,
        floor=0,
        ceiling=100,
    )
    assert (chart.y_min, chart.y_max) == (0, 120)
    assert line_chart("x", "", [], since=START, until=START + bucket, bucket=bucket).empty


def test_the_strip_covers_the_whole_day() -> None:
    until = START + timedelta(hours=24)
    bands = state_strip(
        [(START + timedelta(hours=2), "online"), (START + timedelta(hours=20), "lost")],
        since=START,
        until=until,
        current="lost",
        width=600,
    )
    assert [b.state for b in bands] == ["unknown", "online", "lost"]
    assert abs(sum(b.width for b in bands) - 600) < 1
    assert state_strip([], since=START, until=until, current="online", width=600)[0].width == 600
