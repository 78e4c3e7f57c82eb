"""What the console's forms change, and the audit rows they leave:
acknowledging and resolving incidents, a ticket from assignment to closing,
the audit log page with its CSV export, and the live fragments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.server.api.conftest import audit_actions, open_test_incident
from tests.server.api.console.conftest import csrf_of
from tests.server.api.console.fleet_state import add_picture, first_camera, open_ticket
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"


def incident_row(conn: Any, incident: int) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT state, acknowledged_by, resolved_by, resolution_note FROM incidents WHERE id = %s",
        (incident,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_acknowledge_and_resolve_from_the_board_page(new_browser: NewBrowser, db_conn: Any) -> None:
    incident = open_test_incident(db_conn, BOARD)
    operator = new_browser("operator")
    page = operator.get(f"/boards/{BOARD}")
    assert f'action="/incidents/{incident}/acknowledge"' in page.text
    token = csrf_of(page.text)
    back = f"/boards/{BOARD}"
    answer = operator.post(
        f"/incidents/{incident}/acknowledge", data={"csrf_token": token, "next": back}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{back}#incident-{incident}"
    assert incident_row(db_conn, incident)[:2] == ("acknowledged", "van.hanh")
    again = operator.post(f"/incidents/{incident}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 409
    assert "trạng thái đã thay đổi" in again.text

    empty = operator.post(
        f"/incidents/{incident}/resolve", data={"csrf_token": token, "note": "   "}
    )
    assert empty.status_code == 400
    assert "Cần ghi chú" in empty.text
    assert incident_row(db_conn, incident)[0] == "acknowledged"
    resolved = operator.post(
        f"/incidents/{incident}/resolve",
        data={"csrf_token": token, "note": "Khởi động lại bộ điều khiển", "next": "//evil"},
    )
    assert resolved.status_code == 303
    assert resolved.headers["location"] == f"/#incident-{incident}"  # never off-site
    assert incident_row(db_conn, incident) == (
        "resolved",
        "van.hanh",
        "van.hanh",
        "Khởi động lại bộ điều khiển",
    )
    rows = db_conn.execute(
        "SELECT actor, action, host(address) FROM audit_log"
        " WHERE action LIKE 'incident.%%' ORDER BY id"
    ).fetchall()
    assert rows == [
        ("van.hanh", "incident.acknowledge", "127.0.0.1"),
        ("van.hanh", "incident.resolve", "127.0.0.1"),
    ]


def test_roles_without_incident_write_get_no_buttons_and_a_403(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    incident = open_test_incident(db_conn, BOARD)
    for role in ("viewer", "technician"):
        browser = new_browser(role)
        page = browser.get("/incidents")
        assert f"incident-{incident}" in page.text
        assert "/acknowledge" not in page.text
        answer = browser.post(
            f"/incidents/{incident}/acknowledge", data={"csrf_token": csrf_of(page.text)}
        )
        assert answer.status_code == 403
    assert incident_row(db_conn, incident)[0] == "open"


def test_incident_filters(new_browser: NewBrowser, db_conn: Any) -> None:
    open_test_incident(db_conn, BOARD, "display_dark", severity="critical")
    open_test_incident(db_conn, "lc-mu-ca-01", "power_lost", severity="minor")
    admin = new_browser("admin")
    everything = admin.get("/incidents").text
    assert "display_dark" in everything
    assert "power_lost" in everything
    critical = admin.get("/incidents", params={"severity": "critical", "class": ""}).text
    assert "display_dark" in critical
    assert "power_lost" not in critical
    # A filter value the form never sends is ignored, not an error.
    assert admin.get("/incidents", params={"state": "bogus"}).status_code == 200


def test_ticket_from_assignment_to_closing(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    ticket = open_ticket(db_conn, BOARD, clock.now)
    url = f"/tickets/{ticket}"
    operator = new_browser("operator")
    op_token = csrf_of(operator.get(url).text)
    answer = operator.post(f"{url}/assign", data={"csrf_token": op_token, "assignee": "ky.thuat"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{url}?flash=ticket_assigned"
    assert "Đã giao phiếu." in operator.get(answer.headers["location"]).text

    technician = new_browser("technician")
    queue = technician.get("/tickets").text  # a technician's queue: their own tickets
    assert f'href="{url}"' in queue
    page = technician.get(url).text
    assert 'id="assign-form"' not in page  # already theirs
    tech_token = csrf_of(page)
    refused = technician.post(f"{url}/assign", data={"csrf_token": tech_token, "assignee": "xem"})
    assert refused.status_code == 403
    for form in (
        {"to": "in_progress"},
        {"text": "Đang lên đường, dự kiến đến 14:00"},
        {"category": "repair", "description": "Thay ắc quy UPS", "amount_vnd": "1.500.000"},
        {"to": "resolved", "note": "Đã thay ắc quy"},
    ):
        action = "transition" if "to" in form else "comment" if "text" in form else "cost"
        answer = technician.post(f"{url}/{action}", data={"csrf_token": tech_token, **form})
        assert answer.status_code == 303, (action, answer.text)
        done = {"transition": "moved", "comment": "commented", "cost": "cost_added"}[action]
        assert answer.headers["location"] == f"{url}?flash=ticket_{done}"

    refused_close = operator.post(
        f"{url}/transition", data={"csrf_token": op_token, "to": "closed"}
    )
    assert refused_close.status_code == 400
    assert "Cần ghi chú đã làm gì trước khi đóng." in refused_close.text  # on the ticket's page
    assert '<option value="closed" selected>' in refused_close.text
    bad_cost = technician.post(
        f"{url}/cost",
        data={
            "csrf_token": tech_token,
            "category": "repair",
            "description": "Thay cáp <RJ45> cho bảng",
            "amount_vnd": "một triệu",
        },
    )
    assert bad_cost.status_code == 400
    box = bad_cost.text.split('class="flash error refusal"')[1].split("</div>")[0]
    assert "Mục cần sửa: Số tiền" in box
    assert "Hãy nhập một số, ví dụ 1.500.000." in box
    assert 'aria-invalid="true" value="một triệu"' in bad_cost.text
    assert 'value="Thay cáp &lt;RJ45&gt; cho bảng"' in bad_cost.text
    assert '<option value="repair" selected>' in bad_cost.text
    bad_move = operator.post(f"{url}/transition", data={"csrf_token": op_token, "to": "open"})
    assert bad_move.status_code == 409
    closed = operator.post(
        f"{url}/transition",
        data={"csrf_token": op_token, "to": "closed", "note": "Bảng chạy ổn định sau 24 giờ"},
    )
    assert closed.status_code == 303

    row = db_conn.execute(
        "SELECT state, assignee, closing_note FROM tickets WHERE id = %s", (ticket,)
    ).fetchone()
    assert row == ("closed", "ky.thuat", "Bảng chạy ổn định sau 24 giờ")
    cost = db_conn.execute(
        "SELECT category, amount_vnd FROM ticket_costs WHERE ticket_id = %s", (ticket,)
    ).fetchone()
    assert cost == ("repair", 1_500_000)
    assert [a for a in audit_actions(db_conn) if a[1].startswith("ticket.")] == [
        ("van.hanh", "ticket.assign"),
        ("ky.thuat", "ticket.transition"),
        ("ky.thuat", "ticket.comment"),
        ("ky.thuat", "ticket.cost"),
        ("ky.thuat", "ticket.transition"),
        ("van.hanh", "ticket.transition"),
    ]
    final = operator.get(url).text
    assert 'data-ticket-state="closed"' in final
    assert 'id="transition-form"' not in final
    assert "1.500.000" in final


def test_audit_page_filters_and_exports(new_browser: NewBrowser, db_conn: Any) -> None:
    new_browser("operator")
    new_browser("viewer")
    admin = new_browser("admin")
    page = admin.get("/audit", params={"actor": "van.hanh", "action": "login"}).text
    assert 'data-action="login">Đăng nhập</td>' in page  # the action in words
    assert "xem" not in page.split("<tbody>")[1]
    assert 'href="/api/v1/audit-log.csv?actor=van.hanh&amp;action=login" class="export"' in page
    export = admin.get("/api/v1/audit-log.csv", params={"actor": "van.hanh", "action": "login"})
    assert export.status_code == 200
    assert "van.hanh" in export.text
    today = admin.get("/audit", params={"since": "2000-01-01", "until": "2000-01-02"}).text
    assert "Không có dòng nào." in today
    assert admin.get("/audit", params={"address": "not-an-address"}).status_code == 400


def test_live_fragments_follow_the_database(new_browser: NewBrowser, db_conn: Any) -> None:
    operator = new_browser("operator")
    before = operator.get("/live/incidents")
    assert before.status_code == 200
    assert "<html" not in before.text  # a fragment, not a page
    assert "board_offline" not in before.text
    incident = open_test_incident(db_conn, BOARD)
    after = operator.get("/live/incidents").text
    assert f'id="incident-{incident}"' in after
    assert 'value="/incidents"' in after  # forms in the fragment return to the page
    board = operator.get(f"/live/boards/{BOARD}").text
    assert f'id="incident-{incident}"' in board
    overview = operator.get("/live/overview").text
    assert "board_offline" in overview


def test_a_technician_comments_on_an_incident(new_browser: NewBrowser, db_conn: Any) -> None:
    incident = open_test_incident(db_conn, BOARD)
    technician = new_browser("technician")
    page = technician.get(f"/boards/{BOARD}").text
    assert f'action="/incidents/{incident}/comment"' in page
    answer = technician.post(
        f"/incidents/{incident}/comment",
        data={
            "csrf_token": csrf_of(page),
            "text": "Mất điện lưới cả xã",
            "next": f"/boards/{BOARD}",
        },
    )
    assert answer.status_code == 303
    note = db_conn.execute(
        "SELECT actor, note FROM incident_events WHERE incident_id = %s AND kind = 'comment'",
        (incident,),
    ).fetchone()
    assert note == ("ky.thuat", "Mất điện lưới cả xã")
    assert audit_actions(db_conn)[-1] == ("ky.thuat", "incident.comment")


def test_a_refused_kill_switch_order_comes_back_with_its_reason_typed(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    """A refused order (a camera address with its password in the reason)
    comes back on the board's page, the form open, the reason kept and
    marked, and why; nothing is sent."""
    operator = new_browser("operator")
    page = operator.get(f"/boards/{BOARD}", params={"lang": "en"}).text
    reason = "Nội dung lạ, xem rtsp://admin:pw@10.0.0.9/ <ngay>"
    refused = operator.post(
        f"/boards/{BOARD}/kill-switch",
        data={
            "csrf_token": csrf_of(page),
            "command": "blank_screen",
            "reason": reason,
            "confirm": "true",
        },
    )
    assert refused.status_code == 422
    box = refused.text.split('class="flash error refusal"')[1].split("</div>")[0]
    assert "Field to correct: Reason" in box
    assert "text contains a URL with credentials" in box
    form = refused.text.split('<details class="kill-blank_screen" open>')[1].split("</form>")[0]
    assert (
        'required aria-invalid="true">Nội dung lạ, xem rtsp://admin:pw@10.0.0.9/ &lt;ngay&gt;'
        in form
    )
    assert db_conn.execute("SELECT count(*) FROM board_commands").fetchone() == (0,)


def test_take_a_picture_now_and_use_one_as_reference(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    """The board page's picture forms: a screenshot command (flash), a
    camera picture as its camera's reference (flash, desired config), a
    screen picture with nothing approved on air refused on the page, an
    unticked box refused, a disabled board refused; the viewer gets a 403."""
    camera = first_camera(db_conn, BOARD)
    screen = add_picture(db_conn, BOARD, clock.now)
    camera_picture = add_picture(db_conn, BOARD, clock.now, camera_id=camera)
    operator = new_browser("operator")
    token = csrf_of(operator.get(f"/boards/{BOARD}").text)

    taken = operator.post(
        f"/boards/{BOARD}/pictures",
        data={"csrf_token": token, "source": "camera", "camera_id": camera},
    )
    assert taken.status_code == 303
    assert taken.headers["location"] == f"/boards/{BOARD}?flash=picture_requested#pictures"
    sent = db_conn.execute(
        "SELECT command, args, created_by FROM board_commands WHERE command = 'screenshot'"
    ).fetchall()
    assert sent == [("screenshot", {"source": "camera", "camera_id": camera}, "van.hanh")]
    page = operator.get(taken.headers["location"]).text
    assert "Đã yêu cầu bảng chụp ảnh" in page

    unticked = operator.post(
        f"/boards/{BOARD}/pictures/{camera_picture}/reference", data={"csrf_token": token}
    )
    assert unticked.status_code == 400
    assert '<details class="reference" open>' in unticked.text
    assert "Hãy đánh dấu ô xác nhận." in unticked.text

    used = operator.post(
        f"/boards/{BOARD}/pictures/{camera_picture}/reference",
        data={"csrf_token": token, "confirm": "true"},
    )
    assert used.status_code == 303
    assert "flash=reference_camera&n=1" in used.headers["location"]
    assert "góc nhìn chuẩn của camera" in operator.get(used.headers["location"]).text
    desired = db_conn.execute(
        "SELECT config FROM board_config_desired WHERE board_id = %s ORDER BY version DESC",
        (BOARD,),
    ).fetchone()
    assert desired[0]["proof"]["camera_references"] == {camera: "0f0f0f0f0f0f0f0f"}

    nothing_on_air = operator.post(
        f"/boards/{BOARD}/pictures/{screen}/reference",
        data={"csrf_token": token, "confirm": "true", "lang": "en"},
        params={"lang": "en"},
    )
    assert nothing_on_air.status_code in (400, 422)
    box = nothing_on_air.text.split('class="flash error refusal"')[1].split("</div>")[0]
    assert "The board reported no item on air when this picture was taken." in box
    assert '<details class="reference" open>' in nothing_on_air.text

    db_conn.execute("UPDATE boards SET enabled = false WHERE id = %s", (BOARD,))
    disabled = operator.post(
        f"/boards/{BOARD}/pictures", data={"csrf_token": token, "source": "screen"}
    )
    assert disabled.status_code == 409
    assert 'class="flash error refusal"' in disabled.text
    assert 'id="pictures"' in disabled.text
    db_conn.execute("UPDATE boards SET enabled = true WHERE id = %s", (BOARD,))

    viewer = new_browser("viewer")
    viewer_token = csrf_of(viewer.get(f"/boards/{BOARD}").text)
    for url, data in (
        (f"/boards/{BOARD}/pictures", {"source": "screen"}),
        (f"/boards/{BOARD}/pictures/{screen}/reference", {"confirm": "true"}),
    ):
        assert viewer.post(url, data={"csrf_token": viewer_token, **data}).status_code == 403
    # a picture of another board is not found through this one
    other = add_picture(db_conn, "lc-ma-lu-thang-02", clock.now)
    wrong = operator.post(
        f"/boards/{BOARD}/pictures/{other}/reference",
        data={"csrf_token": token, "confirm": "true"},
    )
    assert wrong.status_code == 404
