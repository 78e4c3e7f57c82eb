"""The server refuses board-local settings before anything is stored or
published (issue 14), and a desired version that holds one anyway (published
by something else with the server's broker account, or stored before the
allow-list) is reported by the real agent as not applied, naming the key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import fleet_protocol as fp
from fleet_server.ingest.service import IngestService
from tests.server.commands.conftest import BOARD, Conn
from tests.server.commands.test_end_to_end import (  # noqa: F401 - shared fixtures
    Api,
    BoardAgent,
    ingest,
    make_agent,
    make_api,
    settings,
)
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

CONFIG_URL = f"/api/v1/boards/{BOARD}/config"
COMMANDS_URL = f"/api/v1/boards/{BOARD}/commands"

REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"display": {"player_unit": "poweroff.target"}}, "display.player_unit"),
    ({"display": {"status_url": "http://192.168.1.1/admin"}}, "display.status_url"),
    ({"display": {"status_file": "/etc/shadow"}}, "display.status_file"),
    ({"network": {"targets": ["10.0.0.1:22"]}}, "network.targets"),
    ({"mqtt_url": "mqtt://attacker.example:1883"}, "mqtt_url"),
    ({"credentials_file": "/etc/shadow"}, "credentials_file"),
    ({"allow_reboot": True}, "allow_reboot"),
]


def test_the_api_refuses_board_local_settings_before_publishing(
    make_api: Callable[..., Api],  # noqa: F811 - the imported fixture
    make_agent: Callable[[], BoardAgent],  # noqa: F811
    conn: Conn,
) -> None:
    board = make_agent()
    board.start()
    before = board.agent.config
    operator = make_api().as_("operator")
    for change, key in REFUSED:
        mixed = {"intervals": {"heartbeat": 15}, **change}  # an allowed key does not carry it
        command = operator.post(
            COMMANDS_URL, json={"command": "set_config", "args": {"config": mixed}}
        )
        assert command.status_code == 422, command.text
        assert f"args.config: not changeable remotely: {key} " in command.json()["detail"]
        desired = operator.put(CONFIG_URL, json={"config": mixed})
        assert desired.status_code == 422, desired.text
        assert f"config: not changeable remotely: {key} " in desired.json()["detail"]
    # Nothing stored, audited or published; the board unchanged.
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM board_commands), (SELECT count(*) FROM"
        " board_config_desired), (SELECT count(*) FROM audit_log WHERE action IN"
        " ('command.send', 'board.config'))"
    ).fetchone()
    assert counts == (0, 0, 0)
    assert board.agent.config == before
    assert board.agent.config_version == -1


def test_a_board_local_key_published_anyway_is_reported_not_applied(
    make_api: Callable[..., Api],  # noqa: F811
    make_agent: Callable[[], BoardAgent],  # noqa: F811
    ingest: IngestService,  # noqa: F811
    mosquitto: Mosquitto,
) -> None:
    board = make_agent()
    board.start()
    unit = board.agent.config.display.player_unit
    operator = make_api().as_("operator")
    desired = fp.ConfigDesired(
        schema_version=1,
        device_id=BOARD,
        version=5,
        issued_at=datetime.now(UTC),
        config={"intervals": {"heartbeat": 15}, "display": {"player_unit": "poweroff.target"}},
    )
    publisher = Publisher(mosquitto.port, client_id="not-the-api")
    try:
        publisher.publish_all([(fp.config_desired_topic(BOARD), fp.encode(desired))], retain=True)
    finally:
        publisher.close()
    status = wait_for(
        lambda: (doc := operator.get(CONFIG_URL).json())["reported"] and doc, 20, "the report"
    )
    assert status["reported"]["version"] == 5
    assert status["reported"]["applied"] is False
    assert status["reported"]["error"].startswith("not changeable remotely: display.player_unit")
    assert board.agent.config.display.player_unit == unit
    assert board.agent.config.intervals.heartbeat == 300  # nothing of the version applied
    # The operator's next version (newer than the board's 5) is applied.
    fixed = operator.put(CONFIG_URL, json={"config": {"intervals": {"heartbeat": 15}}})
    assert fixed.status_code == 202, fixed.text
    assert fixed.json()["desired_version"] == 6
    wait_for(lambda: operator.get(CONFIG_URL).json()["in_sync"], 20, "version 6 applied")
    assert board.agent.config.intervals.heartbeat == 15
