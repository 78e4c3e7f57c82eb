"""Commands from the API to real edge agents (simulate mode) and back through
ingest, on a real Mosquitto and PostgreSQL: sent → succeeded with the output
stored and shown; an offline board's command expires and never runs when the
board returns; a late command on an MQTT 3.1.1 path is answered "expired";
queued while the broker is away and sent when it is back; desired
configuration versions and the agent's report."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import MQTTProtocolVersion
from psycopg_pool import ConnectionPool

from edge_agent.agent import Agent
from edge_agent.collectors import simulated_collectors
from edge_agent.config import load_config
from edge_agent.simulation import SimulatedBoard
from fleet_server.api.app import create_app
from fleet_server.commands import CommandPublisher
from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from tests.server.api.conftest import As
from tests.server.api.console.conftest import sign_in
from tests.server.commands.conftest import BOARD, Board, Conn
from tests.server.ingest.conftest import running as ingest_running
from tests.support.mosquitto import Mosquitto
from tests.support.wait import wait_for

_ids = itertools.count()


def utcnow() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def settings(api_db: str, mosquitto: Mosquitto) -> Settings:
    return Settings(
        database_url=api_db,
        mqtt_url=mosquitto.url,
        ingest_client_id=f"test-ingest-commands-{next(_ids)}",
        ingest_batch_delay_ms=5,
        ingest_retry_max_s=0.5,
        command_expires_min_s=1,
        command_retry_interval_s=0.2,
        command_publish_timeout_s=2,
    )


@pytest.fixture
def ingest(settings: Settings) -> Iterator[IngestService]:
    with ingest_running(settings) as service:
        yield service


class Api:
    """The application on a real clock, with clients per account."""

    def __init__(self, settings: Settings, publisher: CommandPublisher | None = None) -> None:
        self.pool: ConnectionPool[Any] = ConnectionPool(
            settings.database_url, min_size=1, max_size=4, open=True
        )
        self.app = create_app(
            settings, clock=utcnow, pool=self.pool, broker_check=lambda: None, publisher=publisher
        )
        self.client = TestClient(self.app, base_url="http://testserver")
        self.client.__enter__()
        self._as: dict[str, As] = {}

    def as_(self, key: str) -> As:
        if key not in self._as:
            self._as[key] = As(self.client, key)
        return self._as[key]

    def send(self, board: str = BOARD, key: str = "operator", **body: Any) -> dict[str, Any]:
        answer = self.as_(key).post(f"/api/v1/boards/{board}/commands", json=body)
        assert answer.status_code == 202, answer.text
        doc: dict[str, Any] = answer.json()
        assert answer.headers["location"] == f"/api/v1/commands/{doc['request_id']}"
        return doc

    def command(self, request_id: str) -> dict[str, Any]:
        answer = self.as_("operator").get(f"/api/v1/commands/{request_id}")
        assert answer.status_code == 200, answer.text
        doc: dict[str, Any] = answer.json()
        return doc

    def wait_state(self, request_id: str, state: str, timeout: float = 20) -> dict[str, Any]:
        return wait_for(
            lambda: (doc := self.command(request_id))["state"] == state and doc,
            timeout,
            f"{request_id} {state}",
        )

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.pool.close()


@pytest.fixture
def make_api(settings: Settings) -> Iterator[Callable[..., Api]]:
    made: list[Api] = []

    def make(publisher: CommandPublisher | None = None) -> Api:
        made.append(Api(settings, publisher))
        return made[-1]

    yield make
    for api in made:
        api.close()


class BoardAgent:
    """A real edge agent in simulate mode whose 4G link the test cuts."""

    def __init__(self, url: str, spool: Path, device: str = BOARD) -> None:
        self.link_up = True
        self.sim = SimulatedBoard(player_running=False, cameras={"cam1": True})
        config = load_config(
            None,
            environ={},
            device_id=device,
            mqtt_url=url,
            spool_path=spool,
            simulate=True,
            allow_reboot=True,
            keepalive_s=5,
            intervals=dict.fromkeys(("heartbeat", "power", "network", "camera", "display"), 300),
            log_level="WARNING",
        )
        self.agent = Agent(
            config,
            sim=self.sim,
            collectors=simulated_collectors(self.sim),
            link_up=lambda: self.link_up,
        )
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop,), daemon=True)
        self.thread.start()
        assert self.agent.session.ready.wait(15), "the agent did not connect"

    def drive(self) -> None:
        """The agent's main loop alone, its MQTT session already running."""

        def loop() -> None:
            while not self.stop.is_set():
                self.agent.step()
                self.agent.wake.wait(0.2)
                self.agent.wake.clear()
            self.agent.close()

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.agent.wake.set()
        if self.thread is not None:
            self.thread.join(15)
            assert not self.thread.is_alive(), "agent did not stop"
        else:
            self.agent.close()


