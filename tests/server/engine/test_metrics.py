"""The engine's Prometheus families: pass duration and failures, and the
leader gauge that follows the advisory lock."""

from __future__ import annotations

import threading
import urllib.request

import psycopg
import pytest

from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.metrics import EngineMetrics, NotificationMetrics, new_registry, serving
from tests.server.engine.conftest import Conn, Store
from tests.support.clock import Clock
from tests.support.metrics import documented, parse
from tests.support.ports import free_port
from tests.support.wait import wait_for


def sample(engine: Engine, name: str) -> float:
    value = engine.metrics.registry.get_sample_value(name)
    assert value is not None, name
    return value


def test_each_pass_is_timed_and_a_failed_pass_counted(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state("lc-sin-ho-01", "online")
    engine.evaluate(engine_conn)
    engine.evaluate(engine_conn)
    assert sample(engine, "fleet_engine_evaluation_duration_seconds_count") == 2
    assert sample(engine, "fleet_engine_evaluation_duration_seconds_sum") > 0
    assert sample(engine, "fleet_engine_evaluation_failures_total") == 0

    closed = psycopg.connect(seeded, autocommit=True)
    closed.close()
    with pytest.raises(psycopg.OperationalError):
        engine.evaluate(closed)
    assert sample(engine, "fleet_engine_evaluation_failures_total") == 1
    assert sample(engine, "fleet_engine_evaluation_duration_seconds_count") == 2


def test_the_leader_gauge_follows_the_lock(seeded: str) -> None:
    settings = EngineSettings(tick_s=0.1, standby_retry_s=0.2)
    first, second = Engine(seeded, settings), Engine(seeded, settings)
    assert sample(first, "fleet_engine_leader") == 0
    stop_first, stop_second = threading.Event(), threading.Event()
    t1 = threading.Thread(target=first.run_forever, args=(stop_first,))
    t2 = threading.Thread(target=second.run_forever, args=(stop_second,))
    t1.start()
    try:
        assert first.is_leader.wait(10)
        t2.start()
        wait_for(lambda: first.passes > 2, what="the leader evaluating")
        assert sample(first, "fleet_engine_leader") == 1
        assert sample(second, "fleet_engine_leader") == 0
        stop_first.set()
        t1.join(10)
        assert second.is_leader.wait(10)
        assert sample(first, "fleet_engine_leader") == 0
        assert sample(second, "fleet_engine_leader") == 1
    finally:
        stop_first.set()
        stop_second.set()
        t1.join(10)
        if t2.is_alive():
            t2.join(10)


def test_the_engine_process_serves_its_and_the_delivery_workers_families(seeded: str) -> None:
    registry = new_registry()  # as `fleet-server engine` builds it
    Engine(seeded, metrics=EngineMetrics(registry))
    NotificationMetrics(registry)
    with serving(registry, "127.0.0.1", free_port()) as port:
        assert port is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            page = parse(response.read().decode())
    expected = {f.name for f in documented().values() if f.served_by == "engine"}
    assert expected
    served = {n for n in page.families if n.startswith("fleet_") and not n.endswith("_created")}
    assert served == expected
    assert page.value("fleet_engine_leader") == 0
    assert "process_resident_memory_bytes" in page.families
