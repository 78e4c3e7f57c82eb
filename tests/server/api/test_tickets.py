"""Tickets through the API: who sees and does what, the state machine, costs
by budget line, list filters, and the audit row every change leaves."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.server.api.conftest import As, audit_actions, open_test_incident
from tests.support.clock import Clock

BORDER_BOARD = "lc-ma-lu-thang-01"
DISTRICT_BOARD = "lc-phong-tho-01"


def site_id(conn: Any, code: str) -> int:
    row = conn.execute("SELECT id FROM sites WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def last_audit(conn: Any) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT actor, action, target_type, target_id, before, after, detail, host(address)"
        " FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row is not None
    return tuple(row)


def max_audit(conn: Any) -> int:
    row = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    assert row is not None
    return int(row[0])


def changes(conn: Any, since: int) -> list[tuple[str, str]]:
    """Audit rows after ``since``, logins left out."""
    return [a for a in audit_actions(conn, since) if a[1] != "login"]


def create(as_: Any, key: str = "operator", **body: Any) -> Any:
    body.setdefault("title", "Màn hình tắt / display dark")
    return as_(key).post("/api/v1/tickets", json=body)


def test_operator_opens_a_ticket_linked_to_an_incident(as_: Any, db_conn: Any) -> None:
    incident = open_test_incident(db_conn, BORDER_BOARD)
    response = create(
        as_,
        board_id=BORDER_BOARD,
        priority="urgent",
        description="Bảng tối từ 7 giờ sáng",
        incident_ids=[incident, incident],
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["state"] == "open"
    assert ticket["site_id"] == site_id(db_conn, "ma-lu-thang")
    assert ticket["team"] == "to-ky-thuat-bien-gioi"  # from site_teams
    assert ticket["priority"] == "urgent"
    assert ticket["overdue"] is False
    assert [e["kind"] for e in ticket["events"]] == ["created", "linked"]
    assert [i["id"] for i in ticket["incidents"]] == [incident]
    assert ticket["cost_totals"] == {
        "power": 0,
        "repair": 0,
        "maintenance": 0,
        "internet": 0,
        "other": 0,
    }
    actor, action, target_type, target_id, before, after, _, address = last_audit(db_conn)
    assert (actor, action, target_type, target_id) == (
        "van.hanh",
        "ticket.create",
        "ticket",
        str(ticket["id"]),
    )
    assert before is None
    assert after["incident_ids"] == [incident]
    assert after["description"] == "Bảng tối từ 7 giờ sáng"
    assert address == "127.0.0.1"
    # and the detail reads back the same
    again = as_("operator").get(f"/api/v1/tickets/{ticket['id']}")
    assert again.status_code == 200
    assert again.json() == ticket


def test_creating_needs_the_role_a_place_in_scope_and_a_sane_body(as_: Any, db_conn: Any) -> None:
    border_site = site_id(db_conn, "ma-lu-thang")
    for key in ("technician", "viewer", "guard", "province"):
        refused = create(as_, key, site_id=border_site)
        assert refused.status_code == 403, key
        assert refused.headers["content-type"].startswith("application/problem+json")
    # another organisation's board or site: as if it did not exist
    hidden = create(as_, "district", board_id=BORDER_BOARD)
    assert hidden.status_code == 404
    assert hidden.json()["detail"] == f"board {BORDER_BOARD} not found"
    assert create(as_, "district", site_id=border_site).status_code == 404
    assert create(as_, "district", board_id="lc-no-such-board").status_code == 404
    nowhere = create(as_)
    assert nowhere.status_code == 422
    assert "site_id or board_id" in nowhere.json()["detail"]
    mismatch = create(as_, board_id=BORDER_BOARD, site_id=site_id(db_conn, "mu-ca"))
    assert mismatch.status_code == 400
    assert "is not at site" in mismatch.json()["detail"]
    elsewhere = open_test_incident(db_conn, "lc-mu-ca-01")
    wrong_site = create(as_, board_id=BORDER_BOARD, incident_ids=[elsewhere])
    assert wrong_site.status_code == 400
    assert "another site" in wrong_site.json()["detail"]
    foreign = open_test_incident(db_conn, DISTRICT_BOARD)
    assert create(as_, board_id=BORDER_BOARD, incident_ids=[foreign]).status_code == 404
    bad_kind = create(as_, board_id=BORDER_BOARD, kind="fix-it")
    assert bad_kind.status_code == 422
    assert bad_kind.json()["errors"][0]["field"] == "kind"
    assert create(as_, board_id=BORDER_BOARD, title="   ").status_code == 422
    assert create(as_, board_id=BORDER_BOARD, title="a\x00b").status_code == 422
    admin = create(as_, "admin", board_id=DISTRICT_BOARD)
    assert admin.status_code == 201
    assert db_conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1


def test_each_role_sees_the_tickets_it_should(as_: Any, db_conn: Any) -> None:
    border = create(as_, board_id=BORDER_BOARD).json()["id"]
    district = create(as_, "district", board_id=DISTRICT_BOARD).json()["id"]

    def ids(key: str) -> set[int]:
        response = as_(key).get("/api/v1/tickets")
        assert response.status_code == 200, (key, response.text)
        return {t["id"] for t in response.json()["items"]}

    assert ids("admin") == {border, district}
    assert ids("province") == {border, district}
    assert ids("operator") == {border}
    assert ids("viewer") == {border}
    assert ids("district") == {district}
    assert ids("technician") == {border}  # their team's sites only
    assert as_("guard").get("/api/v1/tickets").status_code == 403
    # another organisation's ticket is 404 everywhere, never 403 with data
    for url in (f"/api/v1/tickets/{border}", f"/api/v1/tickets/{border}/costs"):
        assert as_("district").get(url).status_code == 404
    for action, body in (
        ("assign", {"assignee": "phong.tho"}),
        ("transition", {"to": "in_progress"}),
        ("comments", {"text": "xem"}),
        ("costs", {"category": "repair", "description": "x", "amount_vnd": 1}),
    ):
        response = as_("district").post(f"/api/v1/tickets/{border}/{action}", json=body)
        assert response.status_code == 404, action
    assert as_("technician").get(f"/api/v1/tickets/{district}").status_code == 404
    assert as_("operator").get("/api/v1/tickets/999999").status_code == 404
    assert ids("technician") == {border}


def test_a_ticket_goes_only_to_someone_who_may_see_its_site(as_: Any, db_conn: Any) -> None:
    """The district cannot give its ticket to the Economic Zone Board's
    technician (422 naming why); one who somehow holds it still reads
    nothing of it."""
    district = create(as_, "district", board_id=DISTRICT_BOARD).json()["id"]
    url = f"/api/v1/tickets/{district}"
    since = max_audit(db_conn)
    refused = as_("district").post(f"{url}/assign", json={"assignee": "ky.thuat"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"].startswith(
        "assignee: user 'ky.thuat' may not see this ticket's site (phong-tho)"
    )
    assert refused.json()["errors"] == [
        {"field": "assignee", "message": "may not see the ticket's site"}
    ]
    assert changes(db_conn, since) == []
    assert "ky.thuat" not in {a["username"] for a in as_("district").get(f"{url}/assignees").json()}
    # held anyway (an old assignment, a change of team): still out of reach
    db_conn.execute(
        "UPDATE tickets SET assignee = 'ky.thuat', state = 'assigned' WHERE id = %s", (district,)
    )
    technician = as_("technician")
    assert district not in {t["id"] for t in technician.get("/api/v1/tickets").json()["items"]}
    for path in ("", "/costs", "/assignees"):
        assert technician.get(f"{url}{path}").status_code == 404, path
    for action, body in (
        ("transition", {"to": "in_progress"}),
        ("comments", {"text": "xem"}),
        ("costs", {"category": "repair", "description": "x", "amount_vnd": 1}),
    ):
        assert technician.post(f"{url}/{action}", json=body).status_code == 404, action
    # a technician of the district itself is fine
    db_conn.execute(
        "UPDATE users SET organisation_id = (SELECT id FROM organisations"
        " WHERE code = 'ubnd-phong-tho') WHERE username = 'ky.thuat'"
    )
    assigned = as_("district").post(f"{url}/assign", json={"assignee": "ky.thuat"})
    assert assigned.status_code == 200, assigned.text


def test_assigning(as_: Any, db_conn: Any) -> None:
    ticket = create(as_, board_id=BORDER_BOARD).json()["id"]
    url = f"/api/v1/tickets/{ticket}/assign"
    since = max_audit(db_conn)
    assigned = as_("operator").post(url, json={"assignee": "ky.thuat"})
    assert assigned.status_code == 200
    assert (assigned.json()["assignee"], assigned.json()["state"]) == ("ky.thuat", "assigned")
    assert changes(db_conn, since) == [("van.hanh", "ticket.assign")]
    _, _, _, target_id, before, after, _, _ = last_audit(db_conn)
    assert target_id == str(ticket)
    assert before == {"state": "open", "assignee": None}
    assert after == {"state": "assigned", "assignee": "ky.thuat"}

    nobody = as_("operator").post(url, json={"assignee": "nobody.here"})
    assert nobody.status_code == 400
    assert "no active user" in nobody.json()["detail"]
    viewer = as_("operator").post(url, json={"assignee": "xem"})
    assert viewer.status_code == 400
    assert "cannot work on tickets" in viewer.json()["detail"]
    db_conn.execute("UPDATE users SET active = false WHERE username = 'phong.tho'")
    assert as_("operator").post(url, json={"assignee": "phong.tho"}).status_code == 400
    other = as_("technician").post(url, json={"assignee": "van.hanh"})
    assert other.status_code == 403
    assert "themselves" in other.json()["detail"]
    assert as_("viewer").post(url, json={"assignee": "xem"}).status_code == 403
    mine = as_("technician").post(url, json={"assignee": "KY.THUAT"})
    assert mine.status_code == 200
    assert mine.json()["assignee"] == "ky.thuat"
    # a closed ticket is not assigned again
    as_("operator").post(f"/api/v1/tickets/{ticket}/transition", json={"to": "in_progress"})
    as_("operator").post(f"/api/v1/tickets/{ticket}/transition", json={"to": "resolved"})
    as_("operator").post(
        f"/api/v1/tickets/{ticket}/transition", json={"to": "closed", "note": "đã thay nguồn"}
    )
    closed = as_("operator").post(url, json={"assignee": "ky.thuat"})
    assert closed.status_code == 409
    assert closed.json()["detail"] == "a closed ticket cannot be assigned"


def test_state_machine_through_the_api(as_: Any, db_conn: Any, clock: Clock) -> None:
    ticket = create(as_, board_id=BORDER_BOARD).json()["id"]
    as_("operator").post(f"/api/v1/tickets/{ticket}/assign", json={"assignee": "ky.thuat"})

    def move(to: str, note: str | None = None, key: str = "technician") -> Any:
        return as_(key).post(f"/api/v1/tickets/{ticket}/transition", json={"to": to, "note": note})

    assert move("in_progress", key="viewer").status_code == 403
    skipped = move("closed")
    assert skipped.status_code == 409
    assert skipped.json()["detail"] == (
        "a ticket cannot go from assigned to closed; allowed: in_progress, on_hold, open"
    )
    assert move("nowhere").status_code == 422
    since = max_audit(db_conn)
    clock.advance(600)
    working = move("in_progress", "trên đường tới cửa khẩu")
    assert working.status_code == 200
    assert working.json()["state"] == "in_progress"
    assert move("resolved").json()["resolved_at"] is not None
    no_note = move("closed", key="operator")
    assert no_note.status_code == 409
    assert "needs a note" in no_note.json()["detail"]
    closed = move("closed", "Đã thay bộ nguồn", key="operator")
    assert closed.status_code == 200
    assert closed.json()["closed_at"] is not None
    assert changes(db_conn, since) == [
        ("ky.thuat", "ticket.transition"),
        ("ky.thuat", "ticket.transition"),
        ("van.hanh", "ticket.transition"),
    ]
    _, _, _, _, before, after, detail, _ = last_audit(db_conn)
    assert before["state"] == "resolved"
    assert after["state"] == "closed"
    assert detail == "Đã thay bộ nguồn"
    detail_json = as_("operator").get(f"/api/v1/tickets/{ticket}").json()
    assert detail_json["closing_note"] == "Đã thay bộ nguồn"
    transitions = [
        (e["from_state"], e["to_state"]) for e in detail_json["events"] if e["kind"] == "transition"
    ]
    assert transitions == [
        ("open", "assigned"),
        ("assigned", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ]
    assert move("open", key="operator").status_code == 409  # closed is final


def test_comments_and_costs(as_: Any, db_conn: Any) -> None:
    ticket = create(as_, board_id=BORDER_BOARD).json()["id"]
    base = f"/api/v1/tickets/{ticket}"
    since = max_audit(db_conn)
    comment = as_("technician").post(f"{base}/comments", json={"text": "Đã tới nơi"})
    assert comment.status_code == 201
    assert (comment.json()["kind"], comment.json()["note"]) == ("comment", "Đã tới nơi")
    assert as_("viewer").post(f"{base}/comments", json={"text": "xem"}).status_code == 403
    assert as_("technician").post(f"{base}/comments", json={"text": ""}).status_code == 422
    assert as_("technician").post(f"{base}/comments", json={"text": "  "}).status_code == 400

    def cost(key: str = "technician", **body: Any) -> Any:
        return as_(key).post(f"{base}/costs", json=body)

    ups = cost(category="power", description="Ắc quy UPS 12V", quantity="2", amount_vnd=1_250_000)
    assert ups.status_code == 201, ups.text
    assert ups.json()["total_vnd"] == 2_500_000
    assert cost(category="repair", description="Công sửa", amount_vnd=300_000).status_code == 201
    half = cost(category="internet", description="4G", quantity="0.5", amount_vnd=99_999)
    assert half.json()["total_vnd"] == 50_000  # rounded to the dong
    assert cost(category="fuel", description="x", amount_vnd=1).status_code == 422
    assert cost(category="power", description="x", amount_vnd=-1).status_code == 422
    assert cost(category="power", description="x", amount_vnd=1, quantity="0").status_code == 422
    assert cost("viewer", category="power", description="x", amount_vnd=1).status_code == 403
    assert changes(db_conn, since) == [
        ("ky.thuat", "ticket.comment"),
        ("ky.thuat", "ticket.cost"),
        ("ky.thuat", "ticket.cost"),
        ("ky.thuat", "ticket.cost"),
    ]
    _, _, _, _, _, after, _, _ = last_audit(db_conn)
    assert after["category"] == "internet"
    assert after["amount_vnd"] == 99_999

    costs = as_("viewer").get(f"{base}/costs", params={"sort": "-total_vnd", "limit": 2})
    assert costs.status_code == 200
    page = costs.json()
    assert [c["category"] for c in page["items"]] == ["power", "repair"]
    assert page["total"] == 3
    assert page["totals_by_category"]["power"] == 2_500_000
    assert page["total_vnd"] == 2_850_000
    only = as_("viewer").get(f"{base}/costs", params={"category": "repair"}).json()
    assert [c["amount_vnd"] for c in only["items"]] == [300_000]
    assert as_("viewer").get(f"{base}/costs", params={"sort": "amount"}).status_code == 400
    detail = as_("technician").get(base).json()
    assert detail["cost_total_vnd"] == 2_850_000
    assert detail["cost_totals"]["internet"] == 50_000
    assert [e["kind"] for e in detail["events"]] == ["created", "comment", "cost", "cost", "cost"]


def test_list_filters_sorting_and_paging(
    as_: Any, client: TestClient, db_conn: Any, clock: Clock
) -> None:
    made = {}
    for board, priority, kind in (
        (BORDER_BOARD, "low", "preventive"),
        (BORDER_BOARD, "urgent", "corrective"),
        ("lc-mu-ca-01", "normal", "inspection"),
        ("lc-mu-ca-01", "high", "corrective"),
    ):
        response = create(as_, board_id=board, priority=priority, kind=kind)
        assert response.status_code == 201
        made[priority] = response.json()["id"]
        clock.advance(60)
    as_("operator").post(f"/api/v1/tickets/{made['high']}/assign", json={"assignee": "ky.thuat"})
    as_("operator").post(f"/api/v1/tickets/{made['normal']}/transition", json={"to": "on_hold"})

    def ids(**params: Any) -> list[int]:
        response = as_("operator").get("/api/v1/tickets", params=params)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert ids() == [made["high"], made["normal"], made["urgent"], made["low"]]  # newest first
    assert ids(sort="priority") == [made[p] for p in ("urgent", "high", "normal", "low")]
    assert ids(sort="-priority")[0] == made["low"]
    # equal states: by id in the sort's direction
    opened = sorted([made["urgent"], made["low"]])
    assert ids(sort="state") == [*opened, made["high"], made["normal"]]
    assert ids(state="open") == [made["urgent"], made["low"]]
    assert set(ids(state="assigned,on_hold")) == {made["high"], made["normal"]}
    assert set(ids(state=["assigned", "on_hold"])) == {made["high"], made["normal"]}
    assert ids(assignee="ky.thuat") == [made["high"]]
    assert ids(kind="preventive") == [made["low"]]
    assert ids(priority="urgent") == [made["urgent"]]
    assert ids(board_id="lc-mu-ca-01", sort="id") == [made["normal"], made["high"]]
    assert set(ids(site_id=site_id(db_conn, "ma-lu-thang"))) == {made["urgent"], made["low"]}
    assert set(ids(team="to-ky-thuat-bien-gioi")) == set(made.values())
    assert ids(overdue="true") == []
    clock.advance(4 * 3600)  # the urgent one (4 h) is late now
    operator = As(client, "operator")  # the old token has expired meanwhile
    late = operator.get("/api/v1/tickets", params={"overdue": "true"}).json()["items"]
    assert [t["id"] for t in late] == [made["urgent"]]
    assert late[0]["overdue"] is True
    on_time = operator.get("/api/v1/tickets", params={"overdue": "false"}).json()["items"]
    assert made["urgent"] not in {t["id"] for t in on_time}
    assert len(on_time) == 3
    page = operator.get("/api/v1/tickets", params={"limit": 2, "offset": 1, "sort": "id"})
    assert page.json()["total"] == 4
    assert [t["id"] for t in page.json()["items"]] == [made["urgent"], made["normal"]]
    assert (page.json()["limit"], page.json()["offset"]) == (2, 1)

    bad_state = operator.get("/api/v1/tickets", params={"state": "open,done"})
    assert bad_state.status_code == 400
    assert "unknown ticket state 'done'" in bad_state.json()["detail"]
    bad_sort = operator.get("/api/v1/tickets", params={"sort": "title"})
    assert bad_sort.status_code == 400
    assert "cannot sort by 'title'" in bad_sort.json()["detail"]
    for params in ({"priority": "asap"}, {"overdue": "maybe"}, {"limit": 0}, {"site_id": "x"}):
        response = operator.get("/api/v1/tickets", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")


def test_audit_rows_hold_json_before_and_after(as_: Any, db_conn: Any) -> None:
    """The audit row is written in the same transaction as the change: a
    refused change leaves neither."""
    ticket = create(as_, board_id=BORDER_BOARD).json()["id"]
    since = max_audit(db_conn)
    refused = as_("operator").post(f"/api/v1/tickets/{ticket}/transition", json={"to": "resolved"})
    assert refused.status_code == 409
    assert changes(db_conn, since) == []
    row = db_conn.execute(
        "SELECT after::text FROM audit_log WHERE action = 'ticket.create'"
    ).fetchone()
    after = json.loads(row[0])
    assert after["id"] == ticket
    assert datetime.fromisoformat(after["due_at"]) > datetime.now(UTC)
