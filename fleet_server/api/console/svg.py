"""Drawings made on the server as inline SVG: small 24-hour line charts and
the connectivity strip (the site map is in ``site_map.py``, re-exported
here). Pure functions returning numbers for the templates to draw."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleet_server.api.console.site_map import MarkerWords, SiteMap, map_markers, site_map

__all__ = [
    "Band",
    "Chart",
    "MarkerWords",
    "SiteMap",
    "line_chart",
    "map_markers",
    "site_map",
    "state_strip",
]

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
