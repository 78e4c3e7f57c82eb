"""The lock-out is per (user name, address): no "account locked" oracle for
the names that exist, and a stranger cannot lock the administrator out."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleet_server.users.service_logins import _dummy_hash
from tests.server.api.conftest import PASSWORD

ATTACKER = ("203.0.113.66", 40000)
DESK = ("10.20.0.5", 40000)


def login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


@pytest.fixture
def attacker(app: FastAPI) -> Any:
    with TestClient(app, client=ATTACKER) as client:
        yield client


@pytest.fixture
def desk(app: FastAPI) -> Any:
    with TestClient(app, client=DESK) as client:
        yield client


def test_a_stranger_cannot_lock_the_admin_out(attacker: TestClient, desk: TestClient) -> None:
    for _ in range(6):
        login(attacker, "quan.tri", "doan-mat-khau-1")
    assert login(attacker, "quan.tri", PASSWORD).status_code == 429
    assert login(desk, "quan.tri", PASSWORD).status_code == 200


def test_known_and_unknown_names_get_the_same_answers(attacker: TestClient) -> None:
    def answers(name: str) -> list[tuple[int, str, str | None]]:
        out = []
        for _ in range(7):
            r = login(attacker, name, "doan-mat-khau-1")
            out.append((r.status_code, r.json()["detail"], r.headers.get("retry-after")))
        return out

    assert answers("quan.tri") == answers("khong.ton.tai")
    assert answers("xem")[-1][0] == 429


def test_an_unknown_name_costs_a_real_argon2_verification(attacker: TestClient) -> None:
    # the dummy hash has argon2-cffi's default (production) parameters
    assert _dummy_hash().startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    started = time.perf_counter()
    assert login(attacker, "khong.ton.tai", "doan-mat-khau-1").status_code == 401
    assert time.perf_counter() - started > 0.01  # an Argon2 verification, not a lookup


def test_an_admin_lifts_the_lock(attacker: TestClient, as_: Any, db_conn: Any) -> None:
    for _ in range(5):
        login(attacker, "xem", "doan-mat-khau-1")
    assert login(attacker, "xem", PASSWORD).status_code == 429
    viewer = db_conn.execute("SELECT id FROM users WHERE username = 'xem'").fetchone()[0]
    assert as_("admin").post(f"/api/v1/users/{viewer}/unlock").status_code == 200
    assert login(attacker, "xem", PASSWORD).status_code == 200


def test_changing_to_a_common_password_is_refused(as_: Any) -> None:
    answer = as_("operator").post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "password1234"},
    )
    assert answer.status_code == 400
    assert "a common password" in answer.json()["detail"]
