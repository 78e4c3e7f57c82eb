"""How much data the API benchmark loads (``bench/api_data.py``). Its fields,
as JSON, are the key a loaded database is reused by: a change reloads it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Volumes:
    boards: int = 10_000
    sites: int = 2_500
    days: int = 182
    #: incident history (resolved), about; plus the unresolved ones
    incidents: int = 200_000
    #: unresolved incidents besides those of boards that are down now
    unresolved: int = 800
    raw_hours: int = 24
    raw_interval_s: int = 300
    #: rollup history (hourly rows per board and kind)
    rollup_days: int = 182
    #: staff accounts besides the benchmark's admin and operator
    staff: int = 60
