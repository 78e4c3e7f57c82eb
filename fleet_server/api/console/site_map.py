"""The overview's map of sites, drawn on the server as inline SVG: Lai Châu
province's outline and district borders (bundled, from Who's On First; see
``geo/README.md``), the sites placed by their coordinates on the same
projection, and names placed so that no two overlap.

Pure functions returning numbers for the template to draw (no tile server,
no script); every text is escaped."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Protocol

from markupsafe import Markup, escape

from fleet_server.api.console.map_labels import Box, Label, Space, place, text_box
from fleet_server.organisations.models import HEALTHS

BOUNDARIES = Path(__file__).parent / "geo" / "lai_chau.geojson"
MAP_WIDTH = 640
MAP_HEIGHT = 460
MAP_MARGIN = 14
#: Above this many sites only the ones with problems are offered a name.
MAP_LABELS = 40
DISTRICT_SIZE = 10.0
#: Invisible tap area around each marker: 2 x 24 units is 42 CSS px at the
#: map's smallest width (560 px, console.css), above the 40 px asked.
HIT_RADIUS = 24.0
PAD_DEGREES = 0.02


@dataclass(frozen=True, slots=True)
class Marker:
    site_id: int
    name: str
    health: str
    x: float
    y: float
    r: float
    boards: int
    open_incidents: int
    label: Label | None = None
    #: The English name, if the site has one (the template picks by language).
    name_en: str | None = None

    @property
    def labelled(self) -> bool:
        return self.label is not None


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name: str
    name_en: str
    path: str
    label: Label | None


@dataclass(frozen=True, slots=True)
class ScaleBar:
    x: float
    y: float
    length: float
    km: int


@dataclass(frozen=True, slots=True)
class SiteMap:
    width: int
    height: int
    markers: list[Marker]
    outline: str
    districts: list[District]
    scale: ScaleBar
    unplaced: int
    #: Where the attribution is written (bottom right, text anchored at its end).
    attribution_at: tuple[float, float] = (MAP_WIDTH - 6, MAP_HEIGHT - 6)


class MapSite(Protocol):
    """What the map needs of a site (``SiteHealth`` has all of it)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def name_en(self) -> str | None: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...
    @property
    def health(self) -> str: ...
    @property
    def boards(self) -> int: ...
    @property
    def open_incidents(self) -> int: ...


@cache
def boundaries() -> dict[str, Any]:
    """The bundled GeoJSON, read once."""
    data: dict[str, Any] = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    return data


def _province_ring() -> list[list[float]]:
    ring: list[list[float]] = next(
        f["geometry"]["coordinates"][0]
        for f in boundaries()["features"]
        if f["properties"]["kind"] == "province"
    )
    return ring


@dataclass(frozen=True, slots=True)
class Projection:
    """Equirectangular, scaled by the cosine of the middle latitude so
    distances look right, fitted to the drawing with a margin."""

    west: float
    north: float
    squash: float
    scale: float
    off_x: float
    off_y: float

    def __call__(self, lat: float, lon: float) -> tuple[float, float]:
        return (
            round(self.off_x + (lon - self.west) * self.squash * self.scale, 1),
            round(self.off_y + (self.north - lat) * self.scale, 1),
        )

    @classmethod
    def fit(cls, lats: Iterable[float], lons: Iterable[float]) -> Projection:
        lat_list, lon_list = list(lats), list(lons)
        south, north = min(lat_list) - PAD_DEGREES, max(lat_list) + PAD_DEGREES
        west, east = min(lon_list) - PAD_DEGREES, max(lon_list) + PAD_DEGREES
        squash = math.cos(math.radians((south + north) / 2))
        span_x, span_y = max((east - west) * squash, 1e-6), max(north - south, 1e-6)
        inner_w, inner_h = MAP_WIDTH - 2 * MAP_MARGIN, MAP_HEIGHT - 2 * MAP_MARGIN
        scale = min(inner_w / span_x, inner_h / span_y)
        return cls(
            west=west,
            north=north,
            squash=squash,
            scale=scale,
            off_x=MAP_MARGIN + (inner_w - span_x * scale) / 2,
            off_y=MAP_MARGIN + (inner_h - span_y * scale) / 2,
        )


