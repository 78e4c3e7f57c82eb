"""The API's models of telemetry series."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

#: The kinds of telemetry a series may be asked for.
Kind = Literal["heartbeat", "power", "network", "camera", "display"]


class SeriesPoint(BaseModel):
    t: datetime
    camera_id: str | None = None
    samples: int
    values: dict[str, float | None]


class Series(BaseModel):
    board_id: str
    kind: str
    since: datetime
    until: datetime
    bucket_s: int
    source: Literal["raw", "hourly"]
    fields: list[str]
    points: list[SeriesPoint]
