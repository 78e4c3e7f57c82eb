"""What is built from the fleet's health, kept until that health changes.

The overview's map and site list, ``GET /api/v1/sites/health`` and
``GET /api/v1/fleet/summary`` read every site and board; at 2,500 sites that
is seconds of work, and the answer only changes when a board changes state,
an incident opens or closes, or a site changes. The database keeps a number
that moves on each such change (``fleet_health_version``, migration 0045);
each request reads it (one single-row read) and gets what was built for its
key (the caller's scope, and for a page its language) at that number, or
builds it.

- **Scoped**: the key holds the caller's whole :class:`~fleet_server.access.scope.Scope`
  (organisation, sites given one by one, team…), so a scope is only ever
  served what was built for the same scope.
- **One build per change**: requests that find nothing for their key wait
  for the one request building it (single flight); when an older build is
  there they get it while one request builds the new one, so a change costs
  one slow request, not fifty.
- **Confirmed once**: the number is a sequence, bumped at the writer's
  commit but just before its changes become visible (see the migration), so
  the first build at a new number could have read the data a moment before
  the commit that moved it. That first build is served for
  :data:`CONFIRM_AFTER_S` only, then built once more at the same number;
  that second build (commits are visible within milliseconds of their bump)
  is kept until the number moves. (Migration 0045's comment names a 10 s
  maximum age for this race: this confirmation replaced it.)
- **Bounded**: a few dozen keys, least recently used dropped first; and
  nothing is served more than :data:`MAX_AGE_S` after it was built, whatever
  the number says (a bound for a change no trigger would see).
- Thread safe: sync handlers run in AnyIO's worker threads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fleet_server.organisations import storage

T = TypeVar("T")

#: How long the first build at a new version is served before it is built
#: once more to confirm it (the bump-to-commit race, above).
CONFIRM_AFTER_S = 2.0
#: The most a build is served after it was made, whatever the version says.
MAX_AGE_S = 60.0
#: Keys kept (per API process): scopes x languages x kinds.
CAPACITY = 48
#: How long a request waits for another's build before building itself.
WAIT_S = 30.0


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    version: int
    built_at: float
    value: T
    #: Built again at the same version (see CONFIRM_AFTER_S).
    confirmed: bool


class VersionedCache(Generic[T]):
    """Values by key, each valid for one version: the first build at a
    version for ``confirm_after_s``, the confirming one up to ``max_age_s``."""

    def __init__(
        self,
        *,
        capacity: int = CAPACITY,
        max_age_s: float = MAX_AGE_S,
        confirm_after_s: float = CONFIRM_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.max_age_s = max_age_s
        self.confirm_after_s = confirm_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._building: dict[Hashable, threading.Event] = {}
        #: How many builds ran (for tests and profiling).
        self.builds = 0

    def get(self, key: Hashable, version: int, build: Callable[[], T]) -> T:
        """What was built for ``key`` at ``version``, else ``build()``'s
        answer (one build at a time per key)."""
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and self._fresh(entry, version):
                    self._entries.move_to_end(key)
                    return entry.value
                building = self._building.get(key)
                if building is None:
                    building = self._building[key] = threading.Event()
                    break
                if entry is not None:
                    # an older build while another request makes the new one
                    return entry.value
            if not building.wait(WAIT_S):
                return build()  # the other build is stuck: do not queue behind it
        try:
            value = build()
        finally:
            with self._lock:
                del self._building[key]
            building.set()
        self._store(key, version, value)
        return value

    def _fresh(self, entry: _Entry[T], version: int) -> bool:
        age = self._clock() - entry.built_at
        limit = self.max_age_s if entry.confirmed else self.confirm_after_s
        return entry.version == version and age < limit

    def _store(self, key: Hashable, version: int, value: T) -> None:
        with self._lock:
            self.builds += 1
            old = self._entries.get(key)
            if old is not None and old.version > version:
                return  # a newer build got there first
            # Only one build of a key runs at a time, and one starts only once
            # the entry there is stale: a build at an entry's version started
            # after the first one at that version was served its while.
            confirmed = old is not None and old.version == version
            self._entries[key] = _Entry(version, self._clock(), value, confirmed)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True, slots=True)
class FleetVersion:
    """Which database (its oid: a database made again under the same name
    is another) and the fleet health version in it."""

    database: int
    number: int


def fleet_version(conn: storage.Conn) -> FleetVersion:
    """The fleet health version now (read it before what it versions)."""
    database, number = storage.health_version(conn)
    return FleetVersion(database, number)


#: The cache of this process: the API's workers each keep their own.
SHARED: VersionedCache[Any] = VersionedCache()


def cached(conn: storage.Conn, key: tuple[Hashable, ...], build: Callable[[], T]) -> T:
    """``build()``'s answer for ``key`` at the fleet health version now,
    built once per version (see :class:`VersionedCache`)."""
    version = fleet_version(conn)
    value: T = SHARED.get((version.database, *key), version.number, build)
    return value
