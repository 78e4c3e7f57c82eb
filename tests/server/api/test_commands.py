"""The command and desired-configuration API and the board page's command
forms: who may send what to which board, argument and expiry checks, the
audit rows, history and scope. The publisher talks to a real Mosquitto;
no board is connected here (tests/server/commands runs real agents)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.settings import Settings
from tests.server.api.conftest import Conn
from tests.server.api.console.conftest import (  # noqa: F401 - shared fixture
    csrf_of,
    new_browser,
)
from tests.support.clock import Clock
from tests.support.mosquitto import Mosquitto

BOARD = "lc-ma-lu-thang-01"  # bql-kkt: the operator's and the viewer's organisation
DISTRICT_BOARD = "lc-phong-tho-01"  # ubnd-phong-tho
URL = f"/api/v1/boards/{BOARD}/commands"
AsFactory = Callable[[str], Any]


@pytest.fixture
def app(api_db: str, clock: Clock, mosquitto: Mosquitto) -> Iterator[FastAPI]:
    settings = Settings(database_url=api_db, mqtt_url=mosquitto.url, command_publish_timeout_s=5)
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(settings, clock=clock, pool=pool, broker_check=lambda: None)


def _commands(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT request_id, board_id, command, args, created_by FROM board_commands ORDER BY id"
    ).fetchall()


def _audit(conn: Conn, action: str = "command.send") -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT actor, target_type, target_id, after FROM audit_log WHERE action = %s ORDER BY id",
        (action,),
    ).fetchall()


def test_who_may_send_commands_to_which_board(as_: AsFactory, db_conn: Conn) -> None:
    for role in ("viewer", "technician", "guard", "province"):
        refused = as_(role).post(URL, json={"command": "ping"})
        assert refused.status_code == 403, role
        assert refused.headers["content-type"] == "application/problem+json"
    # Another organisation's board does not exist for the caller.
    other = as_("operator").post(
        f"/api/v1/boards/{DISTRICT_BOARD}/commands", json={"command": "ping"}
    )
    assert other.status_code == 404
    assert other.json()["detail"] == f"board {DISTRICT_BOARD} not found"
    assert as_("district").post(URL, json={"command": "ping"}).status_code == 404
    # A reboot needs the operator's explicit confirmation.
    unconfirmed = as_("operator").post(URL, json={"command": "reboot"})
    assert unconfirmed.status_code == 400
    assert unconfirmed.json()["type"].endswith("/confirmation-required")
    assert '"confirm": true' in unconfirmed.json()["detail"]
    assert _commands(db_conn) == []
    assert _audit(db_conn) == []
    reboot = as_("operator").post(URL, json={"command": "reboot", "confirm": True, "note": "treo"})
    assert reboot.status_code == 202, reboot.text
    sent = reboot.json()
    # No board is connected: the broker had no subscriber, so it waits for the board.
    assert (sent["state"], sent["awaiting_board"]) == ("queued", True)
    assert sent["args"] == {"confirm": True}
    assert sent["created_by"] == "van.hanh"
    admin = as_("admin").post(f"/api/v1/boards/{DISTRICT_BOARD}/commands", json={"command": "ping"})
    assert admin.status_code == 202
    assert [(r[1], r[2], r[4]) for r in _commands(db_conn)] == [
        (BOARD, "reboot", "van.hanh"),
        (DISTRICT_BOARD, "ping", "quan.tri"),
    ]
    audit = _audit(db_conn)
    assert [(a[0], a[1], a[2]) for a in audit] == [
        ("van.hanh", "board", BOARD),
        ("quan.tri", "board", DISTRICT_BOARD),
    ]
    assert audit[0][3]["request_id"] == sent["request_id"]
    assert audit[0][3]["command"] == "reboot"
    assert audit[0][3]["args"] == {"confirm": True}
    assert audit[0][3]["note"] == "treo"


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"command": "ping", "args": {"loud": True}}, 422, "args: ping takes no arguments"),
        ({"command": "restart_player", "args": {"reason": "x"}}, 422, "args:"),
        ({"command": "reboot", "confirm": True, "args": {"now": 1}}, 422, "args:"),
        ({"command": "collect_now", "args": {"kinds": ["gps"]}}, 422, "args.kinds"),
        ({"command": "collect_now", "args": {"kinds": []}}, 422, "args.kinds"),
        ({"command": "set_config", "args": {}}, 422, "set_config takes"),
        (
            {"command": "set_config", "args": {"config": {"intervals": {"heartbeat": -5}}}},
            422,
            "args.config: intervals.heartbeat",
        ),
        (
            {"command": "set_config", "args": {"config": {"device_id": "lc-other"}}},
            422,
            "not changeable remotely",
        ),
        (
            {"command": "set_config", "args": {"config": {"display": {"player_unit": "a\u0000"}}}},
            422,
            "NUL",
        ),
        ({"command": "self_destruct"}, 422, "command"),
        ({"command": "ping", "expires_in_s": 2}, 422, "expires_in_s: must be between 5 and 86400"),
        ({"command": "ping", "expires_in_s": 90_000}, 422, "expires_in_s"),
        ({"command": "ping", "expires_in_s": 0}, 422, "expires_in_s"),
        ({"command": "ping", "extra": 1}, 422, "extra"),
    ],
)
def test_arguments_and_expiry_are_checked(
    as_: AsFactory, body: dict[str, Any], status: int, names: str
) -> None:
    answer = as_("operator").post(URL, json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert names in answer.json()["detail"]


def test_good_arguments_and_the_default_expiry(as_: AsFactory, clock: Clock, db_conn: Conn) -> None:
    operator = as_("operator")
    kinds = operator.post(URL, json={"command": "collect_now", "args": {"kinds": ["power"]}})
    assert kinds.status_code == 202
    assert kinds.json()["args"] == {"kinds": ["power"]}
    config = {"intervals": {"heartbeat": 15}}
    change = operator.post(URL, json={"command": "set_config", "args": {"config": config}})
    assert change.json()["args"] == {"config": config}
    expires = operator.post(URL, json={"command": "ping"}).json()["expires_at"]
    assert datetime.fromisoformat(expires) == clock.now + timedelta(seconds=300)
    db_conn.execute("UPDATE boards SET enabled = false WHERE id = %s", (BOARD,))
    disabled = operator.post(URL, json={"command": "ping"})
    assert disabled.status_code == 409
    assert "disabled" in disabled.json()["detail"]


def test_history_one_command_and_expiry_on_read(as_: AsFactory, clock: Clock) -> None:
    operator = as_("operator")
    sent = [
        operator.post(URL, json={"command": "ping", "expires_in_s": s}).json()["request_id"]
        for s in (60, 600, 6000)
    ]
    page = as_("technician").get(URL, params={"limit": 2}).json()
    assert page["total"] == 3
    assert [c["request_id"] for c in page["items"]] == sent[:0:-1]  # newest first
    one = as_("viewer").get(f"/api/v1/commands/{sent[0]}")
    assert one.status_code == 200
    assert one.json()["command"] == "ping"
    assert as_("district").get(f"/api/v1/commands/{sent[0]}").status_code == 404
    assert as_("district").get(URL).status_code == 404
    assert as_("operator").get("/api/v1/commands/cmd-nothing").status_code == 404
    assert as_("guard").get(URL).status_code == 403
    clock.advance(601)  # the first two expire with no answer; nothing had to mark them
    states = {c["request_id"]: c["state"] for c in operator.get(URL).json()["items"]}
    assert states == {sent[0]: "expired", sent[1]: "expired", sent[2]: "queued"}
    expired = operator.get(URL, params={"state": "expired"}).json()
    assert expired["total"] == 2
    assert operator.get(f"/api/v1/commands/{sent[0]}").json()["state"] == "expired"
    assert operator.get(URL, params={"sort": "nope"}).status_code == 400


def test_desired_configuration_rights_versions_and_audit(as_: AsFactory, db_conn: Conn) -> None:
    url = f"/api/v1/boards/{BOARD}/config"
    body = {"config": {"intervals": {"heartbeat": 20}}}
    assert as_("viewer").put(url, json=body).status_code == 403
    assert as_("district").put(url, json=body).status_code == 404
    assert as_("operator").put(url, json={"config": {}}).status_code == 422
    first = as_("operator").put(url, json=body)
    assert first.status_code == 202, first.text
    # The broker keeps it retained for the board: acknowledged, so published.
    assert first.json()["desired"][0]["published_at"] is not None
    second = as_("admin").put(url, json={"config": {"log_level": "WARNING"}}).json()
    assert second["desired_version"] == 2
    assert second["applied_version"] is None
    assert second["in_sync"] is False
    seen = as_("viewer").get(url).json()
    assert [d["version"] for d in seen["desired"]] == [2, 1]
    assert as_("district").get(url).status_code == 404
    audit = _audit(db_conn, "board.config")
    assert [(a[0], a[3]["version"]) for a in audit] == [("van.hanh", 1), ("quan.tri", 2)]


def test_board_page_command_forms(
    new_browser: Callable[..., TestClient],  # noqa: F811 - the imported fixture
    db_conn: Conn,
) -> None:
    page = f"/boards/{BOARD}"
    viewer = new_browser("viewer")
    seen = viewer.get(page).text
    assert 'id="commands"' in seen  # the history is there for every reader
    assert 'data-command="ping"' not in seen  # the buttons only for command.send
    refused = viewer.post(f"{page}/commands", data={"command": "ping", "csrf_token": csrf_of(seen)})
    assert refused.status_code == 403
    operator = new_browser("operator")
    html = operator.get(page).text
    for name in ("ping", "collect_now", "restart_player", "reboot"):
        assert f'data-command="{name}"' in html
    csrf = csrf_of(html)
    assert operator.post(f"{page}/commands", data={"command": "ping"}).status_code == 403
    unconfirmed = operator.post(f"{page}/commands", data={"command": "reboot", "csrf_token": csrf})
    assert unconfirmed.status_code == 400
    assert "đánh dấu ô xác nhận" in unconfirmed.text  # the page speaks Vietnamese
    assert _commands(db_conn) == []
    for data in ({"command": "ping"}, {"command": "reboot", "confirm": "true"}):
        done = operator.post(f"{page}/commands", data={**data, "csrf_token": csrf})
        assert done.status_code == 303
        assert done.headers["location"] == f"{page}#commands"
    commands = _commands(db_conn)
    assert [(c[2], c[3]) for c in commands] == [("ping", {}), ("reboot", {"confirm": True})]
    assert len(_audit(db_conn)) == 2
    listed = operator.get(f"/live/boards/{BOARD}").text
    for c in commands:
        assert f'id="command-{c[0]}" data-state="queued"' in listed
    assert "Khởi động lại bảng tin" in listed
