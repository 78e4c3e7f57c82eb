"""What is built from the fleet's health, kept until that health changes.

The overview's map and site list, ``GET /api/v1/sites/health`` and
``GET /api/v1/fleet/summary`` read every site and board; at 2,500 sites that
is a few hundred milliseconds of one worker's CPU, and the answer only
changes when a board changes state, an incident opens or closes, or a site
changes. The database keeps a number that moves on each such change
(``fleet_health_version``, migration 0045); each request reads it (one
single-row read) and gets what was built for its key (the caller's scope,
and for a page its language).

- **Scoped**: the key holds the caller's whole :class:`~fleet_server.access.scope.Scope`
  (organisation, sites given one by one, team…), so a scope is only ever
  served what was built for the same scope.
- **Stale while revalidating**: only the first request for a key (nothing
  kept yet) waits for a build, and requests that come while it runs wait
  for that one build (single flight). Once something is kept, a request
  never waits: when the version moved (or the entry is due for its
  confirmation or its maximum age), it is served what is kept and starts
  one rebuild in a background thread with its own pooled connection; at
  most one rebuild per key runs at a time.
- **Confirmed cheaply**: the number is a sequence, bumped at the writer's
  commit but just before its changes become visible (see the migration), so
  a build at a new number could have read the data a moment before the
  commit that moved it. Each build is therefore redone once
  :data:`CONFIRM_AFTER_S` after it was made, at the same number. A rebuild
  that finds what is kept (``==``) keeps the kept object, and what is built
  from it (the rendered part) reuses its rendering when its data is that
  same object, so a confirmation costs the queries, not the rendering.
- **Bounded staleness**: a change a trigger sees shows once the rebuild
  started by the first request after it ends (that request and those during
  the rebuild get the previous build): at most the rebuild's time after the
  first request that follows the change, and, for a build that read the data
  just before the commit, :data:`CONFIRM_AFTER_S` plus a rebuild. A change no
  trigger sees shows within :data:`MAX_AGE_S` plus a rebuild. A rebuild that
  fails is logged, the kept build is served on, and it is tried again
  :data:`RETRY_AFTER_S` later; a first build that fails fails its request.
- **Bounded size**: a few dozen keys, least recently used dropped first.
- Thread safe: sync handlers run in AnyIO's worker threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from fleet_server.db import lending
from fleet_server.organisations import storage

T = TypeVar("T")
log = logging.getLogger(__name__)

#: How long after a build it is redone once at the same version (the
#: bump-to-commit race, above).
CONFIRM_AFTER_S = 2.0
#: How long after a build it is redone, whatever the version says.
MAX_AGE_S = 60.0
#: How long after a failed rebuild the next one may start.
RETRY_AFTER_S = 5.0
#: Keys kept (per API process): scopes x languages x kinds.
CAPACITY = 48
#: How long a request waits for another's first build before building itself.
WAIT_S = 30.0

#: A build: from a connection and what is kept for the key (None the first
#: time), the new value (it may answer the kept one when nothing changed).
Build = Callable[[Any, "T | None"], T]
#: Runs a rebuild elsewhere (a daemon thread; tests run them by hand).
Spawn = Callable[[Callable[[], None]], None]
#: Lends a connection for a background rebuild: a context manager.
Connect = Callable[[], Any]


def _thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="health-cache-rebuild", daemon=True).start()


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    version: int
    built_at: float
    value: T
    #: Built again at the same version (see CONFIRM_AFTER_S).
    confirmed: bool
    #: When the last rebuild failed (no rebuild before RETRY_AFTER_S after).
    failed_at: float | None = None


class VersionedCache(Generic[T]):
    """Values by key, each valid for one version (see the module)."""

    def __init__(
        self,
        *,
        capacity: int = CAPACITY,
        max_age_s: float = MAX_AGE_S,
        confirm_after_s: float = CONFIRM_AFTER_S,
        retry_after_s: float = RETRY_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
        spawn: Spawn = _thread,
        read_version: Callable[[Any], int] | None = None,
    ) -> None:
        self.capacity = capacity
        self.max_age_s = max_age_s
        self.confirm_after_s = confirm_after_s
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._spawn = spawn
        #: Reads the version on a background rebuild's connection.
        self._read_version = read_version or _number
        self._lock = threading.Condition()
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._building: dict[Hashable, threading.Event] = {}
        self._local = threading.local()
        #: How many builds ran, and how many found nothing changed.
        self.builds = 0
        self.unchanged = 0

    def get(
        self,
        key: Hashable,
        version: int,
        build: Build[T],
        *,
        conn: Any = None,
        connect: Connect | None = None,
    ) -> T:
        """What is kept for ``key``; built with ``conn`` first if nothing is,
        rebuilt in the background (``connect`` lends it a connection) if it
        is stale; without ``connect``, rebuilt in this request."""
        inline = getattr(self._local, "building", False) or connect is None
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and self._fresh(entry, version):
                    self._entries.move_to_end(key)
                    return entry.value
                building = self._building.get(key)
                if entry is not None and not inline:
                    if building is None and self._may_retry(entry):
                        self._building[key] = threading.Event()
                        assert connect is not None
                        self._spawn(lambda: self._rebuild(key, build, connect))
                    self._entries.move_to_end(key)
                    return entry.value
                if building is None:
                    building = self._building[key] = threading.Event()
                    break
            if not building.wait(WAIT_S):
                return build(conn, None)  # the other build is stuck: do not queue
        try:
            value = self._build(build, conn, entry.value if entry is not None else None)
            return self._store(key, version, value)
        finally:
            self._done(key, building)

    def _build(self, build: Build[T], conn: Any, previous: T | None) -> T:
        """``build``, with any key it reads built in this thread if stale
        (what is built from a stale part would be stale)."""
        outer = getattr(self._local, "building", False)
        self._local.building = True
        try:
            return build(conn, previous)
        finally:
            self._local.building = outer

    def _rebuild(self, key: Hashable, build: Build[T], connect: Connect) -> None:
        with self._lock:
            building = self._building[key]
            entry = self._entries.get(key)
        try:
            with connect() as conn:
                version = self._read_version(conn)
                value = self._build(build, conn, entry.value if entry is not None else None)
            self._store(key, version, value)
        except Exception:
            kind = key[1] if isinstance(key, tuple) and len(key) > 1 else key
            log.exception("rebuilding %s failed: serving the previous build", kind)
            with self._lock:
                kept = self._entries.get(key)
                if kept is not None:
                    self._entries[key] = replace(kept, failed_at=self._clock())
        finally:
            self._done(key, building)

    def _done(self, key: Hashable, building: threading.Event) -> None:
        with self._lock:
            del self._building[key]
            self._lock.notify_all()
        building.set()

    def _fresh(self, entry: _Entry[T], version: int) -> bool:
        age = self._clock() - entry.built_at
        limit = self.max_age_s if entry.confirmed else self.confirm_after_s
        return entry.version == version and age < limit

    def _may_retry(self, entry: _Entry[T]) -> bool:
        failed = entry.failed_at
        return failed is None or self._clock() - failed >= self.retry_after_s

    def _store(self, key: Hashable, version: int, value: T) -> T:
        """Keep ``value`` (or the kept one, equal to it); answer which."""
        with self._lock:
            self.builds += 1
            old = self._entries.get(key)
            if old is not None and old.version > version:
                return value  # a newer build got there first
            if old is not None and (old.value is value or old.value == value):
                value = old.value  # kept: what was built from it can be reused
                self.unchanged += 1
            # Only one build of a key runs at a time, and one starts only once
            # the entry there is stale: a build at an entry's version started
            # at least confirm_after_s after the first one at that version.
            confirmed = old is not None and old.version == version
            self._entries[key] = _Entry(version, self._clock(), value, confirmed)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            return value

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until no build runs (for tests and benchmarks)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._building, timeout)

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


def _number(conn: storage.Conn) -> int:
    return fleet_version(conn).number


#: The cache of this process: the API's workers each keep their own.
SHARED: VersionedCache[Any] = VersionedCache()


def background(conn: storage.Conn) -> Connect | None:
    """How a rebuild started by a request on ``conn`` gets a connection of
    its own: from the pool that lent ``conn`` (:mod:`fleet_server.db.lending`);
    None when no pool is known (the request then rebuilds, waiting)."""
    pool = lending.lender(conn)
    return pool.connection if pool is not None else None


def cached(
    conn: storage.Conn,
    key: tuple[Hashable, ...],
    build: Build[T],
    *,
    cache: VersionedCache[Any] = SHARED,
    in_request: bool = False,
) -> T:
    """``build(conn, kept)``'s answer for ``key`` in this database, kept in
    ``cache`` until the fleet health version moves (see
    :class:`VersionedCache`). A rebuild runs in the background
    (:func:`background`), or, ``in_request``, in the request that finds the
    version moved (what it answers never lags the version it read)."""
    version = fleet_version(conn)
    connect = None if in_request else background(conn)
    value: T = cache.get(
        (version.database, *key), version.number, build, conn=conn, connect=connect
    )
    return value
