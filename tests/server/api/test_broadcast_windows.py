"""/api/v1/sites|boards/{id}/broadcast-windows: reading, setting a site's
windows, a board's override and dropping it — roles, scope, validation and
audit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api.conftest import Conn

BORDER_BOARD = "lc-ma-lu-thang-01"  # bql-kkt's
DISTRICT_BOARD = "lc-sin-ho-01"  # ubnd-sin-ho's
WINDOWS = {
    "windows": [
        {"part": "afternoon", "starts_at": "14:00", "ends_at": "17:30"},
        {"part": "morning", "starts_at": "06:00", "ends_at": "09:00"},
        {"part": "evening", "starts_at": "19:00", "ends_at": "21:00"},
    ]
}


def site_of(conn: Conn, board_id: str) -> int:
    row = conn.execute("SELECT site_id FROM boards WHERE id = %s", (board_id,)).fetchone()
    assert row is not None
    return int(row[0])


def audit_rows(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT actor, action, target_type, target_id, before, after FROM audit_log"
        " WHERE action LIKE 'broadcast_windows.%' ORDER BY id"
    ).fetchall()


def test_a_site_reads_its_seeded_windows(as_: Any, db_conn: Conn) -> None:
    site = site_of(db_conn, BORDER_BOARD)
    for role in ("admin", "operator", "technician", "viewer", "province"):
        answer = as_(role).get(f"/api/v1/sites/{site}/broadcast-windows")
        assert answer.status_code == 200, (role, answer.text)
        assert answer.json() == {
            "site_id": site,
            "windows": [
                {"part": "morning", "starts_at": "06:30:00", "ends_at": "09:30:00"},
                {"part": "afternoon", "starts_at": "16:30:00", "ends_at": "19:30:00"},
            ],
            "notes": [],
        }
    assert as_("guard").get(f"/api/v1/sites/{site}/broadcast-windows").status_code == 403
    # another organisation's site is not there at all
    assert as_("district").get(f"/api/v1/sites/{site}/broadcast-windows").status_code == 404
    assert as_("admin").get("/api/v1/sites/999999/broadcast-windows").status_code == 404


def test_operator_sets_its_sites_windows_audited(as_: Any, db_conn: Conn) -> None:
    site = site_of(db_conn, BORDER_BOARD)
    url = f"/api/v1/sites/{site}/broadcast-windows"
    answer = as_("operator").put(url, json=WINDOWS)
    assert answer.status_code == 200, answer.text
    assert [w["part"] for w in answer.json()["windows"]] == ["morning", "afternoon", "evening"]
    assert answer.json()["notes"] == []
    [(actor, action, target_type, target_id, before, after)] = audit_rows(db_conn)
    assert (actor, action, target_type, target_id) == (
        "van.hanh",
        "broadcast_windows.set",
        "site",
        str(site),
    )
    assert before["windows"][0] == {
        "part": "morning",
        "starts_at": "06:30:00",
        "ends_at": "09:30:00",
    }
    assert [w["starts_at"] for w in after["windows"]] == ["06:00:00", "14:00:00", "19:00:00"]
    # the board follows its site
    board = as_("operator").get(f"/api/v1/boards/{BORDER_BOARD}/broadcast-windows").json()
    assert board["source"] == "site"
    assert board["windows"] == answer.json()["windows"]


@pytest.mark.parametrize("role", ["technician", "viewer", "province"])
def test_readers_may_not_set_windows(as_: Any, db_conn: Conn, role: str) -> None:
    site = site_of(db_conn, BORDER_BOARD)
    assert as_(role).put(f"/api/v1/sites/{site}/broadcast-windows", json=WINDOWS).status_code == 403
    url = f"/api/v1/boards/{BORDER_BOARD}/broadcast-windows"
    assert as_(role).put(url, json=WINDOWS).status_code == 403
    assert as_(role).delete(url).status_code == 403


def test_other_organisations_sites_and_boards_are_404(as_: Any, db_conn: Conn) -> None:
    site = site_of(db_conn, BORDER_BOARD)
    district = as_("district")
    assert district.put(f"/api/v1/sites/{site}/broadcast-windows", json=WINDOWS).status_code == 404
    url = f"/api/v1/boards/{BORDER_BOARD}/broadcast-windows"
    assert district.get(url).status_code == 404
    assert district.put(url, json=WINDOWS).status_code == 404
    assert district.delete(url).status_code == 404
    assert as_("admin").get("/api/v1/boards/lc-nowhere-01/broadcast-windows").status_code == 404
    assert audit_rows(db_conn) == []


@pytest.mark.parametrize(
    ("windows", "field"),
    [
        ([{"part": "morning", "starts_at": "09:00", "ends_at": "06:00"}], "windows.0.ends_at"),
        ([{"part": "morning", "starts_at": "09:00", "ends_at": "09:00"}], "windows.0.ends_at"),
        (
            [
                {"part": "morning", "starts_at": "06:00", "ends_at": "10:00"},
                {"part": "afternoon", "starts_at": "09:30", "ends_at": "12:00"},
            ],
            "windows.1.starts_at",
        ),
        (
            [
                {"part": "morning", "starts_at": "06:00", "ends_at": "09:00"},
                {"part": "morning", "starts_at": "14:00", "ends_at": "17:00"},
            ],
            "windows.1.part",
        ),
        ([{"part": "night", "starts_at": "22:00", "ends_at": "23:00"}], "windows.0.part"),
        ([{"part": "morning", "starts_at": "25:00", "ends_at": "23:00"}], "windows.0.starts_at"),
        (
            [{"part": "morning", "starts_at": "06:00+07:00", "ends_at": "09:00"}],
            "windows.0.starts_at",
        ),
    ],
)
def test_bad_windows_are_problems_naming_the_field(
    as_: Any, db_conn: Conn, windows: list[dict[str, str]], field: str
) -> None:
    site = site_of(db_conn, BORDER_BOARD)
    for url in (
        f"/api/v1/sites/{site}/broadcast-windows",
        f"/api/v1/boards/{BORDER_BOARD}/broadcast-windows",
    ):
        answer = as_("operator").put(url, json={"windows": windows})
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["errors"][0]["field"] == field, problem
        assert problem["detail"].startswith(field)
    assert audit_rows(db_conn) == []


def test_the_rules_refusal_is_the_same_problem_document_as_before(as_: Any, db_conn: Conn) -> None:
    """The domain's WindowError becomes the API's 422 validation problem
    as it always was: type, title, detail and ``errors`` members."""
    site = site_of(db_conn, BORDER_BOARD)
    overlapping = {
        "windows": [
            {"part": "morning", "starts_at": "06:00", "ends_at": "09:00"},
            {"part": "afternoon", "starts_at": "08:00", "ends_at": "11:00"},
        ]
    }
    detail = "windows.1.starts_at: the afternoon window overlaps the morning window (06:00–09:00)"
    answer = as_("operator").put(f"/api/v1/sites/{site}/broadcast-windows", json=overlapping)
    assert answer.json() == {
        "type": "https://laichau-fleet.example/problems/validation",
        "title": "Invalid request",
        "status": 422,
        "detail": detail,
        "instance": f"/api/v1/sites/{site}/broadcast-windows",
        "errors": [{"field": "windows.1.starts_at", "message": detail}],
    }
    url = f"/api/v1/boards/{BORDER_BOARD}/broadcast-windows"
    empty = as_("operator").put(url, json={"windows": []})
    assert empty.status_code == 422
    assert empty.json() == {
        "type": "https://laichau-fleet.example/problems/validation",
        "title": "Invalid request",
        "status": 422,
        "detail": "windows: a board's own windows need at least one window; delete them to"
        " follow the site's windows",
        "instance": url,
        "errors": [{"field": "windows", "message": "at least one window"}],
    }
    assert audit_rows(db_conn) == []


def test_touching_windows_and_short_ones_are_allowed_with_notes(as_: Any, db_conn: Conn) -> None:
    site = site_of(db_conn, DISTRICT_BOARD)
    answer = as_("district").get(f"/api/v1/sites/{site}/broadcast-windows")
    assert answer.status_code == 404  # phong-tho's operator, sin-ho's site
    short = {
        "windows": [
            {"part": "morning", "starts_at": "07:00", "ends_at": "09:00"},
            {"part": "evening", "starts_at": "09:00", "ends_at": "10:00"},
        ]
    }
    answer = as_("admin").put(f"/api/v1/sites/{site}/broadcast-windows", json=short)
    assert answer.status_code == 200, answer.text
    assert answer.json()["notes"] == [
        "the morning window is 2.0 h; Điều 8.1 asks for at least 3 h",
        "no afternoon window: Điều 8.1 asks for 3 h in the afternoon",
    ]
    empty = as_("admin").put(f"/api/v1/sites/{site}/broadcast-windows", json={"windows": []})
    assert empty.status_code == 200
    assert empty.json()["windows"] == []
    board = as_("admin").get(f"/api/v1/boards/{DISTRICT_BOARD}/broadcast-windows").json()
    assert (board["source"], board["windows"]) == ("none", [])


def test_board_override_and_back_to_the_site(as_: Any, db_conn: Conn) -> None:
    url = f"/api/v1/boards/{BORDER_BOARD}/broadcast-windows"
    own = {"windows": [{"part": "morning", "starts_at": "05:30", "ends_at": "08:30"}]}
    answer = as_("operator").put(url, json=own)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["source"] == "board"
    assert got["windows"] == got["board_windows"]
    assert got["board_windows"] == [
        {"part": "morning", "starts_at": "05:30:00", "ends_at": "08:30:00"}
    ]
    assert len(got["site_windows"]) == 2
    assert got["notes"] == ["no afternoon window: Điều 8.1 asks for 3 h in the afternoon"]
    # the other board of the site keeps the site's windows
    other = as_("operator").get("/api/v1/boards/lc-ma-lu-thang-02/broadcast-windows").json()
    assert other["source"] == "site"
    # the engine sees the override alone
    rows = db_conn.execute(
        "SELECT part, starts_at::text FROM broadcast_windows WHERE board_id = %s", (BORDER_BOARD,)
    ).fetchall()
    assert rows == [("morning", "05:30:00")]
    refused = as_("operator").put(url, json={"windows": []})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "windows"
    back = as_("operator").delete(url)
    assert back.status_code == 200
    assert (back.json()["source"], back.json()["board_windows"]) == ("site", [])
    actions = [(r[1], r[2], r[3]) for r in audit_rows(db_conn)]
    assert actions == [
        ("broadcast_windows.set", "board", BORDER_BOARD),
        ("broadcast_windows.delete", "board", BORDER_BOARD),
    ]
    deleted = audit_rows(db_conn)[1]
    assert deleted[4]["windows"][0]["starts_at"] == "05:30:00"
    assert deleted[5] == {"windows": []}
