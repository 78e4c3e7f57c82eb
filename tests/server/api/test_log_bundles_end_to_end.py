"""Logs and diagnostics on request end to end (issue 19, "collect_logs
returns a redacted bundle end to end; no secret in it"), with real
components only: a real edge agent (in-process ``Agent`` with its real
collectors) whose configuration and player log are full of secrets → real
Mosquitto → real ingest → real PostgreSQL; the command posted to the real
API and published by its command service; the bundles read back through
the API. No secret appears in the stored bytes (unpacked), in what the API
serves, in the command's answer, in a dead letter or in any log record."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from edge_agent.agent import Agent
from edge_agent.config import load_config
from fleet_protocol.logs import gunzip
from fleet_server.api.app import create_app
from fleet_server.settings import Settings
from tests.agent.diagnostics.secrets import CAMERA_PASSWORD, URL_PASSWORD, leaks, secret_config
from tests.server.api.conftest import As
from tests.server.engine.test_proof_end_to_end import utcnow
from tests.server.ingest.conftest import running as ingest_running
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port
from tests.support.wait import wait_for

Conn = psycopg.Connection[Any]
BOARD = "lc-ma-lu-thang-01"  # bql-kkt's: the operator's and the technician's


@pytest.fixture
def client(api_db: str, mosquitto: Mosquitto) -> Iterator[TestClient]:
    """The real API, its command service publishing on the real broker."""
    settings = Settings(
        database_url=api_db,
        mqtt_url=mosquitto.url,
        ingest_client_id="test-ingest-logs",
        ingest_batch_delay_ms=5,
        ingest_retry_max_s=0.5,
        command_retry_interval_s=0.2,
    )
    with (
        ingest_running(settings),
        ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool,
        TestClient(
            create_app(settings, clock=utcnow, pool=pool, broker_check=lambda: None),
            base_url="http://testserver",
        ) as test_client,
    ):
        yield test_client


def _board_config(mosquitto: Mosquitto, tmp_path: Path) -> dict[str, Any]:
    """The board's settings: a password in its URL, one in a file, one per
    camera, and a player log full of secrets (tests/agent/diagnostics)."""
    return secret_config(
        tmp_path,
        device_id=BOARD,
        mqtt_url=f"mqtt://{BOARD}:{URL_PASSWORD}@127.0.0.1:{mosquitto.port}",
        keepalive_s=5,
        log_level="DEBUG",
        network={"lte": False},
        cameras=[
            {
                "id": "gate",
                "host": "127.0.0.1",
                "rtsp_port": free_port(),  # nothing listens: refused at once
                "username": "operator",
                "password": CAMERA_PASSWORD,
            }
        ],
    )


def _toml(values: dict[str, Any]) -> str:
    """The few shapes of ``_board_config`` as TOML (top-level keys, tables,
    one array of tables)."""
    plain = {k: v for k, v in values.items() if not isinstance(v, dict | list)}
    lines = [f"{k} = {json.dumps(str(v) if isinstance(v, Path) else v)}" for k, v in plain.items()]
    for name, table in values.items():
        if isinstance(table, dict):
            lines.append(f"[{name}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    for item in values["cameras"]:
        lines.append("[[cameras]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(params=["thread", "process"])
def board(
    request: pytest.FixtureRequest, mosquitto: Mosquitto, tmp_path: Path
) -> Iterator[Path | None]:
    """The board, as an in-process agent thread or as a real ``edge-agent
    run`` process; yields the process's log file (None for the thread,
    whose records the test's caplog has)."""
    values = _board_config(mosquitto, tmp_path)
    if request.param == "process":
        config_file = tmp_path / "agent.toml"
        config_file.write_text(_toml(values))
        log = tmp_path / "agent.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "edge_agent", "--config", str(config_file), "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={k: v for k, v in os.environ.items() if not k.startswith("FLEET_AGENT_")},
            )
        try:
            wait_for(lambda: "connected" in log.read_text(errors="replace"), what="connected")
            yield log
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        return
    agent = Agent(load_config(None, environ={}, **values))
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert agent.session.ready.wait(15), "the agent did not connect"
        yield None
    finally:
        stop.set()
        agent.wake.set()
        thread.join(30)


def test_collect_logs_returns_a_redacted_bundle_end_to_end(
    client: TestClient, board: Path | None, db_conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    operator, technician = As(client, "operator"), As(client, "technician")
    sent = operator.post(f"/api/v1/boards/{BOARD}/collect-logs", json={"lines": 500})
    assert sent.status_code == 202, sent.text
    request_id = sent.json()["request_id"]

    def answered() -> tuple[Any, ...] | None:
        return db_conn.execute(
            "SELECT result_status, output, error FROM board_commands"
            " WHERE request_id = %s AND finished_at IS NOT NULL",
            (request_id,),
        ).fetchone()

    wait_for(lambda: answered() is not None, timeout=60, what="the board's answer")
    status, output, error = answered()  # type: ignore[misc]
    assert (status, error) == ("ok", None), output
    assert output["bundles"] == ["journal", "diagnostics"]
    wait_for(
        lambda: (
            db_conn.execute(
                "SELECT count(*) FROM log_bundles WHERE request_id = %s", (request_id,)
            ).fetchone()
            == (2,)
        ),
        what="both bundles stored",
    )
    stored = db_conn.execute(
        "SELECT kind, body FROM log_bundles WHERE request_id = %s ORDER BY kind", (request_id,)
    ).fetchall()
    unpacked = {kind: gunzip(bytes(body)).decode() for kind, body in stored}
    assert output["bytes"] == sum(len(bytes(body)) for _, body in stored)

    listed = technician.get(f"/api/v1/boards/{BOARD}/logs").json()["items"]
    served = {b["kind"]: technician.get(b["url"]) for b in listed}
    assert served["journal"].text == unpacked["journal"]
    report = served["diagnostics"].json()
    assert report == json.loads(unpacked["diagnostics"])
    # what the technician needs is there ...
    assert "10.20.0.5:554/s1 timeout" in unpacked["journal"]
    assert report["agent"]["device_id"] == BOARD
    assert report["config"]["cameras"][0]["password"] == "***"
    assert "heartbeat" in report["collectors"]["readings"]
    # ... and no secret anywhere
    letters = db_conn.execute("SELECT topic, detail, payload FROM dead_letters").fetchall()
    records = "\n".join(r.getMessage() for r in caplog.records)
    if board is not None:  # the agent's own process: its log
        records += board.read_text(errors="replace")
    assert f"collect_logs {request_id}: ['journal', 'diagnostics'] sent" in records
    for where, text in [
        ("journal", unpacked["journal"]),
        ("diagnostics", unpacked["diagnostics"]),
        ("the answer", json.dumps(output)),
        ("dead letters", repr(letters)),
        ("log records", records),
    ]:
        assert leaks(text) == [], where
