"""The kill switch end to end (Điều 12.2): the API sends ``blank_screen`` to
a real edge agent (simulate mode) through a real Mosquitto, the agent blanks
its screen, its answer and its "halted" display reading come back through
ingest into PostgreSQL; the agent restarts and the board is still blank;
``resume`` brings it back.

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

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from fleet_server.ingest.service import IngestService
from tests.server.api.console.conftest import sign_in
from tests.server.commands.conftest import BOARD, Conn
from tests.server.commands.test_end_to_end import (  # noqa: F401 - shared fixtures
    Api,
    BoardAgent,
    ingest,
    make_agent,
    make_api,
    settings,
    utcnow,
)
from tests.support.mosquitto import Mosquitto
from tests.support.wait import wait_for

REASON = "Tệp chưa được duyệt đang phát"


def latest_display(conn: Conn, since: datetime) -> dict[str, Any] | None:
    """The board's newest display reading stored after ``since``."""
    row = conn.execute(
        "SELECT data FROM board_latest WHERE device_id = %s AND kind = 'display'"
        " AND stored_at > %s",
        (BOARD, since),
    ).fetchone()
    return None if row is None else dict(row[0])


def events(conn: Conn, kind: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT details FROM board_events WHERE device_id = %s AND type = %s ORDER BY stored_at",
        (BOARD, kind),
    ).fetchall()
    return [dict(r[0]) for r in rows]


def test_blank_a_board_restart_its_agent_and_resume(
    make_api: Callable[..., Api],  # noqa: F811 - the imported fixtures
    make_agent: Callable[[], BoardAgent],  # noqa: F811
    ingest: IngestService,  # noqa: F811
    mosquitto: Mosquitto,
    conn: Conn,
    tmp_path: Path,
) -> None:
    started_at = utcnow()
    board = make_agent()
    board.sim.player_running = True  # on air: the unapproved file
    board.start()
    api = make_api()
    sent = api.send(command="blank_screen", confirm=True, note=REASON, expires_in_s=120)
    assert sent["state"] == "sent"
    assert sent["args"] == {"reason": REASON}
    done = api.wait_state(sent["request_id"], "succeeded")
    assert done["result_status"] == "ok"
    assert done["output"]["halted"] == "blank_screen"
    assert done["output"]["detail"] == "simulated screen blanked and player stopped"
    assert (board.sim.screen_on, board.sim.player_running) == (False, False)
    # The board's display reading, through ingest: blanked by order.
    blanked = wait_for(lambda: latest_display(conn, started_at), 20, "the display reading")
    assert blanked is not None
    assert blanked["halted"] == "blank_screen"
    assert (blanked["screen_on"], blanked["player_running"]) == (False, False)

    # The agent restarts (same state directory); the new simulated board comes
    # back with its screen on and its player running, as a real one would.
    board.close()
    restarted_at = utcnow()
    again = BoardAgent(mosquitto.url, board.agent.config.spool_path)
    again.sim.player_running = True
    try:
        again.start()  # the order is applied again before the agent connects
        assert (again.sim.screen_on, again.sim.player_running) == (False, False)
        still = wait_for(lambda: latest_display(conn, restarted_at), 20, "a reading after restart")
        assert still is not None
        assert still["halted"] == "blank_screen"
        assert still["screen_on"] is False
        restored = wait_for(lambda: events(conn, "halt_restored"), 20, "the halt_restored event")
        assert restored[0]["mode"] == "blank_screen"
        assert restored[0]["reason"] == REASON

        # A restart of the player is refused while halted.
        refused = api.send(command="restart_player")
        answered = api.wait_state(refused["request_id"], "rejected")
        assert "halted by order (blank_screen)" in answered["error"]

        resumed_at = utcnow()
        resume = api.send(command="resume", note="đã gỡ tệp")
        done = api.wait_state(resume["request_id"], "succeeded")
        assert done["output"]["resumed"] == "blank_screen"
        assert (again.sim.screen_on, again.sim.player_running) == (True, True)
        back = wait_for(
            lambda: (d := latest_display(conn, resumed_at)) and d.get("halted") is None and d,
            20,
            "a reading without halted",
        )
        assert isinstance(back, dict)
        assert back["screen_on"] is True
        assert back["player_running"] is True
    finally:
        again.close()

    # The history and the board page show the orders and their answers.
    history = api.as_("viewer").get(f"/api/v1/boards/{BOARD}/commands").json()
    assert [c["command"] for c in history["items"]] == ["resume", "restart_player", "blank_screen"]
    browser = TestClient(api.app, base_url="http://testserver", follow_redirects=False)
    with browser:
        assert sign_in(browser, "van.hanh").status_code == 303
        html = browser.get(f"/boards/{BOARD}").text
        assert f'id="command-{sent["request_id"]}" data-state="succeeded"' in html
        assert "data-board-halted" not in html  # resumed
