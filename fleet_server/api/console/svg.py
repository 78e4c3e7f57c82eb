"""Drawings made on the server as inline SVG: the site map (from the sites'
coordinates, no tile server), small 24-hour line charts and the connectivity
strip. Pure functions returning numbers for the templates to draw; the
templates escape every label."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from markupsafe import Markup, escape

from fleet_server.organisations.models import HEALTHS

# -- the site map -----------------------------------------------------------------

MAP_WIDTH = 640
MAP_HEIGHT = 420
MAP_MARGIN = 36
#: Above this many sites only the ones with problems carry a name on the map.
MAP_LABELS = 40


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
    labelled: bool = True
    #: The English name, if the site has one (the template picks by language).
    name_en: str | None = None

    @property
    def anchor(self) -> str:
        """Labels of markers in the eastern half go to the left of the dot,
        so they stay inside the drawing."""
        return "end" if self.x > MAP_WIDTH / 2 else "start"

    @property
    def label_x(self) -> float:
        gap = self.r + 3
        return round(self.x - gap if self.anchor == "end" else self.x + gap, 1)


@dataclass(frozen=True, slots=True)
class GridLine:
    x1: float
    y1: float
    x2: float
    y2: float
    #: "lat" or "lon"; the template writes the degrees in the reader's language.
    axis: str
    degrees: str
    lx: float
    ly: float
    anchor: str = "start"


@dataclass(frozen=True, slots=True)
class SiteMap:
    width: int
    height: int
    markers: list[Marker]
    grid: list[GridLine]
    unplaced: int


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


def _grid_step(span: float) -> float:
    for step in (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0):
        if span / step <= 6:
            return step
    return 20.0


def site_map(sites: Sequence[MapSite]) -> SiteMap:
    """Sites placed by longitude/latitude (equirectangular, scaled by the
    cosine of the middle latitude so distances look right), worst drawn last
    so it stays on top."""
    placed = [s for s in sites if s.latitude is not None and s.longitude is not None]
    if not placed:
        return SiteMap(MAP_WIDTH, MAP_HEIGHT, [], [], len(sites))
    lats = [float(s.latitude) for s in placed if s.latitude is not None]
    lons = [float(s.longitude) for s in placed if s.longitude is not None]
    pad = 0.05
    south, north = min(lats) - pad, max(lats) + pad
    west, east = min(lons) - pad, max(lons) + pad
    squash = math.cos(math.radians((south + north) / 2))
    span_x = (east - west) * squash
    span_y = north - south
    inner_w, inner_h = MAP_WIDTH - 2 * MAP_MARGIN, MAP_HEIGHT - 2 * MAP_MARGIN
    scale = min(inner_w / span_x, inner_h / span_y)
    off_x = MAP_MARGIN + (inner_w - span_x * scale) / 2
    off_y = MAP_MARGIN + (inner_h - span_y * scale) / 2

    def project(lat: float, lon: float) -> tuple[float, float]:
        return (
            round(off_x + (lon - west) * squash * scale, 1),
            round(off_y + (north - lat) * scale, 1),
        )

    rank = {h: len(HEALTHS) - 1 - i for i, h in enumerate(HEALTHS)}  # worst drawn last
    # Labels for the worst sites only: a thousand labels would hide the map.
    labelled = {
        s.id
        for s in sorted(placed, key=lambda s: -rank.get(s.health, 1))[:MAP_LABELS]
        if len(placed) <= MAP_LABELS or s.health != "online"
    }
    markers = []
    for s in sorted(placed, key=lambda s: rank.get(s.health, 1)):
        x, y = project(float(s.latitude or 0), float(s.longitude or 0))
        markers.append(
            Marker(
                site_id=s.id,
                name=s.name,
                name_en=s.name_en,
                health=s.health,
                x=x,
                y=y,
                r=round(6 + 2 * math.sqrt(max(s.boards, 1)), 1),
                boards=s.boards,
                open_incidents=s.open_incidents,
                labelled=s.id in labelled,
            )
        )
    grid = []
    step = _grid_step(max(north - south, east - west))
    lat = math.ceil(south / step) * step
    while lat <= north:
        _, y = project(lat, west)
        grid.append(GridLine(0, y, MAP_WIDTH, y, "lat", f"{lat:.2f}", 4, y - 3))
        lat += step
    lon = math.ceil(west / step) * step
    while lon <= east:
        x, _ = project(south, lon)
        edge = x > MAP_WIDTH - 60  # near the right edge the label goes left of its line
        grid.append(
            GridLine(
                x,
                0,
                x,
                MAP_HEIGHT,
                "lon",
                f"{lon:.2f}",
                x - 3 if edge else x + 3,
                MAP_HEIGHT - 4,
                "end" if edge else "start",
            )
        )
        lon += step
    return SiteMap(MAP_WIDTH, MAP_HEIGHT, markers, grid, len(sites) - len(placed))


def map_markers(
    site_map: SiteMap, *, local_name: Callable[[str, str | None], str], words: MarkerWords
) -> Markup:
    """The markers of ``site_map`` as SVG, one link per site.

    Written here rather than as a loop in ``_map.html``: for the province's
    2,500 sites the template loop took 64 ms a page (bench/api.py), this a
    fifth of that (``Markup.format`` would take as long as the template).
    Every text is escaped here; numbers are formatted floats and ints."""
    out = []
    for m in site_map.markers:
        name = escape(local_name(m.name, m.name_en))
        health = escape(m.health)
        title = (
            f"{name}: {escape(words.health.get(m.health, m.health))} · "
            f"{escape(words.boards)} {m.boards} · {escape(words.incidents)} {m.open_incidents}"
        )
        label = (
            f'<text x="{m.label_x}" y="{round(m.y + 4, 1)}" text-anchor="{m.anchor}"'
            f' class="map-label">{name}</text>'
            if m.labelled
            else ""
        )
        out.append(
            f'<a href="/sites/{m.site_id}" class="map-site"><title>{title}</title>'
            f'<circle cx="{m.x}" cy="{m.y}" r="{m.r}" class="marker h-{health}"/>{label}</a>'
        )
    return Markup("\n".join(out))  # noqa: S704 (escaped above, value by value)


@dataclass(frozen=True, slots=True)
class MarkerWords:
    """The translated words a marker's tooltip uses."""

    health: Mapping[str, str]
    boards: str
    incidents: str


