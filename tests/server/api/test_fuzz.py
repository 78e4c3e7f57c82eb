"""Property test of the whole API from its own OpenAPI document (schemathesis):
no generated request, valid or not, gets a 5xx, and every error is an RFC 9457
problem document (``application/problem+json`` with status, title, detail).

One pytest item per operation and role, collected from the schema as it is
when the tests run, so routes added later are fuzzed without touching this
file. Each role gets its own seeded database (boards with state, telemetry,
incidents, a ticket, a maintenance window) shared by all its operations; path
parameters are drawn half of the time from the ids that exist there, so the
fuzzer reaches real objects and not only 404s. Generation is derandomized
(the same cases every run) and bounded per operation.

Roles: the admin (province-wide, every capability), an operator (one
organisation's scope: writes pass the capability check and meet the scope
clauses) and the Border Guard (almost every route answers 403 or 404).
"""

from __future__ import annotations

import asyncio
import json
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from psycopg_pool import ConnectionPool
from schemathesis import GenerationMode

from fleet_server.api.app import API_PREFIX, create_app
from fleet_server.provisioning.memory import memory_backend
from fleet_server.settings import Settings
from fleet_server.simulator.seed import fleet_specs, seed, seed_contacts
from tests.server.api.conftest import (
    ACCOUNTS,
    PASSWORD,
    _seed_accounts,
    api_settings,
    open_test_incident,
    set_status,
    token_for,
)
from tests.support.postgres import DatabaseFactory

SCHEMA_PATH = f"{API_PREFIX}/openapi.json"
#: Role -> generated cases per operation, valid and invalid. The admin reaches
#: every handler's body; the operator meets the scope clauses on reads and
#: writes; the Border Guard is stopped by a capability check on most routes,
#: so a few cases each suffice there.
ROLES = {"admin": (10, 5), "operator": (6, 3), "guard": (4, 2)}

#: Operations not fuzzed, and why. Keep this list short: everything else in
#: the schema is fuzzed for every role.
EXCLUDED = {
    # Revokes the very bearer token the fuzzer sends: every later case would
    # be a 401. Logout is covered by tests/server/api/test_auth.py.
    "POST /api/v1/auth/logout": "revokes the fuzzer's own token",
}

#: Operations that answer the same whoever asks (no bearer token is read, or
#: only the caller's own account is): fuzzed once, as the admin. The two auth
#: ones verify an Argon2 hash per call, the slowest thing in this file.
ROLE_INDEPENDENT = {
    "POST /api/v1/auth/token",
    "POST /api/v1/auth/password",
    "GET /healthz",
    "GET /readyz",
}

PROBLEM_JSON = "application/problem+json"


#: Reads first and deletions last, so the objects a role's database starts
#: with are there for the detail routes.
METHODS = ("get", "post", "put", "patch", "delete")


