"""A day of telemetry for a chart, cheaply: hourly rollups for the hours the
rollups hold, raw rows only for the newest hours.

A board's raw samples lie on as many heap pages as there are samples (rows
are stored in arrival order, all boards interleaved), so 24 hours of raw
rows cost 288 page reads a kind at one sample every five minutes; the
hourly rollups hold the same day in 24 rows. The rollups are complete only
for hours that ended a refresh ago (every 10 minutes on both storage
variants: ``storage_upkeep`` on plain PostgreSQL, the continuous-aggregate
policy of migration 0003 on TimescaleDB), so the newest ``RECENT_RAW``
(rounded down to the hour) are read raw, bucketed finer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fleet_server.access.principal import Principal
from fleet_server.boards.service import board_in_scope
from fleet_server.errors import Invalid
from fleet_server.telemetry import storage_series as storage
from fleet_server.telemetry.storage_series import SERIES, Conn

#: The newest span read from the raw tables; older hours come from the rollups.
RECENT_RAW = timedelta(hours=2)
HOUR = 3600


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket of a series: its start, its width and one value a field
    (``None`` when no sample had it)."""

    t: datetime
    width_s: int
    samples: int
    values: dict[str, float | None]


def raw_from(until: datetime) -> datetime:
    """Where the raw part starts: ``RECENT_RAW`` before ``until``, down to the hour."""
    edge = (until - RECENT_RAW).astimezone(UTC)
    return edge.replace(minute=0, second=0, microsecond=0)


def recent_series(
    conn: Conn,
    user: Principal,
    board_id: str,
    kinds: Iterable[str],
    *,
    since: datetime,
    until: datetime,
    bucket_s: int,
) -> dict[str, list[Bucket]]:
    """Buckets of each of ``kinds`` (not cameras: one series a board) in
    [since, until), oldest first: hourly buckets from the rollups up to
    :func:`raw_from`, ``bucket_s`` buckets of raw rows after it."""
    user.need("telemetry.read")
    wanted = list(dict.fromkeys(kinds))
    if any(kind not in SERIES or kind == "camera" for kind in wanted):
        raise Invalid(f"kinds: some of {', '.join(k for k in SERIES if k != 'camera')}")
    if until <= since or HOUR % bucket_s:
        raise Invalid("until must be after since; the bucket must divide an hour")
    board_in_scope(conn, user.scope, board_id)
    edge = max(since, raw_from(until))
    out: dict[str, list[Bucket]] = {}
    by_kind = storage.bucketed_recent(
        conn, board_id, wanted, since=since, raw_from=edge, until=until, bucket_s=bucket_s
    )
    for kind, rows in by_kind.items():
        names = storage.field_names(kind)
        out[kind] = [
            Bucket(
                t=r["t"],
                width_s=int(r["width_s"]),
                samples=int(r["samples"]),
                values={n: r[n] for n in names},
            )
            for r in rows
        ]
    return out
