"""Ingest judges a board's times against the moment it received the message:
``FLEET_INGEST_CLOCK_PAST_S`` before to ``FLEET_INGEST_CLOCK_FUTURE_S`` after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from fleet_server.settings import Settings
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

from .conftest import running

Conn = psycopg.Connection[tuple[Any, ...]]


def test_times_outside_the_clock_window_are_dead_letters(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    now = datetime.now(UTC)
    stream = [
        m.heartbeat("lc-clk-01", seq=1, at=now - timedelta(hours=2)),  # past the 1 h allowed
        m.heartbeat("lc-clk-01", seq=2, at=now + timedelta(minutes=30)),  # beyond 10 min ahead
        m.heartbeat("lc-clk-01", seq=3, at=now - timedelta(minutes=50)),
        m.heartbeat("lc-clk-01", seq=4, at=now + timedelta(minutes=5)),
    ]
    settings = make_settings(ingest_clock_past_s=3600, ingest_clock_future_s=600)
    with running(settings) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
    stored = [r[0] for r in db.execute("SELECT seq FROM telemetry_heartbeat ORDER BY seq")]
    assert stored == [3, 4]
    reasons = db.execute("SELECT reason, detail FROM dead_letters ORDER BY id").fetchall()
    assert [r[0] for r in reasons] == ["clock_out_of_range"] * 2
    assert "before the receiving time" in reasons[0][1]
    assert "after the receiving time" in reasons[1][1]
