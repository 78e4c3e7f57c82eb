"""/api/v1/content/submissions: the content workflow of Điều 10.1 end to end
through the API — each transition, who may take it, what a supplying unit
sees, and the audit and history rows.

Điều 10.1.a: the Department "Tiếp nhận các sản phẩm truyền thông do các cơ
quan, đơn vị, địa phương gửi đến" and "Chủ trì tiếp nhận thông tin, thẩm định,
biên tập, cập nhật thông tin lên các Cụm Thông tin điện tử công cộng khu vực
biên giới vào các ngày làm việc trong tuần, đảm bảo theo quy định của pháp
luật."
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.api.conftest import PASSWORD, Conn
from tests.support import seed
from tests.support.clock import Clock

SHA_1 = "c1" * 32
SHA_2 = "c2" * 32
URL = "/api/v1/content/submissions"


class Login:
    """A client with one account's bearer token."""

    def __init__(self, client: TestClient, username: str) -> None:
        answer = client.post(
            "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        self.client = client
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self.headers, **kw)


@pytest.fixture
def units(db_conn: Conn, password_hash: str) -> dict[str, int]:
    """Two supplying units with an account each, and an account of no unit."""
    paper = seed.organisation(db_conn, "bao-lai-chau", "Báo Lai Châu")
    found = {}
    for name, org, obligation in (
        ("Báo Lai Châu", paper, "monthly"),
        ("Bộ Chỉ huy Bộ đội Biên phòng tỉnh", seed.organisation_id(db_conn, "bdbp"), "quarterly"),
    ):
        row = db_conn.execute(
            "INSERT INTO content_suppliers (name, organisation_id, obligation, obligation_from)"
            " VALUES (%s, %s, %s, '2026-01-01') RETURNING id",
            (name, org, obligation),
        ).fetchone()
        assert row is not None
        found[name] = int(row[0])
    seed.user(db_conn, "bao.lc", "supplier", organisation=paper, password_hash=password_hash)
    seed.user(db_conn, "bdbp.tt", "supplier", organisation="bdbp", password_hash=password_hash)
    seed.user(db_conn, "lac.loai", "supplier", password_hash=password_hash)
    return found


def item(**overrides: Any) -> dict[str, Any]:
    data = {
        "title": "Phóng sự: mùa hoa ban Lai Châu",
        "category": "border_external",
        "language": "vi-en",
        "sha256": SHA_1,
        "description": "Phóng sự 5 phút, song ngữ Việt - Anh",
    }
    return {**data, **overrides}


def test_submit_return_resubmit_approve_with_history_and_audit(
    client: TestClient, as_: Any, db_conn: Conn, units: dict[str, int]
) -> None:
    """A unit submits; the Department appraises, returns it with a comment;
    the unit resubmits another file; the Department approves it into the
    registry, where its kind is derived from the category."""
    paper = Login(client, "bao.lc")
    answer = paper.post(URL, json=item())
    assert answer.status_code == 201, answer.text
    sub = answer.json()
    assert (sub["state"], sub["supplier_name"], sub["kind"]) == (
        "submitted",
        "Báo Lai Châu",
        "propaganda",
    )
    assert sub["article"] == "Điều 7.4"
    url = f"{URL}/{sub['id']}"
    admin = as_("admin")
    assert admin.post(f"{url}/appraise").json()["state"] == "under_appraisal"
    refused = admin.post(f"{url}/return", json={"comment": "  "})
    assert refused.status_code == 422
    returned = admin.post(f"{url}/return", json={"comment": "Thiếu phụ đề tiếng Anh"})
    assert returned.json()["state"] == "returned"
    again = paper.post(f"{url}/resubmit", json={"sha256": SHA_2, "comment": "Đã thêm phụ đề"})
    assert (again.json()["state"], again.json()["sha256"]) == ("submitted", SHA_2)
    admin.post(f"{url}/appraise")
    approved = admin.post(f"{url}/approve", json={"comment": "Đạt"}).json()
    assert approved["state"] == "approved"
    registry = admin.get(f"/api/v1/content/{approved['content_id']}").json()
    assert (registry["sha256"], registry["kind"], registry["approved_by"]) == (
        SHA_2,
        "propaganda",
        "quan.tri",
    )
    history = paper.get(url).json()["history"]
    assert [(h["action"], h["actor"], h["to_state"]) for h in history] == [
        ("submit", "bao.lc", "submitted"),
        ("start_appraisal", "quan.tri", "under_appraisal"),
        ("return", "quan.tri", "returned"),
        ("resubmit", "bao.lc", "submitted"),
        ("start_appraisal", "quan.tri", "under_appraisal"),
        ("approve", "quan.tri", "approved"),
    ]
    assert history[2]["comment"] == "Thiếu phụ đề tiếng Anh"
    assert history[3]["sha256"] == SHA_2
    audited = db_conn.execute(
        "SELECT action, actor, target_id FROM audit_log WHERE target_type = 'content_submission'"
        " ORDER BY id"
    ).fetchall()
    assert [a for a, _, _ in audited] == [f"content.submission.{h['action']}" for h in history]
    assert {t for _, _, t in audited} == {str(sub["id"])}


