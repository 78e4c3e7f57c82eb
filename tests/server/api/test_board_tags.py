"""Board tags (migration 0043): set through PATCH /api/v1/boards/{id}
(org.write, audited), bounded in the API and in the database, and the
board list filtered by ?tag= within the caller's scope."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest


def _tag(as_: Any, board: str, tags: list[str]) -> Any:
    return as_("admin").patch(f"/api/v1/boards/{board}", json={"tags": tags})


def test_tags_set_sorted_once_each_and_audited(as_: Any, db_conn: Any) -> None:
    done = _tag(as_, "lc-mu-ca-01", ["pilot", "4g", "pilot"])
    assert done.status_code == 200
    assert done.json()["tags"] == ["4g", "pilot"]
    assert as_("viewer").get("/api/v1/boards/lc-mu-ca-01").json()["tags"] == ["4g", "pilot"]
    row = db_conn.execute(
        "SELECT before, after FROM audit_log WHERE action = 'board.update'"
    ).fetchone()
    assert row == ({"tags": []}, {"tags": ["4g", "pilot"]})
    assert _tag(as_, "lc-mu-ca-01", []).json()["tags"] == []
    refused = as_("operator").patch("/api/v1/boards/lc-mu-ca-01", json={"tags": ["x"]})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "tags",
    [["Pilot"], ["-pilot"], ["a" * 33], ["with space"], ["ok", ""], [f"t{i}" for i in range(17)]],
)
def test_bad_tags_refused_naming_the_field(as_: Any, db_conn: Any, tags: list[str]) -> None:
    refused = _tag(as_, "lc-mu-ca-01", tags)
    assert refused.status_code == 422
    assert "tags" in refused.text
    assert db_conn.execute("SELECT tags FROM boards WHERE id = 'lc-mu-ca-01'").fetchone() == ([],)


def test_null_tags_refused(as_: Any) -> None:
    refused = as_("admin").patch("/api/v1/boards/lc-mu-ca-01", json={"tags": None})
    assert refused.status_code == 400
    assert "tags" in refused.json()["detail"]


def test_the_database_holds_the_same_bounds(db_conn: Any) -> None:
    for bad in (["UPPER"], [f"t{i}" for i in range(17)], [None], [["a"]]):
        with pytest.raises(psycopg.errors.CheckViolation), db_conn.transaction():
            db_conn.execute("UPDATE boards SET tags = %s WHERE id = 'lc-mu-ca-01'", (bad,))


def test_list_by_tag_within_scope(as_: Any) -> None:
    _tag(as_, "lc-mu-ca-01", ["pilot"])
    _tag(as_, "lc-phong-tho-01", ["pilot", "north"])
    _tag(as_, "lc-ma-lu-thang-01", ["north"])
    pilot = as_("admin").get("/api/v1/boards", params={"tag": "pilot"}).json()
    assert {b["id"] for b in pilot["items"]} == {"lc-mu-ca-01", "lc-phong-tho-01"}
    district = as_("district").get("/api/v1/boards", params={"tag": "pilot"}).json()
    assert {b["id"] for b in district["items"]} == {"lc-phong-tho-01"}
    assert as_("admin").get("/api/v1/boards", params={"tag": "nobody"}).json()["total"] == 0
    assert as_("admin").get("/api/v1/boards", params={"tag": "Bad Tag"}).status_code == 422
