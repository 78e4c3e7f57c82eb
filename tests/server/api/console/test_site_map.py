"""The map of sites: Lai Châu's outline and districts from the bundled,
openly licensed boundary file, the sites on the same projection, names that
never overlap (boxes computed here from the rendered SVG), the attribution,
and tap areas for a phone."""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleet_server.api.console import site_map as sm
from fleet_server.api.console.map_labels import Space, leader_box, marker_box, place
from fleet_server.api.console.site_map import (
    BOUNDARIES,
    HIT_RADIUS,
    MAP_HEIGHT,
    MAP_LABELS,
    MAP_WIDTH,
    MarkerWords,
    map_markers,
    site_map,
)
from fleet_server.simulator.places import PLACES

SVG = "{http://www.w3.org/2000/svg}"
WORDS = MarkerWords(
    {"online": "Bình thường", "offline": "Mất toàn bộ", "degraded": "Có vấn đề"},
    "Bảng",
    "Sự cố",
)
#: An upper bound of a system sans-serif's average character width at the
#: map's label size (11 units), and the line's height: the test's own
#: estimate of the space a name takes.
CHAR = 0.62 * 11
ASCENT, DESCENT = 1.05 * 11, 0.3 * 11
DISTRICTS = {
    "Thành phố Lai Châu",
    "Tam Đường",
    "Phong Thổ",
    "Sìn Hồ",
    "Mường Tè",
    "Than Uyên",
    "Tân Uyên",
    "Nậm Nhùn",
}


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


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{markup}</svg>')


def _label_boxes(svg: ET.Element) -> list[tuple[str, tuple[float, float, float, float]]]:
    boxes = []
    for text in svg.iter(f"{SVG}text"):
        if text.get("class") != "map-label":
            continue
        x, y, name = float(text.get("x", "")), float(text.get("y", "")), text.text or ""
        width = CHAR * len(name)
        left = {"start": x, "end": x - width}.get(text.get("text-anchor", ""), x - width / 2)
        boxes.append((name, (left, y - ASCENT, left + width, y + DESCENT)))
    return boxes


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _assert_names_apart_and_inside(svg: ET.Element) -> int:
    boxes = _label_boxes(svg)
    for i, (name, box) in enumerate(boxes):
        assert box[0] >= 0, name
        assert box[2] <= MAP_WIDTH, name
        assert box[1] >= 0, name
        assert box[3] <= MAP_HEIGHT, name
        for other, other_box in boxes[i + 1 :]:
            assert not _overlap(box, other_box), (name, other)
    return len(boxes)


def _points(path: str) -> list[tuple[float, float]]:
    """The absolute points of a path written as M x,y then l dx,dy steps."""
    first, *steps = re.findall(r"[Ml]([-\d.]+),([-\d.]+)", path)
    x, y = float(first[0]), float(first[1])
    points = [(x, y)]
    for dx, dy in steps:
        x, y = x + float(dx), y + float(dy)
        points.append((x, y))
    return points


def _inside(point: tuple[float, float], ring: list[tuple[float, float]]) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, [*ring[1:], ring[0]], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _places() -> list[Site]:
    healths = ["online", "offline", "degraded", "unknown"]
    return [
        Site(i, p.name, p.latitude, p.longitude, healths[i % 4], 2, 0, p.name_en)
        for i, p in enumerate(PLACES, start=1)
    ]


