"""Ingest under failure: killed mid-batch, database down or restarted under load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg

from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.settings import Settings
from tests.server.ingest.conftest import count, running
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[3]


def _ingest_process(
    db_url: str, mqtt_url: str, client_id: str, log: Path
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        FLEET_DATABASE_URL=db_url,
        FLEET_MQTT_URL=mqtt_url,
        FLEET_INGEST_CLIENT_ID=client_id,
        FLEET_INGEST_BATCH_DELAY_MS="5",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fleet_server.cli", "ingest"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
        )


def test_ingest_killed_between_receive_and_commit_loses_nothing(
    db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    log = tmp_path / "ingest.log"
    with psycopg.connect(db_url) as blocker, psycopg.connect(db_url, autocommit=True) as db:
        # Hold a lock so ingest receives the message but cannot commit it.
        blocker.execute("LOCK TABLE telemetry_heartbeat IN ACCESS EXCLUSIVE MODE")
        proc = _ingest_process(db_url, mosquitto.url, "ingest-kill-test", log)
        try:
            wait_for(lambda: "ingest connected" in log.read_text(), what="ingest subscribed")
            pub = Publisher(mosquitto.port)
            pub.publish_all([m.heartbeat(seq=1), m.heartbeat(seq=2)])
            wait_for(
                lambda: (
                    db.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = 'fleet-ingest' AND wait_event_type = 'Lock'"
                    ).fetchone()
                    == (1,)
                ),
                what="ingest blocked inside its transaction",
            )
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        blocker.rollback()
        assert count(db, "telemetry_heartbeat") == 0
        proc = _ingest_process(db_url, mosquitto.url, "ingest-kill-test", log)
        try:
            wait_for(
                lambda: count(db, "telemetry_heartbeat") == 2, what="redelivered messages stored"
            )
            pub.publish_all([m.heartbeat(seq=3)])
            wait_for(lambda: count(db, "telemetry_heartbeat") == 3, what="new message")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0, log.read_text()
            pub.close()
        seqs = [r[0] for r in db.execute("SELECT seq FROM telemetry_heartbeat ORDER BY seq")]
        assert seqs == [1, 2, 3]


def test_database_down_holds_acks_with_bounded_memory_then_resumes(
    own_postgres: EmbeddedPostgres,
    mosquitto: Mosquitto,
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        database_url=own_postgres.url("fleet"), ingest_receive_maximum=50, ingest_batch_size=20
    )
    with running(settings) as service:
        own_postgres.stop()
        pub = Publisher(mosquitto.port)
        pub.publish_all([m.heartbeat(f"lc-b{i % 5}", seq=i) for i in range(1, 1001)])
        wait_for(lambda: service.stats.db_failures > 0, what="a failed commit")
        # The broker holds the rest: never more than the receive maximum here.
        assert service.stats.received <= 50
        assert service.queued <= 50
        assert service.stats.acked == 0
        own_postgres.start()
        with psycopg.connect(own_postgres.url("fleet"), autocommit=True) as db:
            wait_for(
                lambda: count(db, "telemetry_heartbeat") == 1000,
                timeout=60,
                what="all 1000 rows after the database returned",
            )
        pub.close()
        wait_for(lambda: service.stats.acked == 1000, what="all acknowledged")


def test_database_restart_under_load_loses_nothing(
    own_postgres: EmbeddedPostgres,
    mosquitto: Mosquitto,
    make_settings: Callable[..., Settings],
) -> None:
    total = 5000
    settings = make_settings(database_url=own_postgres.url("fleet"))
    with (
        running(settings) as service,
        psycopg.connect(own_postgres.url("fleet"), autocommit=True) as db,
    ):
        pub = Publisher(mosquitto.port)
        sender = threading.Thread(
            target=pub.publish_all,
            args=([m.heartbeat(f"lc-b{i % 20:02d}", seq=i) for i in range(1, total + 1)],),
        )
        sender.start()
        wait_for(lambda: count(db, "telemetry_heartbeat") >= 500, what="load under way")
        db.close()
        own_postgres.restart()
        sender.join(60)
        pub.close()
        with psycopg.connect(own_postgres.url("fleet"), autocommit=True) as db2:
            wait_for(
                lambda: count(db2, "telemetry_heartbeat") == total,
                timeout=60,
                what=f"{total} rows after the restart",
            )
            dupes = db2.execute(
                "SELECT count(*) FROM (SELECT device_id, boot, seq FROM telemetry_heartbeat"
                " GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
            ).fetchone()
            assert dupes == (0,)
        assert service.stats.db_failures >= 1


def test_unexpected_database_error_is_retried_not_fatal(
    db_url: str, db_owner_url: str, mosquitto: Mosquitto, make_settings: Callable[..., Settings]
) -> None:
    """A read-only database (as after a failover to a replica) refuses the
    batch with an error that is not "connection lost": ingest keeps the
    messages unacked, retries, and stores them once writes work again."""
    name = db_url.rpartition("/")[2]
    with psycopg.connect(db_owner_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        with running(make_settings()) as service:
            pub = Publisher(mosquitto.port)
            pub.publish_all([m.heartbeat(seq=i) for i in range(1, 11)])
            wait_for(lambda: service.stats.db_failures >= 1, what="a refused batch")
            assert service.stats.acked == 0
            admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
            wait_for(lambda: service.stats.acked == 10, what="stored after writes work again")
            pub.close()
        assert count(admin, "telemetry_heartbeat") == 10
        assert service.fatal is None
