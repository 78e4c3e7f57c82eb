"""Boards, sites and organisations: what each role sees, 404 outside scope,
filters, sorting, paging, and the board page's data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import fleet_protocol as fp
from fleet_server.organisations.schemas import SiteHealth
from tests.server.api.conftest import audit_actions, open_test_incident, set_status
from tests.server.engine.conftest import Store
from tests.support import seed
from tests.support.clock import Clock

BORDER = {
    "lc-ma-lu-thang-01",
    "lc-ma-lu-thang-02",
    "lc-u-ma-tu-khoong-01",
    "lc-u-ma-tu-khoong-02",
    "lc-pa-nam-cum-01",
    "lc-mu-ca-01",
}


def ids(page: dict[str, Any], key: str = "id") -> set[Any]:
    return {item[key] for item in page["items"]}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin", 14),
        ("province", 14),
        ("operator", 6),
        ("technician", 6),
        ("viewer", 6),
        ("district", 1),
    ],
)
def test_each_role_sees_its_boards(as_: Any, who: str, expected: int) -> None:
    page = as_(who).get("/api/v1/boards", params={"limit": 100}).json()
    assert page["total"] == expected
    assert len(page["items"]) == expected
    if who in ("operator", "technician", "viewer"):
        assert ids(page) == BORDER
    if who == "district":
        assert ids(page) == {"lc-phong-tho-01"}


def test_border_guard_has_no_board_list(as_: Any) -> None:
    response = as_("guard").get("/api/v1/boards")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "border_guard" in response.json()["detail"]


def test_border_guard_reads_no_connectivity_counts(as_: Any) -> None:
    """Sites, their health and the fleet's counts tell how the boards are
    doing: board data, which the Border Guard does not read (Điều 13.1.b)."""
    site = as_("operator").get("/api/v1/sites").json()["items"][0]["id"]
    for url in (
        "/api/v1/sites/health",
        f"/api/v1/sites/{site}",
        "/api/v1/fleet/summary",
        "/api/v1/sites",
        "/api/v1/organisations",
    ):
        response = as_("guard").get(url)
        assert response.status_code == 403, url
        assert "board.read" in response.json()["detail"], url
        assert as_("technician").get(url).status_code == 200, url


def test_organisations_count_only_what_the_caller_sees(as_: Any, db_conn: Any) -> None:
    """A site of another organisation given to an account does not tell it
    how many sites and boards that organisation has."""
    seed.user_site(db_conn, "phong.tho", seed.site_of_board(db_conn, "lc-mu-ca-01"))
    orgs = as_("district").get("/api/v1/organisations").json()["items"]
    bql = next(o for o in orgs if o["code"] == "bql-kkt")
    boards = db_conn.execute(
        "SELECT count(*) FROM boards WHERE site_id = (SELECT site_id FROM boards"
        " WHERE id = 'lc-mu-ca-01')"
    ).fetchone()[0]
    assert (bql["sites"], bql["boards"]) == (1, boards)
    everything = as_("admin").get("/api/v1/organisations", params={"limit": 100}).json()
    assert next(o for o in everything["items"] if o["code"] == "bql-kkt")["sites"] == 4


def test_another_organisations_board_is_404(as_: Any) -> None:
    response = as_("district").get("/api/v1/boards/lc-ma-lu-thang-01")
    assert response.status_code == 404
    assert response.json()["detail"] == "board lc-ma-lu-thang-01 not found"
    missing = as_("district").get("/api/v1/boards/no-such-board")
    assert missing.json()["detail"] == "board no-such-board not found"
    assert as_("operator").get("/api/v1/boards/lc-ma-lu-thang-01").status_code == 200


def test_filters_sort_and_paging(as_: Any, db_conn: Any, clock: Clock) -> None:
    set_status(db_conn, "lc-mu-ca-01", "offline", clock.now - timedelta(hours=1), "power")
    set_status(db_conn, "lc-pa-nam-cum-01", "online", clock.now - timedelta(hours=2))
    admin = as_("admin")
    offline = admin.get("/api/v1/boards", params={"state": "offline"}).json()
    assert ids(offline) == {"lc-mu-ca-01"}
    assert offline["items"][0]["state_reason"] == "power"
    unknown = admin.get("/api/v1/boards", params={"state": "unknown"}).json()
    assert unknown["total"] == 12
    found = admin.get("/api/v1/boards", params={"q": "ma-lu"}).json()
    assert ids(found) == {"lc-ma-lu-thang-01", "lc-ma-lu-thang-02"}
    # LIKE's wildcards in a search are the characters themselves.
    for wildcard in ("%", "_", "ma_lu"):
        assert admin.get("/api/v1/boards", params={"q": wildcard}).json()["items"] == []
    first = admin.get("/api/v1/boards", params={"limit": 5, "sort": "id"}).json()
    second = admin.get("/api/v1/boards", params={"limit": 5, "offset": 5, "sort": "id"}).json()
    assert first["total"] == second["total"] == 14
    assert [b["id"] for b in first["items"]] == sorted(b["id"] for b in first["items"])
    assert first["items"][-1]["id"] < second["items"][0]["id"]
    newest = admin.get("/api/v1/boards", params={"sort": "-state_since"}).json()
    assert newest["items"][0]["id"] == "lc-mu-ca-01"
    beyond = admin.get("/api/v1/boards", params={"offset": 100}).json()
    assert beyond["items"] == []
    assert beyond["total"] == 14


def test_bad_list_parameters_are_problems(as_: Any) -> None:
    admin = as_("admin")
    bad_sort = admin.get("/api/v1/boards", params={"sort": "password_hash"})
    assert bad_sort.status_code == 400
    assert "cannot sort by 'password_hash'" in bad_sort.json()["detail"]
    assert admin.get("/api/v1/boards", params={"limit": 0}).status_code == 422
    assert admin.get("/api/v1/boards", params={"state": "sleeping"}).status_code == 422
    assert admin.get("/api/v1/boards", params={"sort": "id;drop"}).status_code == 422


def test_board_page_data(as_: Any, store: Store, db_conn: Any, clock: Clock) -> None:
    board = "lc-ma-lu-thang-01"
    set_status(db_conn, board, "online", clock.now - timedelta(minutes=10))
    store.heartbeat(board)
    store.power(board, mains=False)
    store.reading(
        board,
        fp.TelemetryKind.CAMERA,
        fp.CameraData(
            cameras=[
                fp.CameraStatus(camera_id="cam1", reachable=True, rtsp_answered=True, status="ok"),
                fp.CameraStatus(
                    camera_id="cam2", reachable=False, rtsp_answered=False, status="timeout"
                ),
            ]
        ),
    )
    incident = open_test_incident(db_conn, board, "mains_lost")
    detail = as_("operator").get(f"/api/v1/boards/{board}").json()
    assert detail["state"] == "online"
    assert set(detail["latest"]) == {"heartbeat", "power", "camera"}
    assert detail["latest"]["power"]["data"]["on_battery"] is True
    assert [c["status"] for c in detail["camera_list"]] == ["ok", "timeout"]
    assert [i["id"] for i in detail["incidents"]] == [incident]
    assert detail["open_incidents"] == 1
    assert detail["history"][0]["state"] == "online"


def test_connectivity_history(as_: Any, db_conn: Any, clock: Clock) -> None:
    board = "lc-mu-ca-01"
    t0 = clock.now - timedelta(hours=30)
    set_status(db_conn, board, "online", t0)
    set_status(db_conn, board, "offline", t0 + timedelta(hours=10))
    set_status(db_conn, board, "online", t0 + timedelta(hours=12))
    since = (clock.now - timedelta(hours=24)).isoformat()
    changes = as_("viewer").get(
        f"/api/v1/boards/{board}/connectivity",
        params={"since": since, "until": clock.now.isoformat()},
    )
    assert changes.status_code == 200
    assert [c["state"] for c in changes.json()] == ["online", "offline", "online"]
    naive = as_("viewer").get(
        f"/api/v1/boards/{board}/connectivity",
        params={"since": "2026-01-01T00:00:00", "until": "2026-01-02T00:00:00"},
    )
    assert naive.status_code == 400
    assert "time zone" in naive.json()["detail"]


def test_board_patch_is_admin_only_and_audited(as_: Any, db_conn: Any) -> None:
    body = {"serial": "SN-0042", "installed_on": "2025-07-01"}
    assert as_("operator").patch("/api/v1/boards/lc-mu-ca-01", json=body).status_code == 403
    done = as_("admin").patch("/api/v1/boards/lc-mu-ca-01", json=body)
    assert done.status_code == 200
    assert done.json()["serial"] == "SN-0042"
    row = db_conn.execute(
        "SELECT actor, action, target_id, before, after FROM audit_log"
        " WHERE action = 'board.update'"
    ).fetchone()
    assert row[:3] == ("quan.tri", "board.update", "lc-mu-ca-01")
    assert row[3] == {"serial": None, "installed_on": "2025-06-01"}
    assert row[4] == {"serial": "SN-0042", "installed_on": "2025-07-01"}
    empty = as_("admin").patch("/api/v1/boards/lc-mu-ca-01", json={})
    assert empty.status_code == 400


def test_sites_and_health(as_: Any, db_conn: Any, clock: Clock) -> None:
    set_status(db_conn, "lc-mu-ca-01", "offline", clock.now)
    open_test_incident(db_conn, "lc-mu-ca-01", "board_offline", severity="critical")
    sites = as_("operator").get("/api/v1/sites").json()
    assert sites["total"] == 4
    health = as_("operator").get("/api/v1/sites/health").json()
    assert health[0]["code"] == "mu-ca"
    assert health[0]["health"] == "offline"
    assert health[0]["worst_severity"] == "critical"
    assert health[0]["open_incidents"] == 1
    summary = as_("operator").get("/api/v1/fleet/summary").json()
    assert summary["offline"] == 1
    assert summary["total"] == 6
    for url in ("/api/v1/sites", "/api/v1/sites/health", f"/api/v1/sites/{health[0]['id']}"):
        assert as_("guard").get(url).status_code == 403, url
    phong_tho = as_("district").get("/api/v1/sites").json()["items"][0]
    assert phong_tho["code"] == "phong-tho"
    mu_ca = health[0]["id"]
    assert as_("district").get(f"/api/v1/sites/{mu_ca}").status_code == 404
    assert as_("operator").get(f"/api/v1/sites/{mu_ca}").json()["health"]["offline"] == 1


@pytest.mark.parametrize("who", ["admin", "operator", "district", "technician", "viewer"])
def test_site_health_json_matches_the_models(
    as_: Any, db_conn: Any, clock: Clock, who: str
) -> None:
    """/sites/health is JSON made by PostgreSQL; the console and the site page
    build models from the same query. Both must say the same, in order."""
    set_status(db_conn, "lc-mu-ca-01", "offline", clock.now)
    set_status(db_conn, "lc-ma-lu-thang-01", "online", clock.now)
    set_status(db_conn, "lc-ma-lu-thang-02", "stale", clock.now)
    set_status(db_conn, "lc-phong-tho-01", "online", clock.now)
    open_test_incident(db_conn, "lc-pa-nam-cum-01", "camera_unreachable", severity="minor")
    client = as_(who)
    health = client.get("/api/v1/sites/health").json()
    assert health, who
    rank = {"offline": 0, "degraded": 1, "unknown": 2, "online": 3}
    keys = [(rank[h["health"]], -h["open_incidents"], h["name"]) for h in health]
    assert keys == sorted(keys)
    for item in health:
        assert set(item) == set(SiteHealth.model_fields)
        assert SiteHealth.model_validate(item).model_dump() == item
        page = client.get(f"/api/v1/sites/{item['id']}")
        if page.status_code == 200:  # a site page needs no more than the health list
            assert page.json()["health"] == item


def test_site_and_organisation_writes(as_: Any, db_conn: Any) -> None:
    orgs = as_("admin").get("/api/v1/organisations", params={"limit": 100}).json()
    assert orgs["total"] == 11
    own = as_("district").get("/api/v1/organisations").json()
    assert {o["code"] for o in own["items"]} == {"ubnd-phong-tho"}
    bql = next(o["id"] for o in orgs["items"] if o["code"] == "bql-kkt")
    body = {
        "code": "sin-suoi-ho",
        "organisation_id": bql,
        "name": "Điểm Sìn Suối Hồ",
        "kind": "other",
        "latitude": 22.4,
        "longitude": 103.3,
    }
    assert as_("operator").post("/api/v1/sites", json=body).status_code == 403
    created = as_("admin").post("/api/v1/sites", json=body)
    assert created.status_code == 201
    site = created.json()["id"]
    assert as_("admin").post("/api/v1/sites", json=body).status_code == 409
    bad_org = as_("admin").post(
        "/api/v1/sites", json={**body, "code": "other-site", "organisation_id": 999999}
    )
    assert bad_org.status_code == 400
    assert "organisation_id" in bad_org.json()["detail"]
    renamed = as_("admin").patch(f"/api/v1/sites/{site}", json={"name": "Sìn Suối Hồ"})
    assert renamed.json()["name"] == "Sìn Suối Hồ"
    made = as_("admin").post(
        "/api/v1/organisations", json={"code": "vnpt-lai-chau", "name": "VNPT Lai Châu"}
    )
    assert made.status_code == 201
    actions = [a for _, a in audit_actions(db_conn) if a != "login"]
    assert actions == ["site.create", "site.update", "organisation.create"]
