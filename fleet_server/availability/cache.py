"""The organisation level's figures, and the totals of the board and site
levels, kept a short while per scope.

An organisation's row sums every visible board of the period: for the
province that is all 10,000 boards (the month's stored days and today's open
part), ~50-100 ms of a worker's CPU, for a handful of rows that move by
seconds. They are kept per scope, filters and period in
:class:`~fleet_server.organisations.health_cache.VersionedCache` (stale while
revalidating: only the first request for a key waits for a computation; later
ones are served what is kept while one background computation, at most, runs)
and computed again once they are :data:`MAX_AGE_S` old. The board and site
levels compute each page live; only their ``total`` (how many boards or sites
the period lists, a count over every board of the scope) is kept so.

What is served stays exact for what it says: the figures are those of
[``period_from``, ``period_to``), and for a period that runs to now,
``period_to`` is the instant they were computed (at most :data:`MAX_AGE_S`
and a computation ago). A change to the history of a fixed period (late
data, a window added afterwards) shows within the same delay."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from fleet_server.availability.schemas import AvailabilityOut
from fleet_server.availability.storage import Conn
from fleet_server.organisations.health_cache import VersionedCache, background

#: How old kept figures may be before they are computed again.
MAX_AGE_S = 30.0
#: The figures and the end of the period they cover.
Kept = tuple[datetime, Sequence[AvailabilityOut]]

T = TypeVar("T")


def _cache(capacity: int) -> VersionedCache[Any]:
    return VersionedCache(
        capacity=capacity,
        max_age_s=MAX_AGE_S,
        confirm_after_s=MAX_AGE_S,
        read_version=lambda _conn: 0,
    )


ORGANISATIONS: VersionedCache[Kept] = _cache(64)
TOTALS: VersionedCache[int] = _cache(256)


def kept(
    conn: Conn,
    where: VersionedCache[T],
    key: tuple[Hashable, ...],
    compute: Callable[[Conn], T],
) -> T:
    """``compute(conn)``'s answer for ``key`` (the caller's scope, filters
    and period), from what is kept in ``where`` when there is (see the
    module). A recomputation runs on a connection of the pool that lent
    ``conn`` (none known: in the request)."""
    info = conn.info
    return where.get(
        (info.host, info.port, info.dbname, *key),
        0,
        lambda c, _previous: compute(c),
        conn=conn,
        connect=background(conn),
    )
