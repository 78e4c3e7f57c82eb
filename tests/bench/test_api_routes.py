"""The API benchmark measures every GET route of the app (bench/api_routes.py):
each API list and page and each console page is in a scenario of
bench/api_scenarios.py or in the commented exclusions, and a list walks its
next pages by ``next_cursor`` (or a console page's cursor link)."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI

from bench.api_load import next_page
from bench.api_routes import EXCLUDED, get_routes, stale_exclusions, uncovered
from bench.api_scenarios import Ids, Scenario, covered_routes, scenarios
from fleet_server.api.app import create_app
from fleet_server.settings import Settings


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings())


def some_ids() -> Ids:
    return Ids(
        organisation_id=2,
        boards=["lc-bg-0001-01"],
        sites=[1],
        cameras=[("lc-bg-0001-01", "cam1")],
        incidents=[1],
        tickets=[1],
        bundles=[("lc-bg-0001-01", 1)],
        totals={"incidents": 20_000, "tickets": 10, "boards": 100, "audit": 5},
    )


def all_scenarios() -> list[Scenario]:
    return scenarios({"admin": some_ids(), "operator": some_ids()}, console=True)


def test_every_get_route_is_measured_or_excluded_with_a_reason(app: FastAPI) -> None:
    assert uncovered(app, covered_routes(all_scenarios())) == []
    assert all(reason.strip() for reason in EXCLUDED.values())


def test_every_exclusion_and_every_measured_route_is_a_route_of_the_app(app: FastAPI) -> None:
    assert stale_exclusions(app) == []
    assert covered_routes(all_scenarios()) <= get_routes(app)


def test_a_route_in_no_scenario_is_reported(app: FastAPI) -> None:
    trimmed = [
        Scenario(s.name, s.role, s.console, [e for e in s.endpoints if e.route != "/notices"])
        for s in all_scenarios()
    ]
    assert uncovered(app, covered_routes(trimmed)) == ["/notices"]


def test_the_routes_include_the_api_lists_console_pages_and_mounts(app: FastAPI) -> None:
    routes = get_routes(app)
    assert {"/api/v1/incidents", "/incidents", "/admin/users", "/static"} <= routes
    assert "/api/v1/auth/token" not in routes  # POST only


def test_deep_offsets_stay_within_ten_thousand() -> None:
    import random  # noqa: PLC0415

    rng = random.Random(1)
    deep = [
        e
        for s in all_scenarios()
        for e in s.endpoints
        if e.route == "/api/v1/incidents" and "offset" in e.variant
    ]
    offsets = {int(deep[0].make(rng).rsplit("offset=", 1)[1]) for _ in range(200)}
    assert max(offsets) <= 10_000 - 50
    assert min(offsets) >= 0


def test_next_page_follows_next_cursor_and_drops_the_offset() -> None:
    body = json.dumps({"items": [], "next_cursor": "abc=="}).encode()
    path = next_page("/api/v1/incidents?state=open&offset=50", body)
    assert path == "/api/v1/incidents?state=open&cursor=abc%3D%3D"
    assert next_page("/api/v1/incidents", json.dumps({"next_cursor": None}).encode()) is None
    assert next_page("/api/v1/incidents", json.dumps({"items": []}).encode()) is None


def test_next_page_follows_a_console_cursor_link() -> None:
    page = b'<a href="/incidents?state=all&amp;cursor=xyz">next</a>'
    assert next_page("/incidents", page) == "/incidents?state=all&cursor=xyz"
    assert next_page("/incidents", b"<p>no more</p>") is None
