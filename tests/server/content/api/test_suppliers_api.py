"""/api/v1/content/suppliers and /overdue: supplying units with their
obligations (Điều 10.1.b quarterly, 10.1.c monthly), who may change them,
audit rows, and every rejection naming the problem."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from fleet_server.localtime import LOCAL_TZ
from tests.server.api.conftest import Conn
from tests.support import seed
from tests.support.clock import Clock

URL = "/api/v1/content/suppliers"


def test_admin_adds_and_changes_a_unit_with_audit(as_: Any, db_conn: Conn, clock: Clock) -> None:
    clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=LOCAL_TZ))
    admin = as_("admin")
    answer = admin.post(
        URL,
        json={
            "name": "Bộ Chỉ huy Bộ đội Biên phòng tỉnh",
            "obligation": "quarterly",
            "organisation_id": seed.organisation_id(db_conn, "bdbp"),
        },
    )
    assert answer.status_code == 201, answer.text
    unit = answer.json()
    assert (unit["article"], unit["next_due"], unit["obligation_from"], unit["min_items"]) == (
        "Điều 10.1.b",
        "2026-12-20",
        "2026-12-06",
        1,
    )
    changed = admin.patch(f"{URL}/{unit['id']}", json={"obligation": "monthly", "min_items": 2})
    assert changed.status_code == 200
    assert (changed.json()["article"], changed.json()["next_due"]) == ("Điều 10.1.c", "2026-12-20")
    assert as_("viewer").get(f"{URL}/{unit['id']}").json()["min_items"] == 2
    rows = db_conn.execute(
        "SELECT action, before, after FROM audit_log WHERE target_type = 'content_supplier'"
        " ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == ["content.supplier.create", "content.supplier.update"]
    assert rows[1][1] == {"obligation": "quarterly", "min_items": 1}
    assert rows[1][2] == {"obligation": "monthly", "min_items": 2}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"name": "A", "obligation": "weekly"}, 422, "obligation"),
        ({"name": " ", "obligation": "monthly"}, 422, "name"),
        ({"name": "A", "obligation": "monthly", "min_items": 0}, 422, "min_items"),
        ({"name": "A", "obligation": "monthly", "organisation_id": 999999}, 400, "organisation"),
        ({"name": "A", "obligation": "monthly", "contact_id": 999999}, 400, "contact"),
        ({"name": "Báo Lai Châu", "obligation": "monthly"}, 409, "name"),
    ],
)
def test_bad_units_are_refused_naming_the_problem(
    as_: Any, body: dict[str, Any], status: int, says: str
) -> None:
    admin = as_("admin")
    assert (
        admin.post(URL, json={"name": "Báo Lai Châu", "obligation": "monthly"}).status_code == 201
    )
    answer = admin.post(URL, json=body)
    assert answer.status_code == status, answer.text
    assert says in answer.text


def test_a_patch_refuses_emptying_and_nothing(as_: Any) -> None:
    admin = as_("admin")
    unit = admin.post(URL, json={"name": "Đài PT-TH tỉnh", "obligation": "monthly"}).json()
    assert admin.patch(f"{URL}/{unit['id']}", json={}).status_code == 400
    emptied = admin.patch(f"{URL}/{unit['id']}", json={"obligation": None})
    assert emptied.status_code == 400
    assert "obligation: cannot be emptied" in emptied.json()["detail"]
    assert admin.patch(f"{URL}/999999", json={"active": False}).status_code == 404


@pytest.mark.parametrize("role", ["operator", "viewer", "district", "province"])
def test_readers_read_but_only_admins_change(as_: Any, role: str) -> None:
    assert as_(role).get(URL).status_code == 200
    assert as_(role).get("/api/v1/content/overdue").status_code == 200
    refused = as_(role).post(URL, json={"name": "X", "obligation": "monthly"})
    assert refused.status_code == 403


def test_the_overdue_list_through_the_api(as_: Any, clock: Clock) -> None:
    clock.set(datetime(2026, 12, 21, 8, 0, tzinfo=LOCAL_TZ))
    admin = as_("admin")
    paper = admin.post(
        URL, json={"name": "Báo Lai Châu", "obligation": "monthly", "obligation_from": "2026-01-01"}
    ).json()
    admin.post(URL, json={"name": "Chưa áp dụng", "obligation": "monthly", "active": False})
    [late] = admin.get("/api/v1/content/overdue").json()
    assert late == {
        "supplier_id": paper["id"],
        "supplier_name": "Báo Lai Châu",
        "obligation": "monthly",
        "article": "Điều 10.1.c",
        "period": "2026-12",
        "period_starts": "2026-11-21",
        "due": "2026-12-20",
        "required": 1,
        "submitted": 0,
    }
    admin.post(
        "/api/v1/content/submissions",
        json={
            "title": "Tin bài",
            "category": "policy",
            "language": "vi",
            "sha256": "e1" * 32,
            "supplier_id": paper["id"],
        },
    )
    # sent on the 21st: it counts for January, December stays overdue
    assert [o["period"] for o in admin.get("/api/v1/content/overdue").json()] == ["2026-12"]


def test_deleting_the_contact_a_unit_names_leaves_the_unit_without_one(
    as_: Any, db_conn: Conn
) -> None:
    """A contact can be removed while a supplying unit still names it: the
    unit stays, with no contact for its overdue notices (not a server error)."""
    admin = as_("admin")
    contact = admin.post(
        "/api/v1/contacts", json={"name": "Văn phòng Đài", "email": "vp@dai.laichau.gov.vn"}
    )
    assert contact.status_code == 201, contact.text
    contact_id = contact.json()["id"]
    unit = admin.post(
        URL, json={"name": "Đài PT-TH tỉnh", "obligation": "monthly", "contact_id": contact_id}
    )
    assert unit.status_code == 201, unit.text
    gone = admin.delete(f"/api/v1/contacts/{contact_id}")
    assert gone.status_code in (200, 204), gone.text
    again = admin.get(f"{URL}/{unit.json()['id']}")
    assert again.status_code == 200
    assert again.json()["contact_id"] is None
