"""``fleet-server simulate``: simulated boards against an existing broker
(and, if given, an existing database to seed the fleet into)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from fleet_server.db.connect import connect
from fleet_server.errors import ConfigError
from fleet_server.simulator.boards import DEFAULT_INTERVALS
from fleet_server.simulator.runtime import Fleet
from fleet_server.simulator.scenarios import SCENARIOS, Timing
from fleet_server.simulator.seed import fleet_specs, seed


def run_simulation(
    boards: int,
    scenario: str,
    mqtt_url: str,
    stop: threading.Event,
    *,
    duration: float | None = None,
    heartbeat_s: float | None = None,
    database_url: str | None = None,
    db_jit: bool = False,
    say: Callable[[str], None] = print,
) -> Fleet:
    """``fleet-server simulate``: boards against an existing broker, the
    fleet seeded into ``database_url`` if given (``db_jit``: FLEET_DB_JIT)."""
    if scenario not in SCENARIOS:
        raise ConfigError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
    inventory = fleet_specs(boards)
    if database_url:
        with connect(database_url, jit=db_jit, application_name="fleet-simulate") as conn:
            seed(conn, inventory)
    intervals = dict(DEFAULT_INTERVALS)
    if heartbeat_s:
        intervals = {k: max(v, heartbeat_s) for k, v in intervals.items()}
        intervals[next(iter(intervals))] = heartbeat_s
    endpoint = urlsplit(mqtt_url)
    fleet = Fleet(
        [b for _, b in inventory],
        endpoint.hostname or "127.0.0.1",
        endpoint.port or 1883,
        intervals=intervals,
    )
    started = time.monotonic()
    SCENARIOS[scenario](
        fleet,
        lambda text: say(f"[{int(time.monotonic() - started):>5}s] {scenario}: {text}"),
        Timing(),
    )
    fleet.start()
    deadline = None if duration is None else started + duration
    try:
        fleet.run(lambda: stop.is_set() or (deadline is not None and time.monotonic() >= deadline))
    finally:
        fleet.stop()
    return fleet
