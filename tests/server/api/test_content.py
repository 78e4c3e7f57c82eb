"""/api/v1/content: the approved content registry — who may read and
approve, validation as problem documents naming the field, audit rows with
before and after, retire and delete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, get_args

import pytest

from fleet_server.content.models import KINDS, LANGUAGES
from fleet_server.content.schemas import Kind, Language
from tests.server.api.conftest import Conn
from tests.support.clock import Clock

SHA = "a1" * 32
SEEDED = 1  # the simulated fleet's default clip


def body(clock: Clock, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Phòng chống cháy rừng mùa khô",
        "kind": "propaganda",
        "language": "hmn",
        "sha256": SHA,
        "valid_from": (clock() - timedelta(days=1)).isoformat(),
        "valid_to": (clock() + timedelta(days=90)).isoformat(),
        "from_department": True,
    }
    data.update(overrides)
    return data


def audit_rows(conn: Conn, action: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT actor, target_type, target_id, before, after FROM audit_log"
        " WHERE action = %s ORDER BY id",
        (action,),
    ).fetchall()


def test_the_api_types_match_the_domain() -> None:
    assert set(get_args(Language)) == set(LANGUAGES)
    assert set(get_args(Kind)) == set(KINDS)


def test_admin_approves_and_it_is_audited(as_: Any, clock: Clock, db_conn: Conn) -> None:
    answer = as_("admin").post("/api/v1/content", json=body(clock, sha256=SHA.upper()))
    assert answer.status_code == 201, answer.text
    item = answer.json()
    assert item["sha256"] == SHA  # stored lowercase
    assert item["approved_by"] == "quan.tri"
    assert (item["language"], item["from_department"], item["played"]) == ("hmn", True, False)
    [(actor, target_type, target_id, before, after)] = audit_rows(db_conn, "content.approve")
    assert (actor, target_type, target_id, before) == ("quan.tri", "content", str(item["id"]), None)
    assert after["sha256"] == SHA
    assert after["approved_by"] == "quan.tri"
    again = as_("admin").post("/api/v1/content", json=body(clock))
    assert again.status_code == 409
    assert again.json()["reason"] == "duplicate"


@pytest.mark.parametrize("role", ["operator", "district", "viewer", "province"])
def test_readers_read_but_may_not_approve(as_: Any, clock: Clock, role: str) -> None:
    listed = as_(role).get("/api/v1/content")
    assert listed.status_code == 200
    assert listed.json()["total"] == SEEDED
    refused = as_(role).post("/api/v1/content", json=body(clock))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["technician", "guard"])
def test_roles_without_the_registry(as_: Any, role: str) -> None:
    assert as_(role).get("/api/v1/content").status_code == 403
    assert as_(role).get("/api/v1/content/1").status_code == 403


def test_anonymous_is_401(client: Any) -> None:
    assert client.get("/api/v1/content").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sha256": "xyz"}, "sha256"),
        ({"sha256": "ab" * 31}, "sha256"),
        ({"language": "fr"}, "language"),
        ({"language": "tdd"}, "language"),
        ({"kind": "music"}, "kind"),
        ({"title": "   "}, "title"),
        ({"valid_from": "2026-12-01T00:00:00"}, "valid_from"),
        ({"valid_to": "2020-01-01T00:00:00+07:00"}, "valid_to"),
    ],
)
def test_validation_problems_name_the_field(
    as_: Any, clock: Clock, change: dict[str, Any], field: str
) -> None:
    answer = as_("admin").post("/api/v1/content", json=body(clock, **change))
    assert answer.status_code == 422
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert problem["detail"].startswith(f"{field}:"), problem
    assert problem["errors"][0]["field"] == field


def test_every_accepted_language(as_: Any, clock: Clock) -> None:
    for i, language in enumerate(LANGUAGES):
        sha = f"{i:02x}" * 32
        answer = as_("admin").post(
            "/api/v1/content", json=body(clock, language=language, sha256=sha)
        )
        assert answer.status_code == 201, (language, answer.text)


def test_list_filters_sort_and_paging(as_: Any, clock: Clock) -> None:
    admin = as_("admin")
    now = clock()
    for i, (kind, language, start, end, department) in enumerate(
        [
            ("propaganda", "vi", now - timedelta(days=10), None, True),
            ("advertising", "vi-zh", now - timedelta(days=10), now - timedelta(days=1), False),
            ("emergency", "tai", now + timedelta(days=5), now + timedelta(days=6), True),
        ]
    ):
        answer = admin.post(
            "/api/v1/content",
            json=body(
                clock,
                title=f"Mục {i} bảo vệ biên giới",
                kind=kind,
                language=language,
                sha256=f"{i + 10:02x}" * 32,
                valid_from=start.isoformat(),
                valid_to=end.isoformat() if end else None,
                from_department=department,
            ),
        )
        assert answer.status_code == 201, answer.text

    def titles(**params: Any) -> list[str]:
        answer = as_("operator").get("/api/v1/content", params=params)
        assert answer.status_code == 200, answer.text
        return [item["title"] for item in answer.json()["items"]]

    assert titles(kind="advertising") == ["Mục 1 bảo vệ biên giới"]
    assert titles(language="tai") == ["Mục 2 bảo vệ biên giới"]
    valid_now = titles(valid_at=now.isoformat(), q="bảo vệ")
    assert valid_now == ["Mục 0 bảo vệ biên giới"]
    assert titles(from_department="false", q="Mục") == ["Mục 1 bảo vệ biên giới"]
    assert titles(q="0c0c0c") == ["Mục 2 bảo vệ biên giới"]  # a hash prefix
    assert titles(sort="title", q="Mục") == [f"Mục {i} bảo vệ biên giới" for i in range(3)]
    page = as_("operator").get("/api/v1/content", params={"limit": 2, "sort": "-valid_from"})
    assert (page.json()["total"], len(page.json()["items"])) == (4, 2)
    assert as_("operator").get("/api/v1/content", params={"sort": "secret"}).status_code == 400
    naive = as_("operator").get("/api/v1/content", params={"valid_at": "2026-12-01T08:00:00"})
    assert naive.status_code == 422


def test_get_and_404(as_: Any, clock: Clock) -> None:
    created = as_("admin").post("/api/v1/content", json=body(clock)).json()
    got = as_("operator").get(f"/api/v1/content/{created['id']}")
    assert got.json() == created
    missing = as_("operator").get("/api/v1/content/999999")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "content 999999 not found"
    assert as_("admin").patch("/api/v1/content/999999", json={"title": "x"}).status_code == 404
    assert as_("admin").post("/api/v1/content/999999/retire").status_code == 404
    assert as_("admin").delete("/api/v1/content/999999").status_code == 404


def test_update_title_and_validity_audited(as_: Any, clock: Clock, db_conn: Conn) -> None:
    created = as_("admin").post("/api/v1/content", json=body(clock)).json()
    url = f"/api/v1/content/{created['id']}"
    later = (clock() + timedelta(days=365)).isoformat()
    changed = as_("admin").patch(url, json={"title": "Tiêu đề mới", "valid_to": later})
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "Tiêu đề mới"
    [(_, _, target_id, before, after)] = audit_rows(db_conn, "content.update")
    assert target_id == str(created["id"])
    assert before == {"title": created["title"], "valid_to": before["valid_to"]}
    assert after["title"] == "Tiêu đề mới"
    assert set(after) == {"title", "valid_to"}
    # no end at all
    assert as_("admin").patch(url, json={"valid_to": None}).json()["valid_to"] is None
    # the end must stay after the start, wherever the start is
    early = (clock() - timedelta(days=30)).isoformat()
    bad = as_("admin").patch(url, json={"valid_to": early})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "valid_to"
    fixed = as_("admin").patch(url, json={"sha256": "ff" * 32})  # not a changeable field
    assert fixed.status_code == 422
    assert fixed.json()["errors"][0]["field"] == "sha256"
    assert as_("admin").patch(url, json={}).status_code == 422
    assert as_("operator").patch(url, json={"title": "x"}).status_code == 403


def test_retire_keeps_the_row(as_: Any, clock: Clock, db_conn: Conn) -> None:
    created = as_("admin").post("/api/v1/content", json=body(clock, valid_to=None)).json()
    url = f"/api/v1/content/{created['id']}"
    assert as_("operator").post(f"{url}/retire").status_code == 403
    retired = as_("admin").post(f"{url}/retire")
    assert retired.status_code == 200, retired.text
    assert retired.json()["valid_to"] is not None
    [(_, _, _, before, after)] = audit_rows(db_conn, "content.retire")
    assert before == {"valid_to": None}
    assert after["valid_to"] is not None
    assert as_("admin").post(f"{url}/retire").status_code == 409  # already
    listed = as_("operator").get("/api/v1/content", params={"valid_at": clock().isoformat()})
    assert created["id"] not in [i["id"] for i in listed.json()["items"]]
    assert as_("operator").get(url).status_code == 200


def test_delete_only_what_no_board_played(as_: Any, clock: Clock, db_conn: Conn) -> None:
    unplayed = as_("admin").post("/api/v1/content", json=body(clock)).json()
    played = as_("admin").post("/api/v1/content", json=body(clock, sha256="b2" * 32)).json()
    db_conn.execute(
        "INSERT INTO play_log (device_id, content_sha256, started_at, ended_at, source)"
        " VALUES ('lc-sin-ho-01', %s, %s, %s, 'display')",
        ("b2" * 32, clock() - timedelta(hours=1), clock()),
    )
    assert as_("operator").delete(f"/api/v1/content/{unplayed['id']}").status_code == 403
    assert as_("admin").get(f"/api/v1/content/{played['id']}").json()["played"] is True
    refused = as_("admin").delete(f"/api/v1/content/{played['id']}")
    assert refused.status_code == 409
    assert refused.json()["reason"] == "played"
    deleted = as_("admin").delete(f"/api/v1/content/{unplayed['id']}")
    assert deleted.status_code == 204
    assert as_("admin").get(f"/api/v1/content/{unplayed['id']}").status_code == 404
    [(_, _, target_id, before, after)] = audit_rows(db_conn, "content.delete")
    assert (target_id, before["sha256"], after) == (str(unplayed["id"]), SHA, None)


def test_played_is_the_items_own_hash_never_a_neighbours(
    as_: Any, clock: Clock, db_conn: Conn
) -> None:
    """The play_log lookup reads the first hash from the item's on: a file
    played whose hash sorts just after the item's does not make it played."""
    low = as_("admin").post("/api/v1/content", json=body(clock, sha256="a1" * 32)).json()
    high = as_("admin").post("/api/v1/content", json=body(clock, sha256="a2" * 32)).json()
    db_conn.execute(
        "INSERT INTO play_log (device_id, content_sha256, started_at, ended_at, source)"
        " VALUES ('lc-sin-ho-01', %s, %s, %s, 'display')",
        ("a2" * 32, clock() - timedelta(hours=1), clock()),
    )
    played = {i["id"]: i["played"] for i in as_("admin").get("/api/v1/content").json()["items"]}
    assert (played[low["id"]], played[high["id"]]) == (False, True)
    assert as_("admin").get(f"/api/v1/content/{low['id']}").json()["played"] is False
