"""Preventive maintenance schedules through the API (Điều 11.1.a: the unit
running the boards must "kiểm tra, đánh giá tình trạng hư hỏng của hệ thống
thiết bị Cụm Thông tin điện tử công cộng"): who plans them, where, every
refusal with its reason, the audit rows, and the ticket the engine opens on
the due day with the schedule's priority and checklist."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from fleet_server.engine.alerts import preventive_tickets
from fleet_server.localtime import LOCAL_TZ
from tests.server.api.conftest import audit_actions
from tests.support import seed
from tests.support.clock import Clock

URL = "/api/v1/preventive-schedules"
BORDER_BOARD = "lc-ma-lu-thang-01"  # bql-kkt's, the operator's organisation


def today(clock: Clock) -> date:
    return clock.now.astimezone(LOCAL_TZ).date()


def district_site(conn: Any) -> int:
    """A site of another organisation than the operator's."""
    return seed.sites_of_kind(conn, "district_centre")[0]


def plan(as_: Any, clock: Clock, key: str = "operator", **body: Any) -> Any:
    body.setdefault("board_id", BORDER_BOARD)
    body.setdefault("title", "Vệ sinh màn hình, kiểm tra UPS")
    body.setdefault("every_days", 90)
    body.setdefault("next_due_on", (today(clock) + timedelta(days=7)).isoformat())
    return as_(key).post(URL, json={k: v for k, v in body.items() if v is not None})


def test_an_operator_plans_changes_and_stops_a_schedule(
    as_: Any, db_conn: Any, clock: Clock
) -> None:
    created = plan(as_, clock, checklist="1. Lau màn hình\n2. Thử UPS", priority="high")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["board_id"] == BORDER_BOARD
    assert body["site_id"] is None
    assert body["at_site_id"] == seed.site_of_board(db_conn, BORDER_BOARD)
    assert body["priority"] == "high"
    assert body["created_by"] == "van.hanh"
    listed = as_("technician").get(URL, params={"board_id": BORDER_BOARD}).json()
    assert [s["id"] for s in listed["items"]] == [body["id"]]
    changed = as_("operator").patch(f"{URL}/{body['id']}", json={"every_days": 30})
    assert changed.status_code == 200, changed.text
    assert changed.json()["every_days"] == 30
    assert changed.json()["updated_by"] == "van.hanh"
    assert as_("operator").delete(f"{URL}/{body['id']}").status_code == 204
    assert as_("operator").get(f"{URL}/{body['id']}").status_code == 404
    actions = [a for a in audit_actions(db_conn) if a[1] != "login"]
    assert actions == [
        ("van.hanh", "preventive.create"),
        ("van.hanh", "preventive.update"),
        ("van.hanh", "preventive.delete"),
    ]


def test_a_site_schedule_opens_one_ticket_with_its_checklist(
    as_: Any, db_conn: Any, clock: Clock
) -> None:
    site = seed.site_of_board(db_conn, BORDER_BOARD)
    created = plan(
        as_,
        clock,
        board_id=None,
        site_id=site,
        checklist="Kiểm tra tiếp địa",
        priority="low",
        next_due_on=today(clock).isoformat(),
    )
    assert created.status_code == 201, created.text
    opened = preventive_tickets(db_conn, clock.now)
    assert len(opened) == 1
    row = db_conn.execute(
        "SELECT site_id, board_id, kind, priority, description FROM tickets WHERE id = %s",
        (opened[0],),
    ).fetchone()
    assert row == (site, None, "preventive", "low", "Kiểm tra tiếp địa")
    again = as_("operator").get(f"{URL}/{created.json()['id']}").json()
    assert again["next_due_on"] == (today(clock) + timedelta(days=90)).isoformat()


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"site_id": 1}, 422, "either site_id"),  # both a site and a board
        ({"board_id": None}, 422, "either site_id"),  # neither
        ({"every_days": 0}, 422, "every_days"),
        ({"every_days": 731}, 422, "every_days"),
        ({"title": "   "}, 422, "title"),
        ({"title": "x" * 201}, 422, "title"),
        ({"priority": "whenever"}, 422, "priority"),
        ({"checklist": "x" * 4001}, 422, "checklist"),
        ({"next_due_on": "soon"}, 422, "next_due_on"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(
    as_: Any, clock: Clock, body: dict[str, Any], status: int, names: str
) -> None:
    answer = plan(as_, clock, **body)
    assert answer.status_code == status, answer.text
    assert names in answer.json()["detail"]


def test_a_due_day_in_the_past_or_years_ahead_is_refused(as_: Any, clock: Clock) -> None:
    past = plan(as_, clock, next_due_on=(today(clock) - timedelta(days=1)).isoformat())
    assert past.status_code == 400
    assert "next_due_on" in past.json()["detail"]
    assert "past" in past.json()["detail"]
    far = plan(as_, clock, next_due_on=(today(clock) + timedelta(days=800)).isoformat())
    assert far.status_code == 400
    assert "days ahead" in far.json()["detail"]
    created = plan(as_, clock).json()
    moved = as_("operator").patch(
        f"{URL}/{created['id']}",
        json={"next_due_on": (today(clock) - timedelta(days=3)).isoformat()},
    )
    assert moved.status_code == 400
    empty = as_("operator").patch(f"{URL}/{created['id']}", json={})
    assert empty.status_code == 422
    assert "at least one field" in empty.json()["detail"]
    null = as_("operator").patch(f"{URL}/{created['id']}", json={"every_days": None})
    assert null.status_code == 422


def test_scope_and_roles(as_: Any, db_conn: Any, clock: Clock) -> None:
    other = plan(as_, clock, board_id=None, site_id=district_site(db_conn))
    assert other.status_code == 404  # another organisation's site: as if it did not exist
    unknown = plan(as_, clock, board_id="lc-nowhere-01")
    assert unknown.status_code == 404
    assert plan(as_, clock, key="technician").status_code == 403
    assert plan(as_, clock, key="viewer").status_code == 403
    mine = plan(as_, clock).json()
    district = as_("district")
    assert district.get(f"{URL}/{mine['id']}").status_code == 404
    assert district.patch(f"{URL}/{mine['id']}", json={"every_days": 5}).status_code == 404
    assert district.delete(f"{URL}/{mine['id']}").status_code == 404
    assert district.get(URL).json()["total"] == 0
    assert as_("guard").get(URL).status_code == 403
    assert as_("admin").get(URL).json()["total"] == 1
