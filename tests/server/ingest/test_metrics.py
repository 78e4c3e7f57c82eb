"""Ingest's Prometheus families move with what the real pipeline commits
(real Mosquitto, real PostgreSQL), read back from its /metrics endpoint."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

import pytest

from fleet_server.errors import ConfigError
from fleet_server.ingest.service import IngestService
from fleet_server.metrics import serving
from fleet_server.settings import Settings
from tests.server.ingest.conftest import running
from tests.support import messages as m
from tests.support.metrics import Scrape, documented, parse
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.ports import free_port
from tests.support.wait import wait_for


def fetch(port: int) -> Scrape:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        return parse(response.read().decode())


def test_counts_bytes_dead_letters_and_timings_follow_the_commits(
    ingest: IngestService, mosquitto: Mosquitto
) -> None:
    heartbeats = [m.heartbeat("lc-mlt-01", seq=seq) for seq in range(1, 21)]
    powers = [m.power("lc-mlt-01", seq=100 + seq) for seq in range(5)]
    births = [m.state("lc-mlt-01", seq=200)]
    bad_json = (heartbeats[0][0], b"{not json")
    bad_topic = ("fleet/v1/lc-mlt-01/telemetry/bogus", heartbeats[0][1])
    stream = [*heartbeats, *powers, *births, heartbeats[3], bad_json, bad_topic]
    with serving(ingest.metrics.registry, "127.0.0.1", free_port()) as port:
        assert port is not None
        before = fetch(port)
        assert before.value("fleet_ingest_messages_total", kind="heartbeat") == 0
        assert before.value("fleet_ingest_broker_connected") == 1
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: ingest.stats.acked == len(stream), what="everything acknowledged")
        page = fetch(port)

    heartbeat_topic_messages = [*heartbeats, heartbeats[3], bad_json]
    assert page.value("fleet_ingest_messages_total", kind="heartbeat") == 22
    assert page.value("fleet_ingest_messages_total", kind="power") == 5
    assert page.value("fleet_ingest_messages_total", kind="state") == 1
    assert page.value("fleet_ingest_messages_total", kind="other") == 1
    assert page.total("fleet_ingest_messages_total") == len(stream)
    assert page.value("fleet_ingest_bytes_total", kind="heartbeat") == sum(
        len(payload) for _, payload in heartbeat_topic_messages
    )
    assert page.value("fleet_ingest_dead_letters_total", reason="bad_json") == 1
    assert page.value("fleet_ingest_dead_letters_total", reason="bad_topic") == 1
    assert page.value("fleet_ingest_duplicate_rows_total") == 1
    assert page.value("fleet_ingest_database_failures_total") == 0
    batches = ingest.stats.batches
    assert batches >= 1
    assert page.value("fleet_ingest_batch_messages_count") == batches
    assert page.value("fleet_ingest_batch_messages_sum") == len(stream)
    assert page.value("fleet_ingest_commit_duration_seconds_count") == batches
    assert page.value("fleet_ingest_lag_seconds_count") == len(stream)
    assert page.value("fleet_ingest_lag_seconds_sum") > 0
    assert page.value("fleet_ingest_last_commit_timestamp_seconds") > 0
    assert page.value("fleet_ingest_queue_messages") == 0


def test_every_documented_ingest_family_is_served(
    make_settings: Callable[..., Settings],
) -> None:
    service = IngestService(make_settings())  # not started: no broker needed
    with serving(service.metrics.registry, "127.0.0.1", free_port()) as port:
        assert port is not None
        page = fetch(port)
    expected = {f.name for f in documented().values() if f.served_by == "ingest"}
    assert expected
    assert expected <= set(page.families)
    served = {n for n in page.families if n.startswith("fleet_") and not n.endswith("_created")}
    assert served == expected


def test_failed_commits_are_counted(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto
) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/fleet"
    with running(make_settings(database_url=nowhere)) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all([m.heartbeat()])
        pub.close()
        registry = service.metrics.registry
        wait_for(
            lambda: (registry.get_sample_value("fleet_ingest_database_failures_total") or 0) >= 2,
            what="two failed commits",
        )
        assert registry.get_sample_value("fleet_ingest_batch_messages_count") == 0
        assert registry.get_sample_value("fleet_ingest_queue_messages") == 0  # held by the writer


def test_port_zero_serves_nothing_and_a_taken_port_is_a_config_error(
    ingest: IngestService,
) -> None:
    with serving(ingest.metrics.registry, "127.0.0.1", 0) as port:
        assert port is None
    taken = free_port()
    with (
        serving(ingest.metrics.registry, "127.0.0.1", taken),
        pytest.raises(ConfigError, match=f"127.0.0.1:{taken}"),
        serving(ingest.metrics.registry, "127.0.0.1", taken),
    ):
        pass
