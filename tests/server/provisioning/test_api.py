"""The provisioning API: who may provision where, the one-time credentials,
the lifecycle routes, the CSV upload, and a 503 when the broker admin is
missing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.broker.dynsec import DynsecClient
from fleet_server.provisioning import ProvisioningBackend, dynsec_factory
from fleet_server.settings import Settings
from tests.server.api.conftest import (  # noqa: F401 - fixtures
    As,
    api_db,
    as_,
    client,
    clock,
    password_hash,
)
from tests.server.provisioning.conftest import dump, unique
from tests.support.clock import Clock
from tests.support.ports import free_port
from tests.support.secure_broker import SecureBroker

PROBLEM = "application/problem+json"


@pytest.fixture
def app(api_db: str, clock: Clock, backend: ProvisioningBackend) -> Iterator[FastAPI]:  # noqa: F811
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(
            Settings(database_url=api_db),
            clock=clock,
            pool=pool,
            broker_check=lambda: None,
            provisioning=backend,
            console=False,
        )


@pytest.fixture
def db_conn(api_db: str) -> Iterator[psycopg.Connection[Any]]:  # noqa: F811
    with psycopg.connect(api_db, autocommit=True) as conn:
        yield conn


def new_board(site: str = "ma-lu-thang", **extra: Any) -> dict[str, Any]:
    return {"id": unique("lc-api"), "site": site, "name": "Bảng tin mới", **extra}


def test_admin_and_operator_provision_and_the_password_is_shown_once(
    as_: Any,  # noqa: F811
    db_conn: psycopg.Connection[Any],
    broker: SecureBroker,
) -> None:
    passwords = []
    for who, site in (("admin", "phong-tho"), ("operator", "ma-lu-thang")):
        body = new_board(site, cameras=[{"camera_id": "cam1", "name": "Cổng"}])
        response = as_(who).post("/api/v1/boards", json=body)
        assert response.status_code == 201, response.text
        assert response.headers["cache-control"] == "no-store"
        out = response.json()
        assert out["board"]["id"] == body["id"]
        assert out["board"]["auth"] == "password"
        assert out["board"]["cameras"] == ["cam1"]
        creds = out["credentials"]
        assert f'device_id = "{body["id"]}"' in creds["agent_toml"]
        assert {f["name"]: f["mode"] for f in creds["files"]} == {
            "agent.toml": "0644",
            "ca.crt": "0644",
            "mqtt.pw": "0600",
        }
        passwords.append(creds["password"])
        probe = broker.probe(body["id"], body["id"], creds["password"])
        assert probe.connect().ok
        probe.close()
        again = as_(who).get(f"/api/v1/boards/{body['id']}")
        assert again.status_code == 200
        assert creds["password"] not in again.text
    text = dump(db_conn, "boards", "audit_log", "cameras")
    for password in passwords:
        assert password not in text
    actors = db_conn.execute(
        "SELECT actor FROM audit_log WHERE action = 'board.provision' ORDER BY id"
    ).fetchall()
    assert actors == [("quan.tri",), ("van.hanh",)]


def test_operator_cannot_touch_another_organisations_site_or_board(
    as_: Any,  # noqa: F811
    db_conn: psycopg.Connection[Any],
    admin: DynsecClient,
) -> None:
    body = new_board("phong-tho")  # run by the district committee, not bql-kkt
    response = as_("operator").post("/api/v1/boards", json=body)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["reason"] == "unknown_site"
    assert db_conn.execute("SELECT 1 FROM boards WHERE id = %s", (body["id"],)).fetchone() is None
    assert admin.get_client(body["id"]) is None
    for method, path in (
        ("post", "/api/v1/boards/lc-phong-tho-01/disable"),
        ("post", "/api/v1/boards/lc-phong-tho-01/rotate-credentials"),
        ("delete", "/api/v1/boards/lc-phong-tho-01"),
    ):
        refused = getattr(as_("operator"), method)(path)
        assert refused.status_code == 404, (path, refused.text)
        assert refused.json()["detail"] == "board lc-phong-tho-01 not found"
    assert db_conn.execute(
        "SELECT enabled, removed_at FROM boards WHERE id = 'lc-phong-tho-01'"
    ).fetchone() == (True, None)


@pytest.mark.parametrize("who", ["viewer", "technician", "guard"])
def test_roles_without_board_provision_get_403(who: str, as_: Any) -> None:  # noqa: F811
    assert as_(who).post("/api/v1/boards", json=new_board()).status_code == 403
    assert as_(who).post("/api/v1/boards/lc-ma-lu-thang-01/disable").status_code == 403
    upload = as_(who).client.post(
        "/api/v1/boards/import",
        content=b"board_id,site,name\n",
        headers={**as_(who).headers, "content-type": "text/csv"},
    )
    assert upload.status_code == 403


def test_disable_enable_rotate_and_remove(
    as_: Any,  # noqa: F811
    db_conn: psycopg.Connection[Any],
    broker: SecureBroker,
    admin: DynsecClient,
) -> None:
    operator: As = as_("operator")
    body = new_board()
    board_id = body["id"]
    password = operator.post("/api/v1/boards", json=body).json()["credentials"]["password"]
    online = broker.probe(board_id, board_id, password)
    assert online.connect().ok

    disabled = operator.post(f"/api/v1/boards/{board_id}/disable")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["board"]["enabled"] is False
    online.wait_disconnected()
    assert not broker.probe(board_id, board_id, password).connect().ok

    assert operator.post(f"/api/v1/boards/{board_id}/enable").status_code == 200
    rotated = operator.post(f"/api/v1/boards/{board_id}/rotate-credentials")
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    new = rotated.json()["credentials"]["password"]
    assert new != password
    assert not broker.probe(board_id, board_id, password).connect().ok
    fresh = broker.probe(board_id, board_id, new)
    assert fresh.connect().ok

    removed = operator.delete(f"/api/v1/boards/{board_id}")
    assert removed.status_code == 200, removed.text
    fresh.wait_disconnected()
    assert admin.get_client(board_id) is None
    kept = operator.get(f"/api/v1/boards/{board_id}")
    assert kept.status_code == 200
    assert kept.json()["enabled"] is False
    again = operator.post(f"/api/v1/boards/{board_id}/enable")
    assert (again.status_code, again.json()["reason"]) == (409, "removed")
    actions = db_conn.execute(
        "SELECT action, actor FROM audit_log WHERE target_id = %s ORDER BY id", (board_id,)
    ).fetchall()
    assert actions == [
        ("board.provision", "van.hanh"),
        ("board.disable", "van.hanh"),
        ("board.enable", "van.hanh"),
        ("board.rotate_credentials", "van.hanh"),
        ("board.remove", "van.hanh"),
    ]
    assert new not in dump(db_conn, "boards", "audit_log")


def test_csv_import_upload_reports_every_row(
    as_: Any,  # noqa: F811
    admin: DynsecClient,
) -> None:
    good, other = unique("lc-up"), unique("lc-up")
    text = (
        "board_id,site,name,auth\n"
        f"{good},ma-lu-thang,Bảng 1,certificate\n"
        f"{other},phong-tho,Bảng 2,\n"  # another organisation's site
    )
    operator = as_("operator")
    multipart = operator.post(
        "/api/v1/boards/import", files={"file": ("boards.csv", text.encode(), "text/csv")}
    )
    assert multipart.status_code == 200, multipart.text
    report = multipart.json()
    assert (report["provisioned"], report["failed"]) == (1, 1)
    first, second = report["rows"]
    assert (first["line"], first["ok"], first["board"]["auth"]) == (2, True, "certificate")
    assert "PRIVATE KEY" in first["credentials"]["private_key_pem"]
    assert (second["line"], second["ok"], second["reason"]) == (3, False, "unknown_site")
    assert second["credentials"] is None
    assert admin.get_client(good) is not None
    assert admin.get_client(other) is None
    plain = operator.client.post(
        "/api/v1/boards/import",
        content=f"board_id,site,name\n{good},ma-lu-thang,Trùng\n".encode(),
        headers={**operator.headers, "content-type": "text/csv"},
    )
    assert plain.status_code == 200
    assert plain.json()["rows"][0]["reason"] == "duplicate"
    bad = operator.client.post(
        "/api/v1/boards/import",
        content=b"id,where\n",
        headers={**operator.headers, "content-type": "text/csv"},
    )
    assert bad.status_code == 400
    assert "missing column(s)" in bad.json()["detail"]
    wrong = operator.post("/api/v1/boards/import", json={"rows": []})
    assert wrong.status_code == 415


def test_without_a_broker_admin_provisioning_is_a_503(
    api_db: str,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    with ConnectionPool(api_db, min_size=1, max_size=2, open=True) as pool:
        app = create_app(
            Settings(database_url=api_db), clock=clock, pool=pool, broker_check=lambda: None
        )
        with TestClient(app, client=("127.0.0.1", 50000)) as test_client:
            admin = As(test_client, "admin")
            response = admin.post("/api/v1/boards", json=new_board())
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith(PROBLEM)
            problem = response.json()
            assert problem["reason"] == "not_configured"
            assert "FLEET_BROKER_ADMIN_URL" in problem["detail"]
            # Bad input is still named as such.
            unknown = admin.post("/api/v1/boards", json=new_board("no-such-site"))
            assert unknown.status_code == 404
            disable = admin.post("/api/v1/boards/lc-ma-lu-thang-01/disable")
            assert disable.status_code == 503
        with psycopg.connect(api_db) as conn:
            assert conn.execute(
                "SELECT count(*) FROM boards WHERE id LIKE 'lc-api-%%'"
            ).fetchone() == (0,)
            assert conn.execute(
                "SELECT enabled FROM boards WHERE id = 'lc-ma-lu-thang-01'"
            ).fetchone() == (True,)


def test_an_unreachable_broker_is_a_503_and_changes_nothing(
    api_db: str,  # noqa: F811
    clock: Clock,  # noqa: F811
    broker: SecureBroker,
) -> None:
    nowhere = f"mqtts://fleet-admin@127.0.0.1:{free_port()}"
    backend = ProvisioningBackend(
        dynsec_factory(nowhere, password="x" * 20, ca_file=broker.ca_file, timeout=2),
        password_url=broker.tls_url,
    )
    with ConnectionPool(api_db, min_size=1, max_size=2, open=True) as pool:
        app = create_app(
            Settings(database_url=api_db),
            clock=clock,
            pool=pool,
            broker_check=lambda: None,
            provisioning=backend,
            console=False,
        )
        with TestClient(app, client=("127.0.0.1", 50000)) as test_client:
            body = new_board()
            response = As(test_client, "admin").post("/api/v1/boards", json=body)
    assert response.status_code == 503, response.text
    assert response.json()["reason"] == "broker_unavailable"
    assert "cannot reach the broker" in response.json()["detail"]
    with psycopg.connect(api_db) as conn:
        assert conn.execute("SELECT 1 FROM boards WHERE id = %s", (body["id"],)).fetchone() is None
        assert conn.execute(
            "SELECT count(*) FROM audit_log WHERE action LIKE 'board.%%'"
        ).fetchone() == (0,)


def test_an_id_taken_outside_the_callers_sites_reveals_nothing(
    as_: Any,  # noqa: F811
    db_conn: psycopg.Connection[Any],
) -> None:
    """Board ids are one namespace (broker account names): an id a board of
    another organisation has is refused exactly as a reserved name is (same
    status, same body but the id), never "exists"; the caller's own boards
    still get 409 with what it is."""
    db_conn.execute(
        "UPDATE boards SET enabled = false, removed_at = now() WHERE id = 'lc-ma-lu-thang-02'"
    )
    district = as_("district")  # ubnd-phong-tho: sees none of bql-kkt's boards

    def refusal(board_id: str) -> tuple[int, dict[str, Any]]:
        answer = district.post("/api/v1/boards", json={**new_board("phong-tho"), "id": board_id})
        body = answer.json()
        body["detail"] = body["detail"].replace(board_id, "<id>")
        return answer.status_code, body

    reserved = refusal("fleet-admin")
    assert reserved[0] == 422
    assert reserved[1]["reason"] == "bad_id"
    assert refusal("lc-ma-lu-thang-01") == reserved  # another organisation's board
    assert refusal("lc-ma-lu-thang-02") == reserved  # ... removed
    for board_id in ("lc-ma-lu-thang-01", "lc-ma-lu-thang-02"):
        own = as_("operator").post("/api/v1/boards", json={**new_board(), "id": board_id})
        assert (own.status_code, own.json()["reason"]) == (409, "duplicate")
        assert board_id in own.json()["detail"]
    assert "removed on" in own.json()["detail"]
    taken = db_conn.execute(
        "SELECT count(*) FROM boards WHERE id IN ('lc-ma-lu-thang-01', 'lc-ma-lu-thang-02')"
        " AND site_id = (SELECT id FROM sites WHERE code = 'ma-lu-thang')"
    ).fetchone()
    assert taken is not None
    assert taken[0] == 2
