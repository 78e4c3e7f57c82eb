"""A last will through real Mosquitto and ingest becomes "lost" and an
incident within seconds: ingest NOTIFYs the engine at commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg

from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.settings import Settings
from tests.server.ingest.conftest import running
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

BOARD = "lc-sin-ho-01"


def test_last_will_to_incident_within_two_seconds(
    seeded: str, mosquitto: Mosquitto, make_settings: Callable[..., Settings]
) -> None:
    engine = Engine(seeded, EngineSettings(tick_s=5.0))  # a slow tick: NOTIFY must wake it
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_forever, args=(stop,))
    with (
        running(make_settings(database_url=seeded)),
        psycopg.connect(seeded, autocommit=True) as db,
    ):
        thread.start()
        assert engine.is_leader.wait(10)
        pub = Publisher(mosquitto.port)
        pub.publish_all([m.state(BOARD, seq=0, status="online")])
        wait_for(
            lambda: (
                db.execute(
                    "SELECT state FROM board_status WHERE board_id = %s", (BOARD,)
                ).fetchone()
                == ("online",)
            ),
            what="online",
        )
        sent = time.monotonic()
        pub.publish_all([m.state(BOARD, seq=1, status="lost")])
        wait_for(
            lambda: (
                db.execute(
                    "SELECT count(*) FROM incidents WHERE board_id = %s AND rule = 'board_lost'",
                    (BOARD,),
                ).fetchone()
                == (1,)
            ),
            timeout=10,
            what="board_lost incident",
        )
        elapsed = time.monotonic() - sent
        pub.close()
        stop.set()
        thread.join(15)
    assert elapsed < 2.0, f"last will → incident took {elapsed:.2f} s"