def test_invalid_transitions_are_conflicts_naming_the_state(
    client: TestClient, as_: Any, clock: Clock, units: dict[str, int]
) -> None:
    paper, admin = Login(client, "bao.lc"), as_("admin")
    url = f"{URL}/{paper.post(URL, json=item()).json()['id']}"
    for action in ("approve", "return", "retire"):
        body = {"comment": "x"} if action == "return" else None
        answer = admin.post(f"{url}/{action}", json=body)
        assert answer.status_code == 409, action
        assert "is submitted" in answer.json()["detail"]
    assert paper.post(f"{url}/resubmit", json={}).status_code == 409
    admin.post(f"{url}/appraise")
    assert admin.post(f"{url}/appraise").status_code == 409
    admin.post(f"{url}/approve")
    # valid from the instant of approval: retiring at that same instant cannot end it
    early = admin.post(f"{url}/retire")
    assert early.status_code == 409
    assert "only becomes valid at" in early.json()["detail"]
    clock.advance(60)
    assert admin.post(f"{url}/retire", json={"comment": "hết thời sự"}).status_code == 200
    for action in ("appraise", "approve", "retire"):
        answer = admin.post(f"{url}/{action}")
        assert answer.status_code == 409
        assert "is retired" in answer.json()["detail"]
        assert "nothing follows it" in answer.json()["detail"]
    # retiring kept the history and ended the registry item's validity
    kept = admin.get(url).json()
    assert [h["action"] for h in kept["history"]][-1] == "retire"
    registry = admin.get(f"/api/v1/content/{kept['content_id']}").json()
    assert registry["valid_to"] is not None


def test_a_unit_sees_its_own_submissions_only(
    client: TestClient, as_: Any, units: dict[str, int]
) -> None:
    paper, guard_unit = Login(client, "bao.lc"), Login(client, "bdbp.tt")
    mine = paper.post(URL, json=item()).json()
    theirs = guard_unit.post(URL, json=item(sha256=SHA_2, category="local", subcategory="security"))
    assert theirs.status_code == 201
    assert theirs.json()["supplier_name"] == "Bộ Chỉ huy Bộ đội Biên phòng tỉnh"
    assert [s["id"] for s in paper.get(URL).json()["items"]] == [mine["id"]]
    assert paper.get(f"{URL}/{theirs.json()['id']}").status_code == 404
    listed = as_("admin").get(URL, params={"supplier_id": units["Báo Lai Châu"]}).json()
    assert [s["id"] for s in listed["items"]] == [mine["id"]]
    by_state = as_("admin").get(URL, params={"state": "submitted", "category": "local"}).json()
    assert [s["id"] for s in by_state["items"]] == [theirs.json()["id"]]
    # a unit cannot submit in another's name
    other = paper.post(URL, json=item(sha256="d" * 64, supplier_id=units["Báo Lai Châu"] + 1))
    assert other.status_code == 403


def test_the_supplier_role_sees_nothing_else(client: TestClient, units: dict[str, int]) -> None:
    paper = Login(client, "bao.lc")
    sub = paper.post(URL, json=item()).json()
    for path in (
        "/api/v1/boards",
        "/api/v1/sites",
        "/api/v1/incidents",
        "/api/v1/tickets",
        "/api/v1/content",
        "/api/v1/content/suppliers",
        "/api/v1/content/overdue",
        "/api/v1/audit-log",
        "/api/v1/users",
        "/api/v1/compliance/days",
    ):
        assert paper.get(path).status_code == 403, path
    for action in ("appraise", "approve", "retire"):
        assert paper.post(f"{URL}/{sub['id']}/{action}").status_code == 403, action
    me = paper.get("/api/v1/auth/me").json()
    assert me["role"] == "supplier"
    assert sorted(me["capabilities"]) == ["content.submit"]


def test_an_account_of_no_unit_may_not_submit(client: TestClient, units: dict[str, int]) -> None:
    stray = Login(client, "lac.loai")
    answer = stray.post(URL, json=item())
    assert answer.status_code == 403
    assert "not linked to a supplying unit" in answer.json()["detail"]
    assert stray.get(URL).json()["items"] == []


@pytest.mark.parametrize("role", ["operator", "district"])
def test_appraisal_is_the_departments(as_: Any, units: dict[str, int], role: str) -> None:
    """Operators of an organisation that is not the Department may submit for
    their unit but not appraise (Điều 10.1.a names the Department)."""
    sub = as_("admin").post(URL, json=item()).json()
    answer = as_(role).post(f"{URL}/{sub['id']}/appraise")
    assert answer.status_code in (403, 404)
    assert as_(role).post(f"{URL}/{sub['id']}/approve").status_code == 403


