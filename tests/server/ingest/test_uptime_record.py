"""Ingest records that it and its broker are up (table pipeline_uptime):
what the engine reads to tell a board's silence from the platform's own
outage (fleet_server.engine.offline_cause)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from fleet_server.settings import Settings
from tests.server.ingest.conftest import running
from tests.support.wait import wait_for

Conn = psycopg.Connection[tuple[Any, ...]]


def test_a_running_ingest_records_itself_and_its_broker_as_up(
    make_settings: Callable[..., Settings], db: Conn
) -> None:
    settings = make_settings()

    def components() -> set[str]:
        rows = db.execute(
            "SELECT component FROM pipeline_uptime WHERE instance = %s AND up_to >= up_from",
            (settings.ingest_client_id,),
        ).fetchall()
        db.commit()
        return {r[0] for r in rows}

    with running(settings) as service:
        wait_for(service.consumer.connected.is_set, what="ingest connected")
        wait_for(lambda: components() == {"ingest", "broker"}, what="both recorded as up")
    spans = db.execute(
        "SELECT component, up_from <= up_to FROM pipeline_uptime WHERE instance = %s"
        " ORDER BY component",
        (settings.ingest_client_id,),
    ).fetchall()
    assert spans == [("broker", True), ("ingest", True)]
