"""The drawings: sites placed by their coordinates, charts that break at
gaps instead of drawing a slope through a silence, and the connectivity strip."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fleet_server.api.console.svg import (
    CHART_HEIGHT,
    CHART_WIDTH,
    MAP_HEIGHT,
    MAP_WIDTH,
    MarkerWords,
    line_chart,
    map_markers,
    site_map,
    state_strip,
)

START = datetime(2026, 11, 28, tzinfo=UTC)


@dataclass
class Site:
    id: int
    name: str
    latitude: float | None
    longitude: float | None
    health: str = "online"
    boards: int = 1
    open_incidents: int = 0
    name_en: str | None = None


def test_sites_are_placed_north_up_east_right_inside_the_drawing() -> None:
    sites = [
        Site(1, "Ma Lù Thàng", 22.618, 103.349, "offline"),
        Site(2, "Mù Cả", 22.560, 102.520),
        Site(3, "Than Uyên", 21.955, 103.885, "degraded"),
        Site(4, "no coordinates", None, None),
    ]
    drawn = site_map(sites)
    assert drawn.unplaced == 1
    at = {m.site_id: m for m in drawn.markers}
    assert set(at) == {1, 2, 3}
    assert at[2].x < at[1].x < at[3].x  # west to east
    assert at[1].y < at[3].y  # north is up
    for m in drawn.markers:
        assert 0 < m.x < MAP_WIDTH
        assert 0 < m.y < MAP_HEIGHT
    # The worst is drawn last, on top.
    assert drawn.markers[-1].health == "offline"
    # Labels of eastern markers go left, so they stay inside.
    assert at[3].anchor == "end"
    assert at[2].anchor == "start"
    assert {g.axis for g in drawn.grid} == {"lat", "lon"}


def test_no_site_with_coordinates_draws_an_empty_map() -> None:
    drawn = site_map([Site(1, "x", None, None)])
    assert drawn.markers == []
    assert drawn.unplaced == 1


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


def test_a_crowded_map_names_only_the_sites_with_problems() -> None:
    sites = [Site(i, f"site {i}", 22 + i / 100, 103 + i / 100) for i in range(60)]
    sites[7] = Site(7, "dark", 22.07, 103.07, "offline")
    drawn = site_map(sites)
    assert [m.name for m in drawn.markers if m.labelled] == ["dark"]


WORDS = MarkerWords(
    {"online": "Bình thường", "offline": "Mất toàn bộ", "degraded": "Có vấn đề"},
    "Bảng",
    "Sự cố",
)
SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{markup}</svg>')


def test_markers_are_links_with_an_escaped_title_and_labels_for_problems_only() -> None:
    sites = [Site(i, f"Bản {i}", 22.0 + i / 100, 103.0 + i / 100) for i in range(1, 60)]
    sites.append(Site(99, 'Pa <Nậm> "Cúm" & co', 22.3, 103.3, "offline", 3, 2, "Pa Nam Cum"))
    drawn = site_map(sites)
    svg = _parse(map_markers(drawn, local_name=lambda n, _en: n, words=WORDS))
    links = svg.findall(f"{SVG}a")
    assert [a.get("href") for a in links] == [f"/sites/{m.site_id}" for m in drawn.markers]
    last = links[-1]  # the worst, drawn on top
    assert last.findtext(f"{SVG}title") == 'Pa <Nậm> "Cúm" & co: Mất toàn bộ · Bảng 3 · Sự cố 2'
    assert last.findtext(f"{SVG}text") == 'Pa <Nậm> "Cúm" & co'
    circle = last.find(f"{SVG}circle")
    assert circle is not None
    assert circle.get("class") == "marker h-offline"
    marker = drawn.markers[-1]
    assert (float(circle.get("cx", "")), float(circle.get("cy", ""))) == (marker.x, marker.y)
    # Over MAP_LABELS sites, healthy ones carry no label.
    assert sum(a.find(f"{SVG}text") is not None for a in links) == 1


def test_markers_use_the_readers_names() -> None:
    drawn = site_map([Site(1, "Mù Cả", 22.5, 102.5, "degraded", name_en="Mu Ca")])
    english = map_markers(drawn, local_name=lambda n, en: en or n, words=WORDS)
    assert _parse(english).findtext(f"{SVG}a/{SVG}text") == "Mu Ca"