def _path(ring: Sequence[Sequence[float]], project: Projection) -> str:
    """An SVG path: the first point absolute, then relative steps between
    rounded points (short, and without drift)."""
    points = [project(lat, lon) for lon, lat in ring]
    steps = [f"M{points[0][0]:g},{points[0][1]:g}"]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        dx, dy = round(x1 - x0, 1), round(y1 - y0, 1)
        if dx or dy:
            steps.append(f"l{dx:g},{dy:g}")
    return "".join(steps) + "z"


@lru_cache(maxsize=8)
def _geography(
    project: Projection,
) -> tuple[str, tuple[tuple[str, str, str, str, float, float], ...]]:
    """The outline's path and, per district, its code, names, path and label point."""
    outline = ""
    districts: list[tuple[str, str, str, str, float, float]] = []
    for feature in boundaries()["features"]:
        props, ring = feature["properties"], feature["geometry"]["coordinates"][0]
        if props["kind"] == "province":
            outline = _path(ring, project)
        else:
            lx, ly = project(props["label"][1], props["label"][0])
            districts.append(
                (props["code"], props["name"], props["name_en"], _path(ring, project), lx, ly)
            )
    return outline, tuple(districts)


def _usable(lat: float | None, lon: float | None) -> bool:
    """Coordinates a site can be drawn at (others are counted as unplaced)."""
    if lat is None or lon is None:
        return False
    lat, lon = float(lat), float(lon)
    return math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180


def _name_len(name: str, name_en: str | None) -> int:
    """Room for the longer of the two names: the places do not depend on
    the reader's language."""
    return max(len(name), len(name_en or ""))


def site_map(sites: Sequence[MapSite]) -> SiteMap:
    """The province and the sites on one projection (fitted to the province,
    widened for any site outside it), worst drawn last so it stays on top;
    names placed greedily, worst first, where they cover no other name nor
    marker, else left to the marker's tooltip and the list of sites."""
    placed = [s for s in sites if _usable(s.latitude, s.longitude)]
    ring = _province_ring()
    project = Projection.fit(
        [p[1] for p in ring] + [float(s.latitude or 0) for s in placed],
        [p[0] for p in ring] + [float(s.longitude or 0) for s in placed],
    )
    outline, geography = _geography(project)
    rank = {h: len(HEALTHS) - 1 - i for i, h in enumerate(HEALTHS)}  # worst: highest
    offered = {
        s.id
        for s in sorted(placed, key=lambda s: -rank.get(s.health, 1))[:MAP_LABELS]
        if len(placed) <= MAP_LABELS or s.health != "online"
    }
    space = Space(MAP_WIDTH, MAP_HEIGHT)
    scale = _scale_bar(project)
    space.add((scale.x - 2, scale.y - 14, scale.x + scale.length + 30, scale.y + 4))
    space.add(attribution_box())
    drawn: list[tuple[MapSite, float, float, float]] = []
    k_x, k_y = project.squash * project.scale, project.scale
    o_x, o_y = project.off_x - project.west * k_x, project.off_y + project.north * k_y
    radius = {n: round(6 + 2 * math.sqrt(n), 1) for n in range(1, 10)}
    for s in placed:  # the projection, inlined: 2,500 sites on the overview
        x = round(o_x + float(s.longitude or 0) * k_x, 1)
        y = round(o_y - float(s.latitude or 0) * k_y, 1)
        r = radius.get(s.boards) or round(6 + 2 * math.sqrt(max(s.boards, 1)), 1)
        space.add((x - r, y - r, x + r, y + r))
        drawn.append((s, x, y, r))
    labels: dict[int, Label] = {}
    order = sorted(drawn, key=lambda d: (-rank.get(d[0].health, 1), -d[0].boards, d[0].name))
    for s, x, y, r in order:
        if s.id in offered:
            label = place(space, x, y, r, _name_len(s.name, s.name_en))
            if label is not None:
                labels[s.id] = label
    districts: list[District] = []
    for code, name, name_en, path, lx, ly in geography:
        box = text_box(lx, ly, _name_len(name, name_en), "middle", DISTRICT_SIZE)
        fits = space.free(box)
        if fits:
            space.add(box)
        label = Label(lx, ly, "middle", box) if fits else None
        districts.append(District(code, name, name_en, path, label))
    markers = [
        Marker(
            site_id=s.id,
            name=s.name,
            name_en=s.name_en,
            health=s.health,
            x=x,
            y=y,
            r=r,
            boards=s.boards,
            open_incidents=s.open_incidents,
            label=labels.get(s.id),
        )
        for s, x, y, r in sorted(drawn, key=lambda d: rank.get(d[0].health, 1))
    ]
    return SiteMap(
        MAP_WIDTH, MAP_HEIGHT, markers, outline, districts, scale, len(sites) - len(placed)
    )


