"""The board page's "Logs & diagnostics" section: the collect form
(command.send) and its refusals on the page, the bundles listed and one
opened on its own page (diagnostics.read, audited), nothing of it for the
Border Guard and viewers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from fleet_protocol.logs import gzip_text
from tests.server.api.console.conftest import csrf_of
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"
JOURNAL = "2026-03-02T09:14:40 player: camera <gate> timed out\n"


def add_bundle(db: Any, board: str, kind: str, text: str, at: datetime) -> int:
    row = db.execute(
        "INSERT INTO log_bundles (device_id, boot, seq, measured_at, sent_at, received_at,"
        " replay, request_id, kind, captured_at, since, lines, truncated, original_bytes, body)"
        " VALUES (%s, 1, (SELECT count(*) FROM log_bundles), %s, %s, %s, false, 'cmd-1', %s, %s,"
        " %s, %s, %s, %s, %s) RETURNING id",
        (
            board,
            at,
            at,
            at,
            kind,
            at,
            at - timedelta(hours=1) if kind == "journal" else None,
            text.count("\n") if kind == "journal" else 0,
            kind == "journal",
            len(text) * 3,
            gzip_text(text.encode()),
        ),
    ).fetchone()
    return int(row[0])


def test_operators_ask_for_logs_from_the_board_page(new_browser: NewBrowser, db_conn: Any) -> None:
    operator = new_browser("operator")
    page = operator.get(f"/boards/{BOARD}").text
    assert 'id="logs"' in page
    assert 'data-form="collect-logs"' in page
    assert "Chưa có nhật ký nào được gửi về." in page
    token = csrf_of(page)
    asked = operator.post(
        f"/boards/{BOARD}/logs",
        data={"csrf_token": token, "minutes": "240", "lines": "300", "include": ["journal"]},
    )
    assert asked.status_code == 303
    assert asked.headers["location"] == f"/boards/{BOARD}?flash=logs_requested#logs"
    assert "Đã yêu cầu bảng gửi nhật ký" in operator.get(asked.headers["location"]).text
    sent = db_conn.execute(
        "SELECT args, created_by FROM board_commands WHERE command = 'collect_logs'"
    ).fetchall()
    assert sent == [({"minutes": 240, "lines": 300, "include": ["journal"]}, "van.hanh")]
    for data, field in (
        ({"minutes": "60", "lines": "0", "include": ["journal"]}, "lines"),
        ({"minutes": "9999", "lines": "10", "include": ["journal"]}, "minutes"),
        ({"minutes": "60", "lines": "10"}, "include"),
    ):
        refused = operator.post(f"/boards/{BOARD}/logs", data={"csrf_token": token, **data})
        assert refused.status_code in (400, 422), data
        section = refused.text.split('id="logs"')[1].split("</section>")[0]
        assert 'class="flash error refusal"' in section
        if field != "include":
            assert 'aria-invalid="true"' in section
    assert len(db_conn.execute("SELECT 1 FROM board_commands").fetchall()) == 1


def test_a_value_the_route_refuses_is_named_by_its_label(new_browser: NewBrowser) -> None:
    operator = new_browser("operator")
    token = csrf_of(operator.get(f"/boards/{BOARD}").text)
    for lang, label in (("vi", "Số dòng tối đa"), ("en", "Most lines")):
        answer = operator.post(
            f"/boards/{BOARD}/logs?lang={lang}",
            data={"csrf_token": token, "lines": "<script>" + "9" * 300},
            headers={"referer": f"http://testserver/boards/{BOARD}"},
        )
        assert answer.status_code == 400
        assert label in answer.text
        assert "<script>" not in answer.text
        # the language switch leads back to the board's page
        other = "en" if lang == "vi" else "vi"
        assert f'href="/boards/{BOARD}?lang={other}"' in answer.text


def test_technicians_read_a_bundle_on_its_own_page(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    journal = add_bundle(db_conn, BOARD, "journal", JOURNAL, clock.now)
    report = add_bundle(db_conn, BOARD, "diagnostics", '{"agent": {"version": "1.4.0"}}', clock.now)
    technician = new_browser("technician")
    page = technician.get(f"/boards/{BOARD}").text
    section = page.split('id="logs"')[1].split("</section>")[0]
    assert 'data-form="collect-logs"' not in section  # no command.send
    assert f'href="/boards/{BOARD}/logs/{journal}"' in section
    assert f'href="/boards/{BOARD}/logs/{report}"' in section
    assert 'data-truncated="true"' in section
    shown = technician.get(f"/boards/{BOARD}/logs/{journal}")
    assert shown.status_code == 200
    assert "camera &lt;gate&gt; timed out" in shown.text  # escaped, never markup
    assert '<pre class="log-text" data-kind="journal">' in shown.text
    # the lines the board sent, not the form's "most lines"
    assert '<dt>Số dòng gửi về</dt><dd data-lines="1">1</dd>' in shown.text
    pretty = technician.get(f"/boards/{BOARD}/logs/{report}").text
    assert '"version": "1.4.0"' in pretty.replace("&#34;", '"')
    audited = db_conn.execute(
        "SELECT actor, target_id FROM audit_log WHERE action = 'diagnostics.read' ORDER BY id"
    ).fetchall()
    assert audited == [("ky.thuat", BOARD), ("ky.thuat", BOARD)]
    # a bundle asked for under another board's address: not found, not audited
    assert technician.get(f"/boards/lc-sin-ho-01/logs/{journal}").status_code == 404
    assert (
        len(db_conn.execute("SELECT 1 FROM audit_log WHERE action = 'diagnostics.read'").fetchall())
        == 2
    )


def test_the_border_guard_and_viewers_see_no_logs(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    journal = add_bundle(db_conn, BOARD, "journal", JOURNAL, clock.now)
    viewer = new_browser("viewer")
    assert 'id="logs"' not in viewer.get(f"/boards/{BOARD}").text
    assert viewer.get(f"/boards/{BOARD}/logs/{journal}").status_code == 403
    guard = new_browser("guard")
    assert guard.get(f"/boards/{BOARD}/logs/{journal}").status_code == 403