def test_the_boundary_file_is_small_open_and_holds_the_province_and_its_eight_districts() -> None:
    data = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    assert BOUNDARIES.stat().st_size < 40_000
    assert "Who's On First" in data["attribution"]
    kinds = [f["properties"]["kind"] for f in data["features"]]
    assert kinds.count("province") == 1
    assert {f["properties"]["name"] for f in data["features"][1:]} == DISTRICTS
    for feature in data["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1]
        for lon, lat in ring:
            assert 102.2 < lon < 104.1
            assert 21.6 < lat < 22.9
    readme = (BOUNDARIES.parent / "README.md").read_text(encoding="utf-8")
    assert "CC0" in readme
    assert "CC BY 2.0" in readme
    assert "36f4852c8e50b5637c140715b5d896c01baf2dd1" in readme


def test_the_demo_district_centres_lie_in_their_districts() -> None:
    """The projected district polygons hold the simulator's district
    centres: the data, the projection and the sites agree."""
    drawn = site_map(_places())
    by_name = {d.name: _points(d.path) for d in drawn.districts}
    outline = _points(drawn.outline)
    at = {m.site_id: m for m in drawn.markers}
    for i, where in enumerate(PLACES, start=1):
        if where.kind == "border_gate":
            continue  # on the border: the simulator puts U Ma Tu Khoòng 10 km beyond it
        district = "Thành phố Lai Châu" if where.kind == "city" else where.district
        point = (at[i].x, at[i].y)
        assert _inside(point, by_name[district]), where.name
        assert _inside(point, outline), where.name


def test_outline_districts_sites_and_attribution_are_drawn_inside_the_view() -> None:
    drawn = site_map(_places())
    assert len(drawn.districts) == 8
    for path in [drawn.outline, *(d.path for d in drawn.districts)]:
        for x, y in _points(path):
            assert 0 <= x <= MAP_WIDTH
            assert 0 <= y <= MAP_HEIGHT
    for m in drawn.markers:
        assert m.r < m.x < MAP_WIDTH - m.r
        assert m.r < m.y < MAP_HEIGHT - m.r
    # North up, east right: Mù Cả (west) < Ma Lù Thàng < Than Uyên (east, south).
    at = {m.name: m for m in drawn.markers}
    west, north, east = (
        at["Cửa khẩu Mù Cả"],
        at["Cửa khẩu quốc tế Ma Lù Thàng"],
        at["Trung tâm huyện Than Uyên"],
    )
    assert west.x < north.x < east.x
    assert north.y < east.y
    assert drawn.markers[-1].health == "offline"  # the worst drawn last, on top
    assert 0 < drawn.attribution_at[0] <= MAP_WIDTH
    assert drawn.scale.km == 20
    assert 40 < drawn.scale.length < 120


def test_a_site_outside_the_province_widens_the_map_and_stays_inside_it() -> None:
    sites = [*_places(), Site(99, "Sa Pa (Lào Cai)", 22.336, 103.844), Site(98, "xa", 21.3, 104.6)]
    drawn = site_map(sites)
    far = next(m for m in drawn.markers if m.site_id == 98)
    assert far.r < far.x < MAP_WIDTH - far.r
    assert far.r < far.y < MAP_HEIGHT - far.r
    assert not _inside((far.x, far.y), _points(drawn.outline))


def test_no_two_names_overlap_and_every_one_stays_inside() -> None:
    drawn = site_map(_places())
    svg = _parse(map_markers(drawn, local_name=lambda n, _en: n, words=WORDS))
    assert _assert_names_apart_and_inside(svg) == len(PLACES)  # room for every name here
    english = _parse(map_markers(drawn, local_name=lambda n, en: en or n, words=WORDS))
    assert _assert_names_apart_and_inside(english) == len(PLACES)


def test_a_cluster_of_sites_gets_leader_lines_or_no_name_but_never_overlaps() -> None:
    """Twelve sites at one place (a town's boards): the first names sit
    beside the marker, the next move away along a leader line, and those
    that find no room are left to the tooltip and the list."""
    sites = [Site(i, f"Bản Nậm Xe {i}", 22.40, 103.45, "offline") for i in range(12)]
    drawn = site_map(sites)
    svg = _parse(map_markers(drawn, local_name=lambda n, _en: n, words=WORDS))
    named = _assert_names_apart_and_inside(svg)
    assert 3 <= named < 12


def test_a_name_with_no_room_beside_its_marker_moves_out_along_a_leader_line() -> None:
    """Small things all round the marker, off the lines leading out of it:
    no name fits beside it, one fits further out with a leader line that
    starts at the marker's edge and crosses nothing."""
    space = Space(MAP_WIDTH, MAP_HEIGHT)
    x, y, r = 300.0, 200.0, 8.0
    space.add(marker_box(x, y, r))
    obstacles = []
    for k in range(8):
        angle = math.radians(22.5 + 45 * k)
        ox, oy = x + (r + 8) * math.cos(angle), y - (r + 8) * math.sin(angle)
        obstacles.append((ox - 3, oy - 3, ox + 3, oy + 3))
    for box in obstacles:
        space.add(box)
    label = place(space, x, y, r, len("Cửa khẩu Pa Nậm Cúm"))
    assert label is not None
    assert label.leader is not None
    x1, y1, x2, y2 = label.leader
    assert math.hypot(x1 - x, y1 - y) == pytest.approx(r, abs=0.2)
    assert math.hypot(x2 - x, y2 - y) > r + 10
    for box in obstacles:
        assert not _overlap(label.box, box)
        assert not _overlap(leader_box(label.leader), box)
    # The name and its line are taken: the same name cannot go there again.
    again = place(space, x, y, r, len("Cửa khẩu Pa Nậm Cúm"))
    assert again is None or not _overlap(again.box, label.box)


@pytest.mark.parametrize("count", [300, 2500])
def test_a_crowded_map_offers_names_to_problem_sites_only_and_never_overlaps(count: int) -> None:
    rng = random.Random(17)
    sites = [
        Site(i, f"Điểm {i:04d}", rng.uniform(21.75, 22.75), rng.uniform(102.4, 103.9))
        for i in range(count)
    ]
    for i in range(0, count, 50):
        sites[i].health = "offline"
    drawn = site_map(sites)
    assert len(drawn.markers) == count
    named = [m for m in drawn.markers if m.labelled]
    assert len(named) <= MAP_LABELS
    assert all(m.health == "offline" for m in named)
    if count == 300:
        assert named  # room for some names around a few hundred sites
    svg = _parse(map_markers(drawn, local_name=lambda n, _en: n, words=WORDS))
    _assert_names_apart_and_inside(svg)


def test_district_names_never_cover_a_site_name() -> None:
    drawn = site_map(_places())
    sites = [m.label.box for m in drawn.markers if m.label is not None]
    districts = [d.label.box for d in drawn.districts if d.label is not None]
    assert districts  # some district is named
    for box in districts:
        assert not any(_overlap(box, other) for other in sites)


def test_markers_are_links_with_tap_areas_an_escaped_title_and_the_readers_name() -> None:
    sites = [Site(i, f"Bản {i}", 22.0 + i / 100, 103.0 + i / 100) for i in range(1, 20)]
    sites.append(Site(99, 'Pa <Nậm> "Cúm" & co', 22.3, 103.3, "offline", 3, 2, "Pa Nam Cum"))
    drawn = site_map(sites)
    svg = _parse(map_markers(drawn, local_name=lambda n, _en: n, words=WORDS))
    hits, shown = svg.findall(f"{SVG}g")
    assert hits.get("class") == "map-hits"
    assert hits.get("aria-hidden") == "true"  # screen readers use the markers' links
    hit_links = hits.findall(f"{SVG}a")
    assert [a.get("href") for a in hit_links] == [f"/sites/{m.site_id}" for m in drawn.markers]
    for a in hit_links:
        assert a.get("tabindex") == "-1"
        circle = a.find(f"{SVG}circle")
        assert circle is not None
        assert float(circle.get("r", "")) == HIT_RADIUS
    links = shown.findall(f"{SVG}a")
    assert [a.get("href") for a in links] == [f"/sites/{m.site_id}" for m in drawn.markers]
    last = links[-1]  # the worst, drawn on top
    assert last.findtext(f"{SVG}title") == 'Pa <Nậm> "Cúm" & co: Mất toàn bộ · Bảng 3 · Sự cố 2'
    assert last.findtext(f"{SVG}text") == 'Pa <Nậm> "Cúm" & co'
    circle = last.find(f"{SVG}circle")
    assert circle is not None
    assert circle.get("class") == "marker h-offline"
    english = _parse(map_markers(drawn, local_name=lambda n, en: en or n, words=WORDS))
    assert english.findall(f"{SVG}g")[1].findall(f"{SVG}a")[-1].findtext(f"{SVG}text") == (
        "Pa Nam Cum"
    )


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(None, None), (22.3, None), (math.nan, 103.2), (22.3, math.inf), (95.0, 103.2), (22.3, 200.0)],
)
def test_a_site_without_usable_coordinates_is_counted_not_drawn(
    latitude: float | None, longitude: float | None
) -> None:
    drawn = site_map([Site(1, "ok", 22.3, 103.3), Site(2, "bad", latitude, longitude)])
    assert [m.site_id for m in drawn.markers] == [1]
    assert drawn.unplaced == 1


