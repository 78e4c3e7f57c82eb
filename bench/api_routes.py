"""Which GET routes of the app the API benchmark measures (``bench/api.py``):
every API list and page and every console page is in a scenario
(``bench/api_scenarios.py``) or in :data:`EXCLUDED` with its reason, so a
new page cannot be forgotten (tests/bench/test_api_routes.py)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

#: GET routes no scenario requests, each with why.
EXCLUDED: dict[str, str] = {
    # the same-run baseline, measured before the scenarios
    "/healthz": "the baseline (measured first, under the same clients)",
    # health and monitoring, not a person's page
    "/readyz": "health: checks the database and the broker (a TCP connect)",
    "/metrics": "Prometheus scrape, not a user page",
    # API documentation and static files
    "/api/v1/openapi.json": "the schema document (generated once, cached by FastAPI)",
    "/api/v1/docs": "Swagger UI's page (static HTML)",
    "/api/v1/docs/assets": "Swagger UI's static files",
    "/static": "the console's static files (CSS, JS, map tiles)",
    # file downloads: bytes read from a table or the disk, no page
    "/api/v1/snapshots/{snapshot_id}.jpg": "file download (a JPEG)",
    "/api/v1/logs/{bundle_id}": "file download (a log bundle's text, audited)",
    "/api/v1/content/files/{sha256}": "file download (a content file)",
    "/api/v1/releases/files/{artifact}": "file download (an agent release)",
    "/api/v1/incidents/{incident_id}/photos/{photo_id}": "file download (a photo)",
    # exports: documents built on request, seconds by design
    "/api/v1/audit-log.csv": "export (CSV)",
    "/api/v1/reports/annual": "export (DOCX report)",
    "/api/v1/reports/period": "export (DOCX report)",
    "/api/v1/archive": "export (ZIP inspection archive)",
    "/reports/annual": "the console's redirect to the DOCX export",
    "/reports/period": "the console's redirect to the DOCX export",
    "/reports/archive": "the console's redirect to the ZIP export",
}


def get_routes(app: FastAPI) -> set[str]:
    """The path of every route answering GET (included routers and mounts too)."""
    found: set[str] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            found.add(route.path)
        elif "GET" in (context.methods or ()) and context.path:
            found.add(context.path)
    for route in app.routes:  # mounts are not always in the contexts
        if isinstance(route, Mount):
            found.add(route.path)
    return found


def uncovered(app: FastAPI, covered: set[str]) -> list[str]:
    """GET routes neither measured nor excluded."""
    return sorted(get_routes(app) - covered - set(EXCLUDED))


def stale_exclusions(app: FastAPI) -> list[str]:
    """Exclusions naming no GET route of the app (a route renamed or removed)."""
    return sorted(set(EXCLUDED) - get_routes(app))


def coverage_report(app: FastAPI, covered: set[str]) -> list[str]:
    """Lines the benchmark prints: what is measured, excluded and forgotten."""
    routes = get_routes(app)
    lines = [
        f"GET routes: {len(routes)}, measured {len(routes & covered)}, "
        f"excluded {len(routes & set(EXCLUDED))}"
    ]
    lines += [
        f"  NOT MEASURED (add a scenario or an exclusion): {p}" for p in uncovered(app, covered)
    ]
    lines += [f"  stale exclusion (no such route): {p}" for p in stale_exclusions(app)]
    lines += [f"  measured but not a route: {p}" for p in sorted(covered - routes)]
    return lines