def _operations() -> list[str]:
    """``METHOD /path`` of every operation in the schema, read from an app
    built without a database (the document does not need one)."""
    document = create_app(Settings(), console=False).openapi()
    found = [
        (METHODS.index(method), path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    ]
    return [f"{method.upper()} {path}" for _, path, method in sorted(found)]


OPERATIONS = _operations()


@dataclass
class Target:
    """One role's app, schema, token and the ids that exist in its database."""

    app: FastAPI
    schema: Any
    headers: dict[str, str]
    own_user_id: int
    known: dict[str, list[Any]] = field(default_factory=dict)


def _seed_objects(db_url: str, now: datetime) -> None:
    """Boards with a state and latest readings, incidents, a ticket and a
    maintenance window, so that detail routes have something to show."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        boards = [str(r[0]) for r in conn.execute("SELECT id FROM boards ORDER BY id")]
        for i, board in enumerate(boards):
            set_status(conn, board, ("online", "offline", "stale", "lost")[i % 4], now, "seed")
            conn.execute(
                "INSERT INTO board_latest (device_id, kind, boot, seq, measured_at, received_at,"
                " observed_at, data) VALUES (%s, 'camera', 1, 1, %s, %s, %s, %s)",
                (
                    board,
                    now,
                    now,
                    now,
                    json.dumps(
                        {"cameras": [{"camera_id": "cam1", "reachable": True, "status": "ok"}]}
                    ),
                ),
            )
            conn.execute(
                "INSERT INTO telemetry_heartbeat (device_id, boot, seq, measured_at, sent_at,"
                " received_at, replay, uptime_s, agent_version, cpu_percent, memory_percent,"
                " disk_percent, temperature_c, spool_pending, spool_dropped)"
                " SELECT %s, 1, g, t, t, t, false, g * 60, '0.1.0', 12.5, 40, 30, 45, 0, 0"
                " FROM generate_series(1, 60) g, LATERAL (SELECT %s - g * interval '1 min' AS t) x",
                (board, now),
            )
        for board, rule in (
            (boards[0], "board_offline"),
            (boards[1], "camera_unreachable"),
            (boards[2], "power_on_battery"),
        ):
            open_test_incident(conn, board, rule, now=now)
        site = conn.execute("SELECT site_id FROM boards WHERE id = %s", (boards[0],)).fetchone()
        assert site is not None
        conn.execute(
            "INSERT INTO tickets (board_id, site_id, kind, priority, state, title, due_at,"
            " created_by, created_at, updated_at) VALUES"
            " (%s, %s, 'corrective', 'high', 'open', 'Màn hình tắt', %s, 'quan.tri', %s, %s)",
            (boards[0], site[0], now + timedelta(days=1), now, now),
        )
        conn.execute(
            "INSERT INTO maintenance_windows (site_id, starts_at, ends_at, reason, created_by)"
            " VALUES (%s, %s, %s, 'Bảo dưỡng định kỳ', 'quan.tri')",
            (site[0], now - timedelta(hours=1), now + timedelta(hours=2)),
        )
        seed_contacts(conn)


#: Path parameter name -> the query listing the ids that exist.
KNOWN_IDS = {
    "board_id": "SELECT id FROM boards ORDER BY id",
    "site_id": "SELECT id FROM sites ORDER BY id",
    "organisation_id": "SELECT id FROM organisations ORDER BY id",
    "incident_id": "SELECT id FROM incidents ORDER BY id",
    "ticket_id": "SELECT id FROM tickets ORDER BY id",
    "window_id": "SELECT id FROM maintenance_windows ORDER BY id",
    "camera_id": "SELECT DISTINCT camera_id FROM cameras ORDER BY 1",
    "user_id": "SELECT id FROM users ORDER BY id",
    "contact_id": "SELECT id FROM contacts ORDER BY id",
    "route_id": "SELECT id FROM notification_routes ORDER BY id",
}


@pytest.fixture(scope="module")
def targets(
    db_factory: DatabaseFactory, password_hash: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Target]]:
    """Per role: a seeded database, the app on a fixed clock, a bearer token."""
    now = datetime.now(UTC).replace(microsecond=0)
    tmp_dir = tmp_path_factory.mktemp("fuzz-ca")
    made: dict[str, Target] = {}
    with_pools: list[tuple[str, ConnectionPool[Any]]] = []
    try:
        for role in ROLES:
            url = db_factory.create()
            with psycopg.connect(url) as conn:
                seed(conn, fleet_specs(14))
                _seed_accounts(conn, password_hash)
            _seed_objects(url, now)
            pool: ConnectionPool[Any] = ConnectionPool(url, min_size=1, max_size=4, open=True)
            with_pools.append((url, pool))
            # Provisioning against an in-memory broker admin (throw-away CA):
            # without one, board operations answer 503 by design.
            app = create_app(
                api_settings(url),
                clock=lambda: now,
                pool=pool,
                broker_check=lambda: None,
                provisioning=memory_backend(ca_dir=tmp_dir / role),
            )
            with TestClient(app, client=("127.0.0.1", 50000)) as client:
                headers = {"Authorization": f"Bearer {token_for(client, role)}"}
            known: dict[str, list[Any]] = {}
            with psycopg.connect(url) as conn:
                own = conn.execute(
                    "SELECT id FROM users WHERE username = %s", (ACCOUNTS[role].username,)
                ).fetchone()
                assert own is not None
                for name, query in KNOWN_IDS.items():
                    values = [r[0] for r in conn.execute(query)]
                    if name == "user_id":
                        values.remove(own[0])
                    known[name] = values
            schema = schemathesis.openapi.from_asgi(SCHEMA_PATH, app)
            made[role] = Target(
                app=app, schema=schema, headers=headers, own_user_id=int(own[0]), known=known
            )
        yield made
    finally:
        for url, pool in with_pools:
            pool.close()
            db_factory.drop(url)


def _problems(
    method: str, path: str, status: int, headers: dict[str, list[str]], body: bytes
) -> list[str]:
    """What is wrong with one response (empty: nothing)."""
    found: list[str] = []
    if status >= 500:
        found.append(f"server error {status}")
    if status >= 400:
        values = headers.get("content-type") or [""]
        content_type = str(values[0]).split(";")[0].strip()
        if content_type != PROBLEM_JSON:
            found.append(f"{status} answered as {content_type!r}, not {PROBLEM_JSON}")
        try:
            document = json.loads(body)
        except ValueError:
            found.append(f"{status} body is not JSON: {body[:200]!r}")
        else:
            if not isinstance(document, dict):
                found.append(f"{status} body is not an object")
            else:
                for key, kind in (("status", int), ("title", str), ("detail", str)):
                    if not isinstance(document.get(key), kind):
                        found.append(f"{status} problem without a {kind.__name__} {key!r}")
                if document.get("status") not in (None, status):
                    found.append(f"problem status {document.get('status')} != HTTP {status}")
    return [f"{method} {path}: {f}" for f in found]


def _with_known_ids(strategy: Any, target: Target) -> Any:
    """Cases whose ids (path and query parameters, fields of a JSON body)
    are, half of the time, ids that exist. Never the fuzzer's own account in
    a path: an admin route could end its token (its other routes are fair)."""
    known = target.known

    @st.composite
    def cases(draw: st.DrawFn) -> Any:
        case = draw(strategy)
        containers = [case.path_parameters, case.query]
        if isinstance(case.body, dict):
            containers.append(case.body)
        for container in containers:
            for name in list(container or {}):
                values = known.get(name)
                if values and draw(st.booleans()):
                    container[name] = draw(st.sampled_from(values))
        path = case.path_parameters or {}
        if path.get("user_id") == target.own_user_id:
            path["user_id"] = draw(st.sampled_from(known["user_id"]))
        return case

    return cases()


def _fuzz(target: Target, label: str, mode: GenerationMode, examples: int) -> None:
    operation = target.schema[label.split(" ", 1)[1]][label.split(" ", 1)[0]]
    strategy = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        strategy = _with_known_ids(strategy, target)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        try:
            response = case.call(headers=target.headers)
        except Exception as exc:
            trace = "".join(traceback.format_exception(exc))
            raise AssertionError(
                f"{label} raised (a 500 in production):\n{case.as_curl_command()}\n{trace}"
            ) from exc
        body = response.content or b""
        problems = _problems(
            case.method, case.formatted_path, response.status_code, response.headers, body
        )
        assert not problems, "\n".join([*problems, case.as_curl_command()])

    try:
        run()
    except Unsatisfiable:
        # Nothing in the operation can be made invalid (no parameters, no
        # body): the positive pass covered it.
        if mode is not GenerationMode.NEGATIVE:
            raise


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_error(targets: dict[str, Target], role: str, label: str) -> None:
    if label in EXCLUDED:
        pytest.skip(EXCLUDED[label])
    if label in ROLE_INDEPENDENT and role != "admin":
        pytest.skip("answers the same for every role: fuzzed as the admin")
    target = targets[role]
    positive, negative = ROLES[role]
    _fuzz(target, label, GenerationMode.POSITIVE, positive)
    _fuzz(target, label, GenerationMode.NEGATIVE, negative)
    # No case ended the fuzzer's session: later operations are still fuzzed
    # as this role, not answered 401.
    me = TestClient(target.app).get(f"{API_PREFIX}/auth/me", headers=target.headers)
    assert me.status_code == 200, f"{label} ended the {role} token: {me.text}"


# -- what the fuzzer found ------------------------------------------------------


def test_nul_in_a_query_parameter_is_a_validation_problem(as_: Any) -> None:
    """Found by the fuzzer: ``GET /boards?q=%00`` was a 500 (psycopg refuses
    to send a NUL in text)."""
    response = as_("admin").get("/api/v1/boards", params={"q": "a\x00b"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert "NUL" in response.json()["detail"]


def test_nul_in_a_body_is_a_validation_problem_and_changes_nothing(
    as_: Any, db_conn: psycopg.Connection[Any]
) -> None:
    """Found by the fuzzer: ``PATCH /boards/{id}`` with a NUL in the name was
    a 500. Now a 422, and the transaction is rolled back."""
    board = "lc-ma-lu-thang-01"
    before = db_conn.execute("SELECT name FROM boards WHERE id = %s", (board,)).fetchone()
    response = as_("admin").patch(f"/api/v1/boards/{board}", json={"name": "Bảng\x00tin"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["status"], problem["title"]) == (422, "Invalid request")
    after = db_conn.execute("SELECT name FROM boards WHERE id = %s", (board,)).fetchone()
    assert after == before


def test_more_concurrent_requests_than_worker_threads_all_get_answers(
    api_db: str, clock: Any
) -> None:
    """Found by bench/api.py: with more concurrent requests than AnyIO's 40
    worker threads, every thread blocked in ``pool.getconn()`` while the
    requests holding the connections waited for a thread; all of them ended
    in a PoolTimeout (500). Requests now queue for the pool on the event loop."""
    with ConnectionPool(api_db, min_size=1, max_size=2, timeout=5, open=True) as pool:
        app = create_app(api_settings(api_db), clock=clock, pool=pool, broker_check=lambda: None)

        async def main() -> list[int]:
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                login = await c.post(
                    f"{API_PREFIX}/auth/token",
                    data={"username": ACCOUNTS["admin"].username, "password": PASSWORD},
                )
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                responses = await asyncio.gather(
                    *[c.get(f"{API_PREFIX}/boards", headers=headers) for _ in range(60)]
                )
            return [r.status_code for r in responses]

        started = time.monotonic()
        # A loop of its own in a thread of its own: other tests (the browser
        # ones) may leave one running in this thread.
        with ThreadPoolExecutor(1) as executor:
            statuses = executor.submit(asyncio.run, main()).result()
    assert statuses == [200] * 60
    assert time.monotonic() - started < 4  # never waited out a pool timeout
