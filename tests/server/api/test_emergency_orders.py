"""/api/v1 emergency orders (Điều 8.2): only an admin records or revokes
one; every compliance reader sees them; each change is audited."""

from __future__ import annotations

from typing import Any

import psycopg

ORDER = {
    "authority": "UBND tỉnh Lai Châu",
    "document_number": "123/QĐ-UBND",
    "document_date": "2026-11-19",
    "summary": "Thông tin phòng chống bão số 9",
    "starts_at": "2026-11-20T06:00:00+07:00",
    "ends_at": "2026-11-20T19:00:00+07:00",
}


def _site(api_db: str) -> int:
    with psycopg.connect(api_db) as conn:
        row = conn.execute("SELECT id FROM sites ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    return int(row[0])


def test_an_admin_records_and_revokes_an_order(as_: Any, api_db: str) -> None:
    admin = as_("admin")
    site = _site(api_db)
    created = admin.post("/api/v1/emergency-orders", json={**ORDER, "site_ids": [site]})
    assert created.status_code == 201, created.text
    order: dict[str, Any] = created.json()
    assert (order["site_ids"], order["board_ids"], order["revoked_at"]) == ([site], [], None)
    listed = as_("operator").get("/api/v1/emergency-orders").json()
    assert [o["id"] for o in listed["items"]] == [order["id"]]
    in_force = admin.get(
        "/api/v1/emergency-orders", params={"in_force_at": "2026-11-21T00:00:00+07:00"}
    ).json()
    assert in_force["items"] == []
    revoked = admin.post(
        f"/api/v1/emergency-orders/{order['id']}/revoke", json={"reason": "sai số văn bản"}
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked_by"] == "quan.tri"
    again = admin.post(f"/api/v1/emergency-orders/{order['id']}/revoke", json={"reason": "x"})
    assert again.status_code == 409
    with psycopg.connect(api_db) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE target_type = 'emergency_order' ORDER BY id"
            )
        ]
    assert actions == ["emergency_order.create", "emergency_order.revoke"]


def test_only_an_admin_records_one(as_: Any, api_db: str) -> None:
    body = {**ORDER, "all_sites": True}
    for role in ("operator", "viewer", "technician", "guard", "province"):
        assert as_(role).post("/api/v1/emergency-orders", json=body).status_code == 403, role
    assert as_("guard").get("/api/v1/emergency-orders").status_code == 403


def test_an_order_must_say_where_when_and_by_whom(as_: Any, api_db: str) -> None:
    admin = as_("admin")
    nowhere = admin.post("/api/v1/emergency-orders", json=ORDER)
    assert nowhere.status_code == 422
    assert "sites or boards" in nowhere.json()["detail"]
    backwards = {**ORDER, "all_sites": True, "ends_at": "2026-11-20T05:00:00+07:00"}
    assert admin.post("/api/v1/emergency-orders", json=backwards).status_code == 422
    naive = {**ORDER, "all_sites": True, "starts_at": "2026-11-20T06:00:00"}
    assert admin.post("/api/v1/emergency-orders", json=naive).status_code == 422
    unknown = admin.post(
        "/api/v1/emergency-orders", json={**ORDER, "board_ids": ["lc-khong-co-01"]}
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "board_ids"
    too_long = {**ORDER, "all_sites": True, "ends_at": "2028-01-01T00:00:00+07:00"}
    assert admin.post("/api/v1/emergency-orders", json=too_long).status_code == 400
    assert admin.get("/api/v1/emergency-orders/999999").status_code == 404
