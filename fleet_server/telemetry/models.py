"""Rules of telemetry series: which ranges read raw rows, how wide a bucket is."""

from __future__ import annotations

import math
from datetime import timedelta

from fleet_server.errors import Invalid

#: Ranges up to this read the raw tables; longer ones the hourly rollups.
RAW_LIMIT = timedelta(days=7)
MAX_RANGE = timedelta(days=5 * 366)
MAX_POINTS = 5000
NICE_BUCKETS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 7 * 86400)


def pick_bucket(span: timedelta, requested: int | None, *, hourly: bool) -> int:
    seconds = span.total_seconds()
    if requested is None:
        target = seconds / 240
        requested = next((b for b in NICE_BUCKETS if b >= target), NICE_BUCKETS[-1])
    if hourly and requested % 3600:
        raise Invalid(
            f"bucket: ranges over {RAW_LIMIT.days} days use hourly rollups;"
            " give a multiple of 3600 seconds"
        )
    if math.ceil(seconds / requested) > MAX_POINTS:
        raise Invalid(
            f"bucket: {requested} s gives more than {MAX_POINTS} points over this range;"
            " use a larger bucket"
        )
    return requested
