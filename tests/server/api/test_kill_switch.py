"""The kill switch on the server (Điều 12.2): who may blank a board, the
reason and confirmation it needs, the audit row and the command history, the
console's form on the board page and on an unapproved-content incident, and
the board shown "blanked by order" from its own display reading. The
publisher talks to a real Mosquitto; no board is connected here
(tests/server/commands/test_kill_switch_end_to_end.py runs a real agent).

Điều 12.2, word for word: "Chủ trì quản lý, khai thác Cụm Thông tin điện tử
công cộng khu vực biên giới được giao quản lý. Xây dựng khung giờ phát, lịch
đăng phát trên cơ sở nội dung, đối tượng và địa bàn tuyên truyền đảm bảo hiệu
quả, phù hợp với tình hình thực tế. Tiếp nhận thông tin sự cố về kỹ thuật, an
ninh thông tin từ các cơ quan, đơn vị thực hiện nhiệm vụ quản lý và vận hành
các Cụm Thông tin điện tử công cộng khu vực biên giới được giao; áp dụng các
biện pháp cần thiết nhằm kịp thời ngăn chặn những thiệt hại hoặc báo cáo UBND
tỉnh và đề xuất phương án xử lý, khắc phục sự cố xảy ra vượt quá thẩm quyền
giải quyết."
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

import fleet_protocol as fp
from fleet_server.access.roles import CAPABILITIES
from fleet_server.api.app import create_app
from fleet_server.settings import Settings
from tests.server.api.conftest import Conn, open_test_incident
from tests.server.api.console.conftest import (  # noqa: F401 - shared fixture
    csrf_of,
    new_browser,
)
from tests.server.engine.conftest import Store
from tests.support.clock import Clock
from tests.support.mosquitto import Mosquitto

BOARD = "lc-ma-lu-thang-01"  # bql-kkt: the operator's and the viewer's organisation
OTHER_BOARD = "lc-ma-lu-thang-02"
URL = f"/api/v1/boards/{BOARD}/commands"
REASON = "Tệp chưa được duyệt đang phát"
AsFactory = Callable[[str], Any]


@pytest.fixture
def app(api_db: str, clock: Clock, mosquitto: Mosquitto) -> Iterator[FastAPI]:
    settings = Settings(database_url=api_db, mqtt_url=mosquitto.url, command_publish_timeout_s=5)
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(settings, clock=clock, pool=pool, broker_check=lambda: None)


def _commands(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT board_id, command, args, note, created_by FROM board_commands ORDER BY id"
    ).fetchall()


def test_operators_and_admins_may_halt_a_board() -> None:
    holders = sorted(role for role, caps in CAPABILITIES.items() if "board.halt" in caps)
    assert holders == ["admin", "operator"]


def test_who_may_blank_a_board(as_: AsFactory, db_conn: Conn) -> None:
    body = {"command": "blank_screen", "confirm": True, "note": REASON}
    for role in ("viewer", "technician", "guard", "province"):
        refused = as_(role).post(URL, json=body)
        assert refused.status_code == 403, role
    assert as_("district").post(URL, json=body).status_code == 404  # another organisation's
    assert _commands(db_conn) == []
    sent = as_("operator").post(URL, json=body)
    assert sent.status_code == 202, sent.text
    doc = sent.json()
    assert (doc["command"], doc["args"], doc["note"]) == (
        "blank_screen",
        {"reason": REASON},
        REASON,
    )
    assert (doc["state"], doc["awaiting_board"]) == ("queued", True)  # no board connected
    admin = as_("admin").post(URL, json={"command": "resume", "note": "đã gỡ tệp"})
    assert admin.status_code == 202, admin.text
    assert _commands(db_conn) == [
        (BOARD, "blank_screen", {"reason": REASON}, REASON, "van.hanh"),
        (BOARD, "resume", {"reason": "đã gỡ tệp"}, "đã gỡ tệp", "quan.tri"),
    ]
    # Audited like every command, with the reason the board receives.
    audit = db_conn.execute(
        "SELECT actor, target_id, after->>'command', after->'args'->>'reason' FROM audit_log"
        " WHERE action = 'command.send' ORDER BY id"
    ).fetchall()
    assert audit == [
        ("van.hanh", BOARD, "blank_screen", REASON),
        ("quan.tri", BOARD, "resume", "đã gỡ tệp"),
    ]
    # In the board's command history for every reader.
    history = as_("viewer").get(URL).json()
    assert [c["command"] for c in history["items"]] == ["resume", "blank_screen"]


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"command": "blank_screen", "note": REASON}, 400, None, '"confirm": true'),
        ({"command": "stop_content", "note": REASON}, 400, None, '"confirm": true'),
        (
            {"command": "blank_screen", "confirm": True},
            422,
            "note",
            "blank_screen needs a reason: say why in the note",
        ),
        (
            {"command": "resume", "note": "   "},
            422,
            "note",
            "resume needs a reason: say why in the note",
        ),
        (
            {"command": "blank_screen", "confirm": True, "note": REASON, "args": {"reason": "x"}},
            422,
            "args",
            "blank_screen takes no arguments (the reason is the note), got ['reason']",
        ),
        (
            {"command": "blank_screen", "confirm": True, "note": "xem rtsp://admin:pw@10.0.0.9/"},
            422,
            "note",
            "text contains a URL with credentials; redact it on the board",
        ),
        (
            {"command": "stop_content", "confirm": True, "note": "a\x00b"},
            422,
            "note",
            "text contains the control character U+0000 at position 1;"
            " of the control characters only tab, LF and CR are allowed",
        ),
    ],
)
def test_a_kill_switch_command_needs_a_reason_and_a_confirmation(
    as_: AsFactory,
    db_conn: Conn,
    body: dict[str, Any],
    status: int,
    field: str | None,
    message: str,
) -> None:
    refused = as_("operator").post(URL, json=body)
    assert refused.status_code == status, refused.text
    problem = refused.json()
    if field is None:
        assert problem["type"].endswith("/confirmation-required")
        assert message in problem["detail"]
    else:
        assert problem["errors"] == [{"field": field, "message": message}]
    assert _commands(db_conn) == []  # nothing stored, audited or published


def _display(store: Store, **data: Any) -> None:
    store.reading(BOARD, fp.TelemetryKind.DISPLAY, fp.DisplayData(**data))


def test_the_board_page_blanks_the_board_and_shows_it_blanked_by_order(
    new_browser: Callable[..., TestClient],  # noqa: F811 - the imported fixture
    store: Store,
    db_conn: Conn,
) -> None:
    page = f"/boards/{BOARD}"
    viewer = new_browser("viewer")
    seen = viewer.get(page).text
    assert 'id="kill-switch"' not in seen  # nothing to show a reader of a board on air
    refused = viewer.post(
        f"{page}/kill-switch",
        data={
            "command": "blank_screen",
            "reason": REASON,
            "confirm": "true",
            "csrf_token": csrf_of(seen),
        },
    )
    assert refused.status_code == 403
    operator = new_browser("operator")
    html = operator.get(page).text
    assert 'data-command="blank_screen"' in html
    assert "ngăn chặn những thiệt hại" in html  # Điều 12.2, quoted
    csrf = csrf_of(html)
    unconfirmed = operator.post(
        f"{page}/kill-switch",
        data={"command": "blank_screen", "reason": REASON, "csrf_token": csrf},
    )
    assert unconfirmed.status_code == 400
    unknown = operator.post(
        f"{page}/kill-switch", data={"command": "reboot", "reason": REASON, "csrf_token": csrf}
    )
    assert unknown.status_code == 400
    assert _commands(db_conn) == []
    done = operator.post(
        f"{page}/kill-switch",
        data={"command": "blank_screen", "reason": REASON, "confirm": "true", "csrf_token": csrf},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{page}?kill=blank_screen#kill-switch"
    assert _commands(db_conn) == [(BOARD, "blank_screen", {"reason": REASON}, REASON, "van.hanh")]
    # An hour to reach a board that is away (its player may go on showing the file).
    [(lifetime,)] = db_conn.execute(
        "SELECT extract(epoch FROM expires_at - created_at) FROM board_commands"
    ).fetchall()
    assert lifetime == 3600
    after = operator.get(done.headers["location"]).text
    assert 'data-kill-notice="blank_screen"' in after
    assert "Tắt màn hình (tắt khẩn)" in after  # in the command list too
    # The board answers with a display reading that says it is blanked by order.
    _display(store, screen_on=False, player_running=False, halted="blank_screen")
    for browser in (viewer, operator):
        shown = browser.get(page).text
        assert 'data-board-halted="blank_screen"' in shown
        assert "Màn hình đã tắt theo lệnh" in shown
    assert 'data-command="resume"' not in viewer.get(page).text
    assert 'data-command="resume"' in operator.get(page).text
    resumed = operator.post(
        f"{page}/kill-switch", data={"command": "resume", "reason": "đã gỡ tệp", "csrf_token": csrf}
    )
    assert resumed.status_code == 303
    assert _commands(db_conn)[-1][1:3] == ("resume", {"reason": "đã gỡ tệp"})


def test_an_unapproved_content_incident_offers_to_blank_its_board(
    new_browser: Callable[..., TestClient],  # noqa: F811 - the imported fixture
    db_conn: Conn,
) -> None:
    unapproved = open_test_incident(
        db_conn, BOARD, "content_unapproved", incident_class="security", severity="critical"
    )
    offline = open_test_incident(db_conn, BOARD, "board_offline")
    elsewhere = open_test_incident(
        db_conn, OTHER_BOARD, "content_unapproved", incident_class="security"
    )
    operator = new_browser("operator")
    html = operator.get(f"/incidents/{unapproved}").text
    assert f'action="/boards/{BOARD}/kill-switch"' in html
    assert f'name="incident" value="{unapproved}"' in html
    assert f"Sự cố #{unapproved}: content_unapproved on {BOARD}" in html  # the reason, filled in
    assert 'id="kill-switch"' not in operator.get(f"/incidents/{offline}").text
    assert 'id="kill-switch"' not in new_browser("viewer").get(f"/incidents/{unapproved}").text
    csrf = csrf_of(html)
    form = {"command": "blank_screen", "reason": REASON, "confirm": "true", "csrf_token": csrf}
    wrong = operator.post(f"/boards/{BOARD}/kill-switch", data={**form, "incident": str(elsewhere)})
    assert wrong.status_code == 400
    assert _commands(db_conn) == []
    done = operator.post(f"/boards/{BOARD}/kill-switch", data={**form, "incident": str(unapproved)})
    assert done.status_code == 303
    assert done.headers["location"] == (
        f"/boards/{BOARD}?kill=blank_screen&incident={unapproved}#kill-switch"
    )
    [(request_id,)] = db_conn.execute("SELECT request_id FROM board_commands").fetchall()
    # The incident's timeline names the order.
    timeline = operator.get(f"/incidents/{unapproved}").text
    assert f"blank_screen ({request_id}): {REASON}" in timeline