def _scale_bar(project: Projection) -> ScaleBar:
    """20 km (or the round length nearest a tenth of the width), bottom left."""
    per_km = project.scale / 111.32  # user units per km (a degree of latitude)
    km = min((5, 10, 20, 50, 100), key=lambda k: abs(k * per_km - MAP_WIDTH / 8))
    return ScaleBar(10.0, MAP_HEIGHT - 10.0, round(km * per_km, 1), km)


#: The attribution's longest wording (both languages fit in this box).
ATTRIBUTION_LEN = 44
ATTRIBUTION_SIZE = 9.0


def attribution_box() -> Box:
    x, y = MAP_WIDTH - 6, MAP_HEIGHT - 6
    return text_box(x, y, ATTRIBUTION_LEN, "end", ATTRIBUTION_SIZE)


@dataclass(frozen=True, slots=True)
class MarkerWords:
    """The translated words a marker's tooltip uses."""

    health: Mapping[str, str]
    boards: str
    incidents: str


def map_markers(
    site_map: SiteMap, *, local_name: Callable[[str, str | None], str], words: MarkerWords
) -> Markup:
    """The markers of ``site_map`` as SVG: first a layer of invisible tap
    areas (one link per site, out of the tab order and hidden from screen
    readers), then the markers with their names and leader lines on top, one
    link per site.

    Written here rather than as a loop in ``_map.html``: for the province's
    2,500 sites the template loop took 64 ms a page (bench/api.py), this a
    fifth of that. Every text is escaped here; numbers are formatted floats."""
    hits: list[str] = []
    out: list[str] = []
    for m in site_map.markers:
        name = escape(local_name(m.name, m.name_en))
        health = escape(m.health)
        title = (
            f"{name}: {escape(words.health.get(m.health, m.health))} · "
            f"{escape(words.boards)} {m.boards} · {escape(words.incidents)} {m.open_incidents}"
        )
        hits.append(
            f'<a href="/sites/{m.site_id}" tabindex="-1">'
            f'<circle cx="{m.x}" cy="{m.y}" r="{HIT_RADIUS:g}"/></a>'
        )
        label = ""
        if m.label is not None:
            lb = m.label
            if lb.leader is not None:
                x1, y1, x2, y2 = lb.leader
                label = f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" class="map-leader"/>'
            label += (
                f'<text x="{lb.x}" y="{lb.y}" text-anchor="{lb.anchor}" class="map-label">'
                f"{name}</text>"
            )
        out.append(
            f'<a href="/sites/{m.site_id}" class="map-site"><title>{title}</title>'
            f'<circle cx="{m.x}" cy="{m.y}" r="{m.r}" class="marker h-{health}"/>{label}</a>'
        )
    return Markup(  # noqa: S704 (escaped above, value by value)
        '<g class="map-hits" aria-hidden="true">'
        + "".join(hits)
        + '</g>\n<g class="map-sites">'
        + "\n".join(out)
        + "</g>"
    )