def test_no_site_with_coordinates_still_draws_the_province() -> None:
    drawn = site_map([Site(1, "x", None, None)])
    assert drawn.markers == []
    assert drawn.unplaced == 1
    assert len(_points(drawn.outline)) > 100
    assert len(drawn.districts) == 8


def test_the_tool_that_made_the_file_keeps_neighbouring_districts_joined() -> None:
    """tools/simplify_boundaries.py: Douglas–Peucker keeps the ends and the
    points further than the tolerance; per shared border, so the districts
    still meet exactly and their outer border is the province outline."""
    import importlib.util  # noqa: PLC0415

    path = Path(__file__).resolve().parents[4] / "tools" / "simplify_boundaries.py"
    spec = importlib.util.spec_from_file_location("simplify_boundaries", path)
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    line = [(0.0, 0.0), (1.0, 0.1), (2.0, -0.1), (3.0, 5.0), (4.0, 6.0), (5.0, 7.0)]
    assert tool.douglas_peucker(line, 0.5) == [(0.0, 0.0), (2.0, -0.1), (3.0, 5.0), (5.0, 7.0)]
    # Two squares sharing a zigzag border: simplified once, identical in both.
    border = [(1.0, 0.0), (1.01, 0.5), (1.0, 1.0)]
    left = [(0.0, 0.0), *border, (0.0, 1.0), (0.0, 0.0)]
    right = [(1.0, 0.0), (2.0, 0.0), (2.0, 1.0), *reversed(border)]
    right.append(right[0])
    rings, outline = tool.simplify({1: left, 2: right}, 0.05)
    assert (1.01, 0.5) not in rings[1]
    assert (1.01, 0.5) not in rings[2]
    edges = {tuple(sorted(e)) for r in rings.values() for e in itertools.pairwise(r)}
    outer = {tuple(sorted(e)) for e in itertools.pairwise(outline)}
    assert ((1.0, 0.0), (1.0, 1.0)) in edges
    assert ((1.0, 0.0), (1.0, 1.0)) not in outer
    assert len(outer) == 6  # the rectangle's six outer edges


def test_the_projection_is_computed_once_per_extent() -> None:
    sm._geography.cache_clear()
    site_map(_places())
    site_map(_places())
    assert sm._geography.cache_info().hits >= 1