@pytest.fixture
def make_agent(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[Callable[[], BoardAgent]]:
    made: list[BoardAgent] = []

    def make() -> BoardAgent:
        made.append(BoardAgent(mosquitto.url, tmp_path / f"spool-{len(made)}.db"))
        return made[-1]

    yield make
    for agent in made:
        agent.close()


def board_status(conn: Conn, device: str = BOARD) -> str | None:
    row = conn.execute(
        "SELECT data->>'status' FROM board_latest WHERE device_id = %s AND kind = 'state'",
        (device,),
    ).fetchone()
    return None if row is None else str(row[0])


def results_for(conn: Conn, request_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM command_results WHERE request_id = %s", (request_id,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_command_reaches_an_online_board_and_its_answer_is_recorded(
    make_api: Callable[..., Api],
    make_agent: Callable[[], BoardAgent],
    ingest: IngestService,
    conn: Conn,
) -> None:
    board = make_agent()
    board.start()
    api = make_api()
    sent = api.send(command="restart_player", note="màn hình đứng hình")
    assert sent["state"] == "sent"  # the broker took it for the board's session
    assert sent["sent_at"] is not None
    assert sent["args"] == {}
    done = api.wait_state(sent["request_id"], "succeeded")
    assert done["result_status"] == "ok"
    assert done["output"] == {"detail": "simulated player restarted"}
    assert done["delivered_at"] is not None
    assert done["finished_at"] is not None
    assert board.sim.player_running
    # The history, the audit row, the board page and its live fragment.
    history = api.as_("viewer").get(f"/api/v1/boards/{BOARD}/commands").json()
    assert [c["request_id"] for c in history["items"]] == [sent["request_id"]]
    audit = conn.execute(
        "SELECT actor, target_id, after->>'request_id', after->>'command' FROM audit_log"
        " WHERE action = 'command.send'"
    ).fetchall()
    assert audit == [("van.hanh", BOARD, sent["request_id"], "restart_player")]
    browser = TestClient(api.app, base_url="http://testserver", follow_redirects=False)
    with browser:
        assert sign_in(browser, "van.hanh").status_code == 303
        for url in (f"/boards/{BOARD}", f"/live/boards/{BOARD}"):
            html = browser.get(url).text
            assert f'id="command-{sent["request_id"]}" data-state="succeeded"' in html, url
            assert "simulated player restarted" in html


def test_an_offline_boards_command_expires_and_never_runs_when_it_returns(
    make_api: Callable[..., Api],
    make_agent: Callable[[], BoardAgent],
    ingest: IngestService,
    conn: Conn,
) -> None:
    board = make_agent()
    board.start()
    wait_for(lambda: board_status(conn) == "online", 15, "the board's birth")
    board.link_up = False  # the 4G link drops; the broker publishes the will
    wait_for(lambda: board_status(conn) == "lost", 15, "the board's last will")
    api = make_api()
    restart = api.send(command="restart_player", expires_in_s=2)
    ping = api.send(command="ping", expires_in_s=120)
    for queued in (restart, ping):
        # The broker had no subscriber: nothing reached the board.
        assert (queued["state"], queued["awaiting_board"]) == ("queued", True)
    api.wait_state(restart["request_id"], "expired", timeout=10)
    board.link_up = True  # back
    answered = api.wait_state(ping["request_id"], "succeeded", timeout=30)
    assert answered["attempts"] >= 2
    assert answered["output"]["pong"] is True
    # The restart never ran and the board never heard of it.
    assert api.command(restart["request_id"])["state"] == "expired"
    assert api.command(restart["request_id"])["result_status"] is None
    assert results_for(conn, restart["request_id"]) == 0
    assert not board.agent.spool.command_seen(restart["request_id"])
    assert not board.sim.player_running


def test_a_command_reaching_a_board_after_its_expiry_is_answered_expired(
    make_api: Callable[..., Api],
    make_agent: Callable[[], BoardAgent],
    ingest: IngestService,
    settings: Settings,
    conn: Conn,
) -> None:
    """An MQTT 3.1.1 path has no message expiry (a 3.1.1 broker, a bridge): the
    command can reach the board late, and the payload's expires_at stops it."""
    publisher = CommandPublisher(settings.model_copy(update={"mqtt_protocol": "3.1.1"}))
    api = make_api(publisher)
    board = make_agent()
    board.agent.session.start()  # connected and subscribed, its main loop held up
    assert board.agent.session.ready.wait(15)
    late = api.send(command="restart_player", expires_in_s=1)
    assert late["state"] == "sent"
    expires_at = datetime.fromisoformat(late["expires_at"])
    wait_for(lambda: utcnow() > expires_at, 5, "the expiry")
    board.drive()  # now the board reads the command
    answered = wait_for(
        lambda: (doc := api.command(late["request_id"]))["result_status"] and doc,
        20,
        "the board's answer",
    )
    assert answered["state"] == "expired"
    assert answered["result_status"] == "expired"
    assert "expired at" in answered["error"]
    assert not board.sim.player_running  # not executed


def test_commands_wait_for_the_broker_and_go_out_when_it_is_back(
    make_api: Callable[..., Api], mosquitto: Mosquitto
) -> None:
    board = Board(mosquitto.port, MQTTProtocolVersion.MQTTv5, persistent=True)
    board.connect()
    try:
        api = make_api()
        publisher = api.app.state.ctx.commands.publisher
        mosquitto.stop()
        short = api.send(command="restart_player", expires_in_s=1)
        ping = api.send(command="ping", expires_in_s=120)
        assert (short["state"], ping["state"]) == ("queued", "queued")
        assert not publisher.connected.is_set()
        api.wait_state(short["request_id"], "expired", timeout=10)
        mosquitto.start()
        sent = api.wait_state(ping["request_id"], "sent", timeout=30)
        assert sent["attempts"] >= 2
        wait_for(lambda: ping["request_id"] in board.request_ids(), 15, "the ping")
        assert board.request_ids() == [ping["request_id"]]  # never the expired one
    finally:
        board.disconnect()


def test_desired_configuration_versions_and_the_agents_report(
    make_api: Callable[..., Api],
    make_agent: Callable[[], BoardAgent],
    ingest: IngestService,
    conn: Conn,
) -> None:
    board = make_agent()
    board.start()
    api = make_api()
    operator = api.as_("operator")
    url = f"/api/v1/boards/{BOARD}/config"
    empty = operator.get(url).json()
    assert (empty["desired_version"], empty["reported"], empty["in_sync"]) == (None, None, False)
    first = operator.put(url, json={"config": {"intervals": {"heartbeat": 15}}})
    assert first.status_code == 202, first.text
    assert first.json()["desired_version"] == 1
    assert first.json()["desired"][0]["published_at"] is not None
    wait_for(lambda: operator.get(url).json()["applied_version"] == 1, 20, "version 1 applied")
    second = operator.put(url, json={"config": {"log_level": "ERROR"}})
    assert second.json()["desired_version"] == 2
    status = wait_for(
        lambda: (doc := operator.get(url).json())["in_sync"] and doc, 20, "version 2 applied"
    )
    assert status["reported"]["version"] == 2
    assert status["reported"]["applied"] is True
    assert [d["version"] for d in status["desired"]] == [2, 1]
    assert board.agent.config.intervals.heartbeat == 15
    assert board.agent.config.log_level == "ERROR"
    refused = operator.put(url, json={"config": {"mqtt_url": "mqtt://elsewhere:1883"}})
    assert refused.status_code == 422
    assert "not changeable remotely" in refused.json()["detail"]
    audit = conn.execute(
        "SELECT after->>'version' FROM audit_log WHERE action = 'board.config' ORDER BY id"
    ).fetchall()
    assert audit == [("1",), ("2",)]
    browser = TestClient(api.app, base_url="http://testserver", follow_redirects=False)
    with browser:
        assert sign_in(browser, "van.hanh").status_code == 303
        assert 'data-config-sync="yes"' in browser.get(f"/boards/{BOARD}").text


def test_a_command_queued_by_the_engine_goes_out_without_any_request(
    make_api: Callable[..., Api], mosquitto: Mosquitto, conn: Conn
) -> None:
    """The engine asks for a picture when a screen incident opens by queuing
    a ``screenshot`` row (migration 0037's trigger); an API process that has
    sent nothing since it started publishes it all the same."""
    board = Board(mosquitto.port, MQTTProtocolVersion.MQTTv5, persistent=True)
    board.connect()
    try:
        api = make_api()
        assert api.app.state.ctx.commands._thread is None  # nothing to send at start-up
        conn.execute(
            "INSERT INTO board_commands (request_id, board_id, command, args, note, created_by,"
            " created_at, expires_at) VALUES ('proof-1-0', %s, 'screenshot',"
            " '{\"source\": \"screen\"}', 'incident 1', 'engine:screen_frozen',"
            " now(), now() + interval '15 minutes')",
            (BOARD,),
        )
        conn.commit()
        api.wait_state("proof-1-0", "sent", timeout=15)
        wait_for(lambda: "proof-1-0" in board.request_ids(), 15, "the screenshot command")
    finally:
        board.disconnect()
