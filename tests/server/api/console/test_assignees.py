"""Who a ticket may be given to (``GET /api/v1/tickets/{id}/assignees`` and
the assign form's list): the technicians of the ticket's team or whose scope
includes the site, then the operators of the site's organisation — never a
disabled account or a role that cannot work tickets."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.api.conftest import audit_actions
from tests.server.api.console.conftest import csrf_of
from tests.server.api.console.fleet_state import DAY_BOARD, open_ticket
from tests.support import seed
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
DISTRICT_BOARD = "lc-phong-tho-01"
#: Extra accounts: (username, role, organisation, team, active, given site's board).
EXTRA = (
    ("ky.thuat.huyen", "technician", "ubnd-phong-tho", None, True, None),
    ("ky.thuat.so", "technician", "so-tttt", None, True, None),
    ("ky.thuat.nghi", "technician", "bql-kkt", "to-ky-thuat-bien-gioi", False, None),
    ("ky.thuat.rieng", "technician", "ubnd-sin-ho", None, True, DAY_BOARD),
    ("van.hanh.2", "operator", "bql-kkt", None, True, None),
    ("van.hanh.ho.tro", "operator", "ubnd-sin-ho", None, True, DISTRICT_BOARD),
    ("bien.phong.2", "border_guard", "bdbp", None, True, None),
)


@pytest.fixture
def tickets(db_conn: Any, clock: Clock, password_hash: str) -> dict[str, int]:
    for username, role, org, team, active, board in EXTRA:
        seed.user(
            db_conn,
            username,
            role,
            organisation=org,
            team=team,
            active=active,
            sites=() if board is None else (seed.site_of_board(db_conn, board),),
            password_hash=password_hash,
        )
    border = open_ticket(db_conn, DAY_BOARD, clock.now)
    # Something on ky.thuat's plate already.
    db_conn.execute(
        "UPDATE tickets SET assignee = 'ky.thuat', state = 'assigned' WHERE id = %s",
        (open_ticket(db_conn, "lc-mu-ca-01", clock.now),),
    )
    return {"border": border, "district": open_ticket(db_conn, DISTRICT_BOARD, clock.now)}


def offered(client: Any, ticket: int) -> list[tuple[str, str]]:
    answer = client.get(f"/api/v1/tickets/{ticket}/assignees")
    assert answer.status_code == 200, answer.text
    return [(a["username"], a["reason"]) for a in answer.json()]


def test_who_is_offered_for_a_border_gate_and_a_district_ticket(
    as_: Any, tickets: dict[str, int]
) -> None:
    border, district = tickets["border"], tickets["district"]
    # The border gate: the border team first, then technicians whose scope
    # includes it (the province's, one given the site), then bql-kkt's operators.
    expected_border = [
        ("ky.thuat", "team"),
        ("ky.thuat.rieng", "site"),
        ("ky.thuat.so", "site"),
        ("van.hanh", "organisation"),
        ("van.hanh.2", "organisation"),
    ]
    assert offered(as_("operator"), border) == expected_border
    assert offered(as_("admin"), border) == expected_border
    # The district centre: its district's technician and the province's, the
    # district's operator and one given the site; not the border team.
    expected_district = [
        ("ky.thuat.huyen", "site"),
        ("ky.thuat.so", "site"),
        ("phong.tho", "organisation"),
        ("van.hanh.ho.tro", "organisation"),
    ]
    assert offered(as_("district"), district) == expected_district
    assert offered(as_("admin"), district) == expected_district
    details = as_("operator").get(f"/api/v1/tickets/{border}/assignees").json()[0]
    assert details == {
        "username": "ky.thuat",
        "full_name": "Người dùng ky.thuat",
        "role": "technician",
        "team": "to-ky-thuat-bien-gioi",
        "reason": "team",
        "open_tickets": 1,
    }

    # A technician is offered only themselves, on the tickets they see.
    assert offered(as_("technician"), border) == [("ky.thuat", "self")]
    assert as_("technician").get(f"/api/v1/tickets/{district}/assignees").status_code == 404
    # Outside the caller's scope: 404; roles that do not work tickets: 403.
    assert as_("district").get(f"/api/v1/tickets/{border}/assignees").status_code == 404
    assert as_("operator").get(f"/api/v1/tickets/{district}/assignees").status_code == 404
    assert as_("admin").get("/api/v1/tickets/999999/assignees").status_code == 404
    for role in ("viewer", "guard", "province"):
        answer = as_(role).get(f"/api/v1/tickets/{border}/assignees")
        assert answer.status_code == 403, role
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_the_assign_form_offers_the_list(
    new_browser: NewBrowser, tickets: dict[str, int], db_conn: Any
) -> None:
    url = f"/tickets/{tickets['border']}"
    operator = new_browser("operator")
    page = operator.get(url).text
    form = re.search(r'<form[^>]*id="assign-form".*?</form>', page, re.S)
    assert form is not None
    assert '<select name="assignee" required>' in form.group(0)
    assert 'name="assignee" required maxlength' not in form.group(0)  # no typed name
    groups = re.findall(r'<optgroup label="([^"]+)">', form.group(0))
    assert groups == ["Tổ phụ trách điểm", "Kỹ thuật viên khu vực", "Vận hành"]
    options = re.findall(r'<option value="([^"]*)"', form.group(0))
    assert options == ["", "ky.thuat", "ky.thuat.rieng", "ky.thuat.so", "van.hanh", "van.hanh.2"]
    assert "Người dùng ky.thuat (ky.thuat) · 1 phiếu đang làm" in form.group(0)
    english = operator.get(url, params={"lang": "en"}).text
    assert "The site&#39;s team" in english
    assert "(ky.thuat) · 1 open tickets" in english

    answer = operator.post(
        f"{url}/assign", data={"csrf_token": csrf_of(page), "assignee": "ky.thuat.so"}
    )
    assert answer.status_code == 303
    row = db_conn.execute(
        "SELECT assignee, state FROM tickets WHERE id = %s", (tickets["border"],)
    ).fetchone()
    assert row == ("ky.thuat.so", "assigned")
    assert audit_actions(db_conn)[-1] == ("van.hanh", "ticket.assign")
    again = operator.get(url).text
    assert '<option value="ky.thuat.so" selected>' in again
    nobody = operator.post(f"{url}/assign", data={"csrf_token": csrf_of(page), "assignee": ""})
    assert nobody.status_code == 400


def test_the_console_refuses_an_assignee_who_may_not_see_the_site(
    new_browser: NewBrowser, tickets: dict[str, int], db_conn: Any
) -> None:
    """A crafted form (the list never offers them): 422 with the reason, in
    the reader's language; nothing changes."""
    url = f"/tickets/{tickets['district']}"
    district = new_browser("district")
    page = district.get(url).text
    refused = district.post(
        f"{url}/assign", data={"csrf_token": csrf_of(page), "assignee": "ky.thuat"}
    )
    assert refused.status_code == 422
    assert "Người này không được xem điểm của phiếu" in refused.text
    row = db_conn.execute(
        "SELECT assignee, state FROM tickets WHERE id = %s", (tickets["district"],)
    ).fetchone()
    assert row == (None, "open")


def test_everyone_offered_may_be_given_the_ticket(
    as_: Any, tickets: dict[str, int], db_conn: Any
) -> None:
    """The list and the rule assigning enforces (``may_see_site``) agree."""
    for key, ticket in (("operator", tickets["border"]), ("district", tickets["district"])):
        for username, _ in offered(as_(key), ticket):
            answer = as_(key).post(f"/api/v1/tickets/{ticket}/assign", json={"assignee": username})
            assert answer.status_code == 200, (username, answer.text)
