"""``GET /metrics`` of the API: a page Prometheus can parse, the fleet state
read from PostgreSQL at scrape time, request latency by route template, and
one registry per app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.engine.service import Engine
from fleet_server.incidents import storage as incidents
from tests.server.api.conftest import Conn, api_settings, set_status
from tests.server.engine.conftest import Store
from tests.support.clock import Clock
from tests.support.metrics import Scrape, documented, parse

BOARD = "lc-ma-lu-thang-01"
ROUTE = "/api/v1/boards/{board_id}"
LOCAL = ("127.0.0.1", 50000)  # a scraper on this machine: no token needed (test_metrics_access)


def scrape(client: TestClient) -> Scrape:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def place(conn: Conn, board_id: str) -> dict[str, str]:
    row = conn.execute(
        "SELECT o.code, s.code FROM boards b JOIN sites s ON s.id = b.site_id"
        " JOIN organisations o ON o.id = s.organisation_id WHERE b.id = %s",
        (board_id,),
    ).fetchone()
    assert row is not None
    return {"organisation": row[0], "site": row[1]}


def test_the_page_has_every_family_the_api_serves(client: TestClient) -> None:
    client.get("/healthz")
    page = scrape(client)
    expected = {f.name for f in documented().values() if f.served_by == "api"}
    served = {n for n in page.families if n.startswith("fleet_") and not n.endswith("_created")}
    assert expected
    assert served == expected
    for family in documented().values():
        if family.served_by != "api":
            continue
        assert family.name in page.families, f"{family.name} missing from /metrics"
        exposed = page.families[family.name]
        assert exposed.type == family.type, family.name
        labels = {k for s in exposed.samples for k in s.labels} - {"le"}
        assert labels == family.labels, family.name
    assert page.value("fleet_database_up") == 1
    assert "process_cpu_seconds_total" in page.families
    assert "/metrics" not in client.get("/api/v1/openapi.json").json()["paths"]


def test_boards_by_state_are_read_at_scrape_time(client: TestClient, db_conn: Conn) -> None:
    where = place(db_conn, BOARD)
    boards = db_conn.execute("SELECT count(*) FROM boards").fetchone()
    before = scrape(client)
    assert before.total("fleet_boards", state="unknown") == boards[0]  # type: ignore[index]
    assert before.value("fleet_boards", **where, state="online") == 0
    assert before.label_values("fleet_boards", "state") == {
        "online",
        "offline",
        "lost",
        "stale",
        "unknown",
        "disabled",
    }

    set_status(db_conn, BOARD, "online", datetime.now(UTC))
    db_conn.execute("UPDATE boards SET enabled = false WHERE id = 'lc-sin-ho-01'")
    after = scrape(client)
    assert after.value("fleet_boards", **where, state="online") == 1
    assert after.total("fleet_boards", state="unknown") == boards[0] - 2  # type: ignore[index]
    assert after.value("fleet_boards", **place(db_conn, "lc-sin-ho-01"), state="disabled") == 1
    assert after.total("fleet_boards") == boards[0]  # type: ignore[index]


def test_an_incident_the_engine_opens_shows_at_the_next_scrape(
    client: TestClient, api_db: str, store: Store, clock: Clock, db_conn: Conn
) -> None:
    before = scrape(client)
    assert before.total("fleet_incidents_open") == 0
    assert before.label_values("fleet_incidents_open", "class") == {
        "technical",
        "security",
        "compliance",
    }
    store.state(BOARD, "online")
    store.state(BOARD, "lost")  # the board's last will
    Engine(api_db, clock=clock).evaluate(db_conn)
    [(incident_id, incident_class, severity)] = db_conn.execute(
        "SELECT id, class, severity FROM incidents WHERE state <> 'resolved'"
    ).fetchall()

    after = scrape(client)
    assert after.value("fleet_incidents_open", **{"class": incident_class}, severity=severity) == 1
    assert after.total("fleet_incidents_open") == 1
    assert after.value("fleet_boards", **place(db_conn, BOARD), state="lost") == 1

    with db_conn.transaction():
        incidents.resolve(db_conn, incident_id, clock(), actor="test")
    assert scrape(client).total("fleet_incidents_open") == 0


def test_outbox_depth_and_overdue_age(client: TestClient, db_conn: Conn) -> None:
    assert scrape(client).value("fleet_notification_outbox_depth", state="pending") == 0
    contact = db_conn.execute(
        "INSERT INTO contacts (name, email) VALUES ('Trực ban', 'tb@laichau.gov.vn') RETURNING id"
    ).fetchone()
    assert contact is not None
    now = datetime.now(UTC)
    for key, due in (("a", now - timedelta(minutes=20)), ("b", now + timedelta(hours=1))):
        db_conn.execute(
            "INSERT INTO notification_outbox (created_at, idempotency_key, kind, channel,"
            " contact_id, language, subject, body_text, payload, available_at, next_attempt_at)"
            " VALUES (%s, %s, 'incident_opened', 'email', %s, 'vi', 's', 'b', '{}', %s, %s)",
            (due, key, contact[0], due, due),
        )
    page = scrape(client)
    assert page.value("fleet_notification_outbox_depth", state="pending") == 2
    assert page.value("fleet_notification_outbox_depth", state="sending") == 0
    # only the row that fell due counts: 20 minutes, give or take the test's own time
    assert 1200 <= page.value("fleet_notification_outbox_oldest_due_seconds") < 1260


def test_request_latency_is_labelled_by_route_template(client: TestClient, as_: Any) -> None:
    admin = as_("admin")
    assert admin.get(f"/api/v1/boards/{BOARD}").status_code == 200
    assert admin.get("/api/v1/boards/lc-no-such-board").status_code == 404
    assert client.get("/no/such/page/4711").status_code == 404
    assert client.get("/static/console.css").status_code == 200
    page = scrape(client)
    count = "fleet_api_request_duration_seconds_count"
    assert page.value(count, method="GET", route=ROUTE, status_class="2xx") == 1
    assert page.value(count, method="GET", route=ROUTE, status_class="4xx") == 1
    assert page.value(count, method="GET", route="unmatched", status_class="4xx") == 1
    assert page.value(count, method="GET", route="/static/{path}", status_class="2xx") == 1
    assert page.value(count, method="POST", route="/api/v1/auth/token", status_class="2xx") == 1
    routes = page.label_values(count, "route")
    assert not any(BOARD in r or "4711" in r for r in routes), routes


def test_a_handler_that_raises_counts_as_5xx(app: FastAPI) -> None:
    @app.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False, client=LOCAL) as client:
        assert client.get("/test-only/boom").status_code == 500
        page = scrape(client)
    assert (
        page.value(
            "fleet_api_request_duration_seconds_count",
            method="GET",
            route="/test-only/boom",
            status_class="5xx",
        )
        == 1
    )


def test_two_apps_keep_their_own_metrics(api_db: str, clock: Clock) -> None:
    settings = api_settings(api_db)
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        first, second = (
            create_app(settings, clock=clock, pool=pool, broker_check=lambda: None)
            for _ in range(2)
        )
        assert first.state.metrics_registry is not second.state.metrics_registry
        with TestClient(first, client=LOCAL) as one, TestClient(second, client=LOCAL) as two:
            for _ in range(3):
                assert one.get("/healthz").status_code == 200
            count = "fleet_api_request_duration_seconds_count"
            labels = {"method": "GET", "route": "/healthz", "status_class": "2xx"}
            assert scrape(one).value(count, **labels) == 3
            assert scrape(two).total(count, route="/healthz") == 0