# -- line charts ---------------------------------------------------------------------

CHART_WIDTH = 320
CHART_HEIGHT = 110
CHART_PAD_LEFT = 40
CHART_PAD_RIGHT = 6
CHART_PAD_TOP = 8
CHART_PAD_BOTTOM = 20


@dataclass(frozen=True, slots=True)
class Chart:
    """One small chart: polylines (a gap in the data starts a new one),
    the y range and the latest value."""

    key: str
    unit: str
    width: int
    height: int
    lines: list[str]
    dots: list[tuple[float, float]]
    y_min: float
    y_max: float
    latest: float | None
    ticks: list[tuple[float, str]]
    plot: tuple[float, float, float, float]

    @property
    def empty(self) -> bool:
        return not self.lines and not self.dots


def line_chart(
    key: str,
    unit: str,
    points: Sequence[tuple[datetime, float | None]],
    *,
    since: datetime,
    until: datetime,
    bucket: timedelta,
    scale: float = 1.0,
    floor: float | None = None,
    ceiling: float | None = None,
) -> Chart:
    """Values against time over [since, until). Buckets further apart than
    twice the bucket width break the line: a board that was silent draws a gap,
    not a slope."""
    left, top = CHART_PAD_LEFT, CHART_PAD_TOP
    right, bottom = CHART_WIDTH - CHART_PAD_RIGHT, CHART_HEIGHT - CHART_PAD_BOTTOM
    values = [(t, v * scale) for t, v in points if v is not None and math.isfinite(v)]
    if not values:
        return Chart(key, unit, CHART_WIDTH, CHART_HEIGHT, [], [], 0, 0, None, [], (0, 0, 0, 0))
    # A fixed floor/ceiling (0-100 %) still widens if a value falls outside.
    low = min(v for _, v in values)
    high = max(v for _, v in values)
    if floor is not None:
        low = min(low, floor)
    if ceiling is not None:
        high = max(high, ceiling)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    span_s = (until - since).total_seconds()

    def xy(t: datetime, v: float) -> tuple[float, float]:
        x = left + (right - left) * (t - since).total_seconds() / span_s
        y = bottom - (bottom - top) * (v - low) / (high - low)
        return round(x, 1), round(y, 1)

    runs: list[list[tuple[float, float]]] = []
    previous: datetime | None = None
    for t, v in values:
        if previous is None or t - previous > 2 * bucket:
            runs.append([])
        runs[-1].append(xy(t, v))
        previous = t
    lines = [" ".join(f"{x},{y}" for x, y in run) for run in runs if len(run) > 1]
    dots = [run[0] for run in runs if len(run) == 1]
    ticks = [(float(bottom), _short(low)), (float(top), _short(high))]
    return Chart(
        key=key,
        unit=unit,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        lines=lines,
        dots=dots,
        y_min=low,
        y_max=high,
        latest=values[-1][1],
        ticks=ticks,
        plot=(left, top, right, bottom),
    )


def _short(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


# -- the connectivity strip ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Band:
    state: str
    x: float
    width: float
    start: datetime
    end: datetime


def state_strip(
    changes: Sequence[tuple[datetime, str]],
    *,
    since: datetime,
    until: datetime,
    current: str,
    width: float = CHART_WIDTH * 2,
) -> list[Band]:
    """Coloured bands of connectivity state over [since, until), from the
    changes in order (the first may be the state at ``since``)."""
    span_s = (until - since).total_seconds()
    edges: list[tuple[datetime, str]] = []
    for at, state in changes:
        edges.append((max(at, since), state))
    if not edges:
        edges = [(since, current)]
    elif edges[0][0] > since:
        edges.insert(0, (since, "unknown"))
    bands = []
    for (start, state), (end, _) in zip(edges, [*edges[1:], (until, "")], strict=True):
        if end <= start:
            continue
        x = width * (start - since).total_seconds() / span_s
        w = width * (end - start).total_seconds() / span_s
        bands.append(Band(state, round(x, 1), round(max(w, 0.5), 1), start, end))
    return bands