@pytest.mark.parametrize("role", ["viewer", "province", "technician", "guard"])
def test_roles_without_the_workflow(as_: Any, role: str) -> None:
    assert as_(role).get(URL).status_code == 403
    assert as_(role).post(URL, json=item()).status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "local"}, "subcategory"),
        ({"category": "local", "subcategory": "gossip"}, "subcategory"),
        ({"category": "policy", "subcategory": "projects"}, "subcategory"),
        ({"category": "news"}, "category"),
        ({"sha256": "xyz"}, "sha256"),
        ({"title": " "}, "title"),
        ({"language": "fr"}, "language"),
        ({"supplier_id": 999999}, "supplier_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_input_names_the_field(
    as_: Any, units: dict[str, int], overrides: dict[str, Any], field: str
) -> None:
    answer = as_("admin").post(URL, json=item(**overrides))
    # 422: the body's shape; 400: a value the service refused (no such supplier)
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in str(answer.json()["errors"])


def test_the_department_submits_for_a_unit_or_itself(as_: Any, units: dict[str, int]) -> None:
    admin = as_("admin")
    own = admin.post(URL, json=item()).json()
    assert (own["supplier_id"], own["supplier_name"]) == (None, None)
    unit = units["Bộ Chỉ huy Bộ đội Biên phòng tỉnh"]
    received = admin.post(URL, json=item(sha256=SHA_2, supplier_id=unit)).json()
    assert received["supplier_id"] == unit
    # approved, the Department's own item counts as supplied by the Department
    # (the annual report, Điều 14); a unit's item does not
    for sub, expected in ((own, True), (received, False)):
        admin.post(f"{URL}/{sub['id']}/appraise")
        content_id = admin.post(f"{URL}/{sub['id']}/approve").json()["content_id"]
        assert admin.get(f"/api/v1/content/{content_id}").json()["from_department"] is expected


def test_approving_a_hash_already_in_the_registry_is_refused(
    as_: Any, units: dict[str, int]
) -> None:
    admin = as_("admin")
    first, second = (admin.post(URL, json=item()).json() for _ in range(2))
    for sub in (first, second):
        admin.post(f"{URL}/{sub['id']}/appraise")
    assert admin.post(f"{URL}/{first['id']}/approve").status_code == 200
    refused = admin.post(f"{URL}/{second['id']}/approve")
    assert refused.status_code == 409
    assert "already in the registry" in refused.json()["detail"]
    assert admin.get(f"{URL}/{second['id']}").json()["state"] == "under_appraisal"


def test_a_supplier_account_is_created_through_the_users_api(
    as_: Any, db_conn: Conn, units: dict[str, int]
) -> None:
    """The role is accepted by the API, the service and the database."""
    answer = as_("admin").post(
        "/api/v1/users",
        json={
            "username": "dai.phtt",
            "full_name": "Đài Phát thanh - Truyền hình tỉnh",
            "role": "supplier",
            "organisation_id": seed.organisation_id(db_conn, "bao-lai-chau"),
            "password": "Mật-khẩu-rất-dài-2026!",
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["role"] == "supplier"


def test_a_unit_submits_the_file_itself(
    client: TestClient, db_conn: Conn, units: dict[str, int], tmp_path: Path
) -> None:
    """The file is kept in the broadcast archive (Điều 9.1) and its SHA-256
    becomes the submission's."""
    clip = b"\x00\x00\x00\x18ftypmp42 Lai Chau in spring"
    paper = Login(client, "bao.lc")
    fields = {"title": "Mùa xuân Lai Châu", "category": "local", "subcategory": "projects"}
    answer = paper.post(
        f"{URL}/upload",
        data={**fields, "language": "vi"},
        files={"file": ("mua-xuan.mp4", clip, "video/mp4")},
    )
    assert answer.status_code == 201, answer.text
    digest = hashlib.sha256(clip).hexdigest()
    assert (answer.json()["sha256"], answer.json()["article"]) == (digest, "Điều 7.2.a")
    stored = db_conn.execute(
        "SELECT size_bytes, uploaded_by FROM content_files WHERE sha256 = %s", (digest,)
    ).fetchone()
    assert stored == (len(clip), "bao.lc")
    kept = tmp_path / "data" / "content-files" / "sha256" / digest[:2] / digest[2:4] / digest
    assert kept.read_bytes() == clip
    # fields are checked before the file is kept
    refused = paper.post(
        f"{URL}/upload",
        data={**fields, "language": "fr"},
        files={"file": ("khac.mp4", clip + b"!", "video/mp4")},
    )
    assert refused.status_code in (400, 422)
    assert "language" in refused.text
    empty = paper.post(
        f"{URL}/upload",
        data={**fields, "language": "vi"},
        files={"file": ("rong.mp4", b"", "video/mp4")},
    )
    assert empty.status_code == 400
    count = db_conn.execute("SELECT count(*) FROM content_files").fetchone()
    assert count == (1,)
