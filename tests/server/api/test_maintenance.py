"""Maintenance windows through the API: scope, validation, the windows that
cover a moment, ending early (held notifications released) and deleting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.server.api.conftest import audit_actions
from tests.support.clock import Clock

BORDER_BOARD = "lc-ma-lu-thang-01"
URL = "/api/v1/maintenance-windows"


def site_id(conn: Any, code: str) -> int:
    row = conn.execute("SELECT id FROM sites WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def changes(conn: Any, since: int = 0) -> list[tuple[str, str]]:
    return [a for a in audit_actions(conn, since) if a[1] != "login"]


def max_audit(conn: Any) -> int:
    row = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    assert row is not None
    return int(row[0])


def window(
    as_: Any, now: datetime, start_h: float, end_h: float, key: str = "operator", **body: Any
) -> Any:
    body.setdefault("reason", "Thay bộ nguồn / power supply replacement")
    body["starts_at"] = (now + timedelta(hours=start_h)).isoformat()
    body["ends_at"] = (now + timedelta(hours=end_h)).isoformat()
    return as_(key).post(URL, json=body)


def held_notice(conn: Any, now: datetime, site: int, board: str | None, until: datetime) -> int:
    """An outbox row held back (as the engine holds one during maintenance)."""
    contact = conn.execute(
        "INSERT INTO contacts (name, email) VALUES ('Trực ban', 'truc@example.vn') RETURNING id"
    ).fetchone()[0]
    row = conn.execute(
        """INSERT INTO notification_outbox (created_at, idempotency_key, kind, channel,
               contact_id, language, subject, body_text, payload, site_id, board_id,
               available_at, next_attempt_at)
           VALUES (%s, %s, 'incident_opened', 'email', %s, 'vi', 's', 'b', '{}', %s, %s, %s, %s)
           RETURNING id""",
        (now, f"k-{site}-{board}", contact, site, board, until, until),
    ).fetchone()
    return int(row[0])


def available_at(conn: Any, outbox_id: int) -> datetime:
    row = conn.execute(
        "SELECT available_at FROM notification_outbox WHERE id = %s", (outbox_id,)
    ).fetchone()
    return row[0]  # type: ignore[no-any-return]


def test_planning_windows_roles_scope_and_validation(as_: Any, db_conn: Any, clock: Clock) -> None:
    now = clock.now
    created = window(as_, now, -1, 2, board_id=BORDER_BOARD)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["board_id"] == BORDER_BOARD
    assert body["site_id"] is None
    assert body["at_site_id"] == site_id(db_conn, "ma-lu-thang")
    assert body["active"] is True
    assert datetime.fromisoformat(body["current_ends_at"]) == now + timedelta(hours=2)
    assert body["created_by"] == "van.hanh"
    assert changes(db_conn) == [("van.hanh", "maintenance.create")]
    row = db_conn.execute(
        "SELECT target_type, target_id, after FROM audit_log WHERE action = 'maintenance.create'"
    ).fetchone()
    assert row[0:2] == ("maintenance_window", str(body["id"]))
    assert row[2]["reason"] == "Thay bộ nguồn / power supply replacement"
    assert "active" not in row[2]

    phong_tho = site_id(db_conn, "phong-tho")
    assert window(as_, now, 1, 2, "district", site_id=phong_tho).status_code == 201
    # roles without maintenance.write, and places outside the caller's scope
    for key in ("technician", "viewer", "province"):
        assert window(as_, now, 1, 2, key, site_id=phong_tho).status_code == 403, key
    assert as_("guard").get(URL).status_code == 403
    hidden = window(as_, now, 1, 2, "district", board_id=BORDER_BOARD)
    assert hidden.status_code == 404
    assert hidden.json()["detail"] == f"board {BORDER_BOARD} not found"
    assert window(as_, now, 1, 2, site_id=phong_tho).status_code == 404
    # body problems, each with a clear message
    both = window(as_, now, 1, 2, site_id=phong_tho, board_id=BORDER_BOARD)
    assert both.status_code == 422
    assert "either site_id" in both.json()["detail"]
    backwards = window(as_, now, 2, 1, board_id=BORDER_BOARD)
    assert "ends_at must be after starts_at" in backwards.json()["detail"]
    too_long = window(as_, now, 0, 24, board_id=BORDER_BOARD, recurrence="daily")
    assert too_long.status_code == 422
    assert "shorter than its period" in too_long.json()["detail"]
    assert window(as_, now, 0, 1, board_id=BORDER_BOARD, recurrence="monthly").status_code == 422
    naive = as_("operator").post(
        URL,
        json={
            "board_id": BORDER_BOARD,
            "reason": "x",
            "starts_at": "2030-01-01T08:00:00",
            "ends_at": "2030-01-01T09:00:00",
        },
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "starts_at"
    over = window(as_, now, -3, -1, board_id=BORDER_BOARD)
    assert over.status_code == 400
    assert "already over" in over.json()["detail"]
    assert window(as_, now, -3, -1, board_id=BORDER_BOARD, recurrence="daily").status_code == 201
    assert len(changes(db_conn)) == 3


def test_who_sees_which_windows_and_list_filters(as_: Any, db_conn: Any, clock: Clock) -> None:
    now = clock.now
    ma_lu_thang = site_id(db_conn, "ma-lu-thang")
    board = window(as_, now, -1, 1, board_id=BORDER_BOARD).json()["id"]
    site = window(as_, now, 2, 3, site_id=ma_lu_thang).json()["id"]
    other_board = window(as_, now, 5, 6, board_id="lc-ma-lu-thang-02").json()["id"]
    daily = window(as_, now, -26, -23, site_id=site_id(db_conn, "mu-ca"), recurrence="daily")
    daily_id = daily.json()["id"]  # every day from 2 h ago to 1 h from now
    assert daily.json()["active"] is True
    district = window(as_, now, -1, 1, "district", site_id=site_id(db_conn, "phong-tho"))
    district_id = district.json()["id"]

    def ids(key: str = "operator", **params: Any) -> list[int]:
        response = as_(key).get(URL, params=params)
        assert response.status_code == 200, response.text
        return [w["id"] for w in response.json()["items"]]

    border = {board, site, other_board, daily_id}
    assert set(ids()) == border
    assert set(ids("viewer")) == border
    assert set(ids("technician")) == border  # their team's sites
    assert set(ids("district")) == {district_id}
    assert set(ids("admin")) == border | {district_id}
    assert set(ids("province")) == border | {district_id}
    assert as_("district").get(f"{URL}/{board}").status_code == 404
    assert as_("technician").get(f"{URL}/{board}").json()["reason"].startswith("Thay")

    assert set(ids(current="true")) == {board, daily_id}
    assert set(ids(current="false")) == {site, other_board}
    at = (now + timedelta(hours=2, minutes=30)).isoformat()
    assert set(ids(active_at=at)) == {site}
    assert ids(active_at=(now + timedelta(hours=23)).isoformat()) == [daily_id]
    assert set(ids(site_id=ma_lu_thang)) == {board, site, other_board}
    assert set(ids(board_id=BORDER_BOARD)) == {board, site}  # its own and its site's
    assert ids(recurrence="daily") == [daily_id]
    assert ids(sort="starts_at") == [daily_id, board, site, other_board]
    assert ids() == [other_board, site, board, daily_id]  # latest start first
    page = as_("operator").get(URL, params={"limit": 1, "offset": 1, "sort": "-ends_at"}).json()
    assert (page["total"], [w["id"] for w in page["items"]]) == (4, [site])
    assert as_("operator").get(URL, params={"sort": "reason"}).status_code == 400
    for params in ({"current": "soon"}, {"active_at": "yesterday"}, {"site_id": 0}):
        assert as_("operator").get(URL, params=params).status_code == 422, params


def test_ending_a_window_releases_what_it_held(as_: Any, db_conn: Any, clock: Clock) -> None:
    now = clock.now
    ma_lu_thang = site_id(db_conn, "ma-lu-thang")
    until = now + timedelta(hours=2)
    board_window = window(as_, now, -1, 2, board_id=BORDER_BOARD).json()["id"]
    site_window = window(as_, now, -1, 2, site_id=ma_lu_thang).json()["id"]
    held = held_notice(db_conn, now, ma_lu_thang, BORDER_BOARD, until)
    # the site's window still covers the board: nothing is released yet
    ended = as_("operator").post(f"{URL}/{board_window}/end")
    assert ended.status_code == 200, ended.text
    assert ended.json()["released_notifications"] == 0
    assert ended.json()["active"] is False
    assert datetime.fromisoformat(ended.json()["ends_at"]) == now
    assert available_at(db_conn, held) == until
    assert as_("technician").post(f"{URL}/{site_window}/end").status_code == 403
    assert as_("district").post(f"{URL}/{site_window}/end").status_code == 404
    clock.advance(60)
    last = as_("operator").post(f"{URL}/{site_window}/end")
    assert last.json()["released_notifications"] == 1
    assert available_at(db_conn, held) == clock.now
    again = as_("operator").post(f"{URL}/{site_window}/end")
    assert again.status_code == 409
    assert again.json()["detail"] == f"maintenance window {site_window} is already over"
    future = window(as_, clock.now, 1, 2, board_id=BORDER_BOARD).json()["id"]
    early = as_("operator").post(f"{URL}/{future}/end")
    assert early.status_code == 409
    assert "has not started yet; delete it" in early.json()["detail"]

    # a daily window between occurrences stops repeating: its last occurrence stays
    daily = window(as_, clock.now, -30, -27, site_id=ma_lu_thang, recurrence="daily").json()
    stopped = as_("operator").post(f"{URL}/{daily['id']}/end").json()
    assert stopped["recurrence"] == "none"
    assert datetime.fromisoformat(stopped["starts_at"]) == clock.now - timedelta(hours=6)
    assert datetime.fromisoformat(stopped["ends_at"]) == clock.now - timedelta(hours=3)
    row = db_conn.execute(
        "SELECT before, after, detail FROM audit_log WHERE action = 'maintenance.end'"
        " AND target_id = %s",
        (str(daily["id"]),),
    ).fetchone()
    assert (row[0]["recurrence"], row[1]["recurrence"]) == ("daily", "none")
    assert row[2] == "released 0 held notifications"
    assert [a for _, a in changes(db_conn)].count("maintenance.end") == 3


def test_deleting_a_window(as_: Any, db_conn: Any, clock: Clock) -> None:
    now = clock.now
    ma_lu_thang = site_id(db_conn, "ma-lu-thang")
    current = window(as_, now, -1, 2, site_id=ma_lu_thang).json()["id"]
    held = held_notice(db_conn, now, ma_lu_thang, None, now + timedelta(hours=2))
    assert as_("viewer").delete(f"{URL}/{current}").status_code == 403
    assert as_("district").delete(f"{URL}/{current}").status_code == 404
    since = max_audit(db_conn)
    deleted = as_("operator").delete(f"{URL}/{current}")
    assert deleted.status_code == 204
    assert available_at(db_conn, held) == now
    assert changes(db_conn, since) == [("van.hanh", "maintenance.delete")]
    row = db_conn.execute(
        "SELECT before, after, detail FROM audit_log WHERE action = 'maintenance.delete'"
    ).fetchone()
    assert row[0]["id"] == current
    assert row[1] is None
    assert row[2] == "released 1 held notifications"
    assert as_("operator").get(f"{URL}/{current}").status_code == 404
    assert as_("operator").delete(f"{URL}/{current}").status_code == 404
