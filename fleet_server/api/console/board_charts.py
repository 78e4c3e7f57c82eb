"""The board page's 24-hour charts, sent as data and drawn in the browser.

The page carries the series as one JSON block (``<script
type="application/json" id="board-charts">``, escaped for an HTML script
element) that ``static/board_charts.js`` draws as small SVG line charts in the
board's local time. Without JavaScript each chart still shows its lowest,
highest and latest value. The series come from ``telemetry.recent``: hourly
rollups for most of the day, raw rows for the newest hours.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup

from fleet_server.access.principal import Principal
from fleet_server.localtime import local
from fleet_server.telemetry.recent import Bucket, recent_series
from fleet_server.telemetry.storage_series import Conn

DAY = timedelta(hours=24)
BUCKET = timedelta(minutes=15)
#: Empty time after a bucket that still joins the line (at most one bucket).
SILENCE_S = 1800
#: What the JSON may hold literally inside a <script> element: these are
#: written as \u escapes so no value can close the element or open a comment.
UNSAFE_IN_SCRIPT = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}
UNSAFE_IN_SCRIPT |= {"\u2028": "\\u2028", "\u2029": "\\u2029"}


@dataclass(frozen=True, slots=True)
class ChartSpec:
    kind: str
    field: str
    unit: str
    scale: float = 1.0
    floor: float | None = None
    ceiling: float | None = None


#: The small charts on the board page, in order.
CHARTS = (
    ChartSpec("power", "battery_percent_min", "%", floor=0, ceiling=100),
    ChartSpec("power", "input_voltage_v", "V", floor=0),
    ChartSpec("network", "rtt_ms", "ms", floor=0),
    ChartSpec("network", "loss_percent", "%", floor=0, ceiling=100),
    ChartSpec("heartbeat", "temperature_c_max", "°C"),
    ChartSpec("display", "screen_on_share", "%", scale=100, floor=0, ceiling=100),
)


@dataclass(frozen=True, slots=True)
class ChartSummary:
    """What the page says of a chart in words (and shows without JavaScript)."""

    key: str
    unit: str
    low: float | None
    high: float | None
    latest: float | None

    @property
    def empty(self) -> bool:
        return self.latest is None


def _finite(value: float | None, scale: float) -> float | None:
    if value is None or not math.isfinite(value * scale):
        return None
    return value * scale


def _short(value: float) -> float:
    """Four significant digits: enough for a 320-pixel chart, few bytes."""
    return float(f"{value:.4g}")


def _points(buckets: list[Bucket], spec: ChartSpec) -> tuple[list[int], list[float | None]]:
    """Times (Unix seconds) and values; a ``None`` where the board was
    silent for more than a bucket (an hour's bucket: for any empty hour),
    so the line breaks instead of sloping."""
    times: list[int] = []
    values: list[float | None] = []
    end: datetime | None = None
    for b in buckets:
        value = _finite(b.values.get(spec.field), spec.scale)
        if value is None:
            continue
        if end is not None and (b.t - end).total_seconds() > min(b.width_s, SILENCE_S):
            times.append(int(end.timestamp()))
            values.append(None)
        times.append(int(b.t.timestamp()))
        values.append(_short(value))
        end = b.t + timedelta(seconds=b.width_s)
    return times, values


def board_charts(
    conn: Conn, user: Principal, board_id: str, now: datetime
) -> tuple[list[ChartSummary], dict[str, Any]]:
    """The charts' summaries and the data the browser draws them from."""
    if not user.can("telemetry.read"):
        return [], {}
    since = now - DAY
    by_kind = recent_series(
        conn,
        user,
        board_id,
        (spec.kind for spec in CHARTS),
        since=since,
        until=now,
        bucket_s=int(BUCKET.total_seconds()),
    )
    summaries, drawn = [], []
    for spec in CHARTS:
        times, values = _points(by_kind[spec.kind], spec)
        exact = [
            v
            for b in by_kind[spec.kind]
            if (v := _finite(b.values.get(spec.field), spec.scale)) is not None
        ]
        summaries.append(
            ChartSummary(
                key=spec.field,
                unit=spec.unit,
                low=min(exact, default=None),
                high=max(exact, default=None),
                latest=exact[-1] if exact else None,
            )
        )
        drawn.append(
            {"unit": spec.unit, "floor": spec.floor, "ceiling": spec.ceiling}
            | {"t": times, "v": values}
        )
    offset = local(now).utcoffset() or timedelta(0)
    data = {
        "since": int(since.timestamp()),
        "until": int(now.timestamp()),
        "offset": int(offset.total_seconds()),
        "charts": drawn,
    }
    return summaries, data


def script_json(data: Any) -> Markup:
    """``data`` as JSON safe inside ``<script type="application/json">``:
    no ``</script>``, ``<!--`` or line separators survive, and NaN or
    infinity (not JSON) are refused rather than written."""
    text = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in UNSAFE_IN_SCRIPT.items():
        text = text.replace(char, escaped)
    return Markup(text)  # noqa: S704 - escaped above for a script element
