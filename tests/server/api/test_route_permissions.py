"""Every route of the app against the role tables of docs/api.md.

The capability each route checks is read from the route itself (the
dependencies ``deps.require`` and the console's ``page_for``/``form_for``
register what they check: ``scope.required_by``). It must be the one the
endpoint table of docs/api.md gives (API) or :data:`CONSOLE` gives (pages), a
new route must appear there, and the role table of docs/api.md must be
``CAPABILITIES``. Then every role, and nobody at all, is sent to every route:
a role without the capability gets 403, a caller without a session 401 (or
the login form), and a role with it is let through on every read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from fleet_server.access.roles import CAPABILITIES, ROLES
from fleet_server.api.app import create_app
from fleet_server.api.console import i18n
from fleet_server.api.deps import current_principal
from fleet_server.api.guards import required_by
from fleet_server.settings import Settings
from tests.server.api.conftest import ACCOUNTS, token_for
from tests.server.api.console.conftest import sign_in

DOCS = Path(__file__).parents[3] / "docs" / "api.md"
PUBLIC = "public"
SIGNED_IN = "signed in"
Requirement = str | frozenset[str]

#: The console's routes and what each needs (docs/console.md, "Pages").
CONSOLE: dict[str, Requirement] = {
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": SIGNED_IN,
    "GET /account/notifications": SIGNED_IN,
    "POST /account/notifications": SIGNED_IN,
    # Without board.read (the Border Guard): a redirect to /cameras.
    "GET /": SIGNED_IN,
    "GET /sites/{site_id}": frozenset({"board.read"}),
    "GET /boards/{board_id}": frozenset({"board.read"}),
    "POST /boards/{board_id}/commands": frozenset({"command.send"}),
    "POST /boards/{board_id}/pictures": frozenset({"command.send"}),
    "POST /boards/{board_id}/pictures/{snapshot_id}/reference": frozenset({"command.send"}),
    "POST /boards/{board_id}/kill-switch": frozenset({"board.halt"}),
    "POST /boards/{board_id}/logs": frozenset({"command.send"}),
    "POST /boards/{board_id}/tags": frozenset({"org.write"}),
    "GET /data-usage": frozenset({"telemetry.read"}),
    "POST /data-budgets": frozenset({"command.send"}),
    "GET /boards/{board_id}/logs/{bundle_id}": frozenset({"diagnostics.read"}),
    "GET /incidents": frozenset({"incident.read", "board.read"}),
    "GET /incidents/{incident_id}": frozenset({"incident.read"}),
    "POST /incidents/{incident_id}/acknowledge": frozenset({"incident.write"}),
    "POST /incidents/{incident_id}/resolve": frozenset({"incident.write"}),
    "POST /incidents/{incident_id}/comment": frozenset({"incident.comment"}),
    "GET /incidents/report": frozenset({"incident.report"}),
    "POST /incidents/report": frozenset({"incident.report"}),
    "POST /incidents/{incident_id}/photos": frozenset({"incident.report"}),
    "GET /tickets": frozenset({"ticket.read"}),
    "GET /tickets/{ticket_id}": frozenset({"ticket.read"}),
    "GET /notices": frozenset({"notice.read"}),
    "POST /tickets/{ticket_id}/assign": frozenset({"ticket.work"}),
    "POST /tickets/{ticket_id}/transition": frozenset({"ticket.work"}),
    "POST /tickets/{ticket_id}/comment": frozenset({"ticket.comment"}),
    "POST /tickets/{ticket_id}/cost": frozenset({"ticket.cost"}),
    "GET /tickets/new": frozenset({"ticket.write"}),
    # The place pickers' suggestions: any signed-in reader, within their scope.
    "GET /search/places": SIGNED_IN,
    "POST /tickets/new": frozenset({"ticket.write"}),
    "GET /maintenance": frozenset({"maintenance.read"}),
    "POST /maintenance": frozenset({"maintenance.write"}),
    "POST /maintenance/{window_id}/end": frozenset({"maintenance.write"}),
    "POST /maintenance/{window_id}/delete": frozenset({"maintenance.write"}),
    "GET /maintenance/preventive": frozenset({"maintenance.read"}),
    "POST /maintenance/preventive": frozenset({"maintenance.write"}),
    "POST /maintenance/preventive/{schedule_id}": frozenset({"maintenance.write"}),
    "POST /maintenance/preventive/{schedule_id}/delete": frozenset({"maintenance.write"}),
    "GET /rules": frozenset({"rule.read"}),
    "POST /rules": frozenset({"rule.write"}),
    "POST /rules/overrides/{override_id}/clear": frozenset({"rule.write"}),
    "GET /cameras": frozenset({"camera.read"}),
    "GET /audit": frozenset({"audit.read"}),
    "GET /releases": frozenset({"release.manage"}),
    "POST /releases/rollouts": frozenset({"release.manage"}),
    "GET /rollouts/{rollout_id}": frozenset({"release.manage"}),
    "POST /rollouts/{rollout_id}/pause": frozenset({"release.manage"}),
    "POST /rollouts/{rollout_id}/resume": frozenset({"release.manage"}),
    "POST /rollouts/{rollout_id}/abort": frozenset({"release.manage"}),
    "GET /live/overview": frozenset({"board.read"}),
    "GET /live/boards/{board_id}": frozenset({"board.read"}),
    "GET /live/incidents": frozenset({"incident.read", "board.read"}),
    "GET /live/incidents/{incident_id}": frozenset({"incident.read"}),
    "GET /live/cameras": frozenset({"camera.read"}),
    "GET /content": frozenset({"content.read"}),
    "GET /content/submissions": frozenset({"content.submit"}),
    "POST /content/submissions": frozenset({"content.submit"}),
    "GET /content/submissions/{submission_id}": frozenset({"content.submit"}),
    "POST /content/submissions/{submission_id}/appraise": frozenset({"content.appraise"}),
    "POST /content/submissions/{submission_id}/return": frozenset({"content.appraise"}),
    "POST /content/submissions/{submission_id}/resubmit": frozenset({"content.submit"}),
    "POST /content/submissions/{submission_id}/approve": frozenset({"content.approve"}),
    "POST /content/submissions/{submission_id}/retire": frozenset({"content.approve"}),
    "GET /content/suppliers": frozenset({"content.read"}),
    "POST /content/suppliers": frozenset({"content.approve"}),
    "POST /sites/{site_id}/broadcast-windows": frozenset({"broadcast_window.write"}),
    "POST /boards/{board_id}/broadcast-windows": frozenset({"broadcast_window.write"}),
    "GET /reports": frozenset({"compliance.read"}),
    "GET /reports/annual": frozenset({"report.read"}),
    "GET /reports/period": frozenset({"report.read"}),
    "GET /reports/budget": frozenset({"report.read"}),
    "POST /reports/budget": frozenset({"report.budget"}),
    "GET /reports/archive": frozenset({"compliance.read"}),
    "POST /reports/emergency-orders": frozenset({"emergency_order.write"}),
    "POST /reports/emergency-orders/{order_id}/revoke": frozenset({"emergency_order.write"}),
    # administration (docs/console.md): contacts, routes, accounts, provisioning
    "GET /admin/contacts": frozenset({"route.read"}),
    "GET /admin/contacts/{contact_id}": frozenset({"route.read"}),
    "POST /admin/contacts": frozenset({"route.write"}),
    "POST /admin/contacts/{contact_id}": frozenset({"route.write"}),
    "POST /admin/contacts/{contact_id}/active": frozenset({"route.write"}),
    "POST /admin/contacts/{contact_id}/delete": frozenset({"route.write"}),
    "GET /admin/routes": frozenset({"route.read"}),
    "GET /admin/routes/{route_id}": frozenset({"route.read"}),
    "POST /admin/routes": frozenset({"route.write"}),
    "POST /admin/routes/{route_id}": frozenset({"route.write"}),
    "POST /admin/routes/{route_id}/active": frozenset({"route.write"}),
    "POST /admin/routes/{route_id}/delete": frozenset({"route.write"}),
    "GET /admin/users": frozenset({"user.admin"}),
    "GET /admin/users/{user_id}": frozenset({"user.admin"}),
    "POST /admin/users": frozenset({"user.admin"}),
    "POST /admin/users/{user_id}": frozenset({"user.admin"}),
    "POST /admin/users/{user_id}/active": frozenset({"user.admin"}),
    "POST /admin/users/{user_id}/password": frozenset({"user.admin"}),
    "POST /admin/users/{user_id}/unlock": frozenset({"user.admin"}),
    "GET /admin/boards": frozenset({"board.provision"}),
    "GET /admin/boards/{board_id}": frozenset({"board.provision"}),
    "POST /admin/boards": frozenset({"board.provision"}),
    "POST /admin/boards/import": frozenset({"board.provision"}),
    "POST /admin/boards/{board_id}/rotate": frozenset({"board.provision"}),
    "POST /admin/boards/{board_id}/disable": frozenset({"board.provision"}),
    "POST /admin/boards/{board_id}/enable": frozenset({"board.provision"}),
    "POST /admin/boards/{board_id}/remove": frozenset({"board.provision"}),
}

#: Routes with a guard of their own, outside this table.
OWN_GUARD = {
    "GET /metrics": "Prometheus scrape; docs/metrics.md",
    "GET /api/v1/docs": "the OpenAPI browser (the document is public)",
    "POST /api/v1/notifications/sms/delivery-reports": "the SMS gateway's shared secret",
}

#: Values for path parameters: ids that exist in the seeded fleet.
PATH_VALUES = {
    "board_id": "lc-ma-lu-thang-01",
    "camera_id": "cam1",
    "kind": "heartbeat",
    "request_id": "00000000-0000-0000-0000-000000000000",
}


def _api_table() -> dict[str, Requirement]:
    """``METHOD path`` -> requirement, from the endpoint table of docs/api.md."""
    table: dict[str, Requirement] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\| `([A-Z]+ /[^`]*)` \| ([^|]+) \|", line)
        if not found:
            continue
        cell = found.group(2).strip()
        if cell == "–":
            table[found.group(1)] = PUBLIC
        elif cell == "any":
            table[found.group(1)] = SIGNED_IN
        else:
            table[found.group(1)] = frozenset(re.findall(r"`([a-z_.]+)`", cell))
    return table


def _role_table() -> dict[str, frozenset[str]]:
    """role -> capabilities, from the "Capabilities per role" table of docs/api.md."""
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| capability |"))
    roles = [c.strip().strip("`") for c in lines[header].strip("|").split("|")][1:]
    table: dict[str, set[str]] = {role: set() for role in roles}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        for role, cell in zip(roles, cells[1:], strict=True):
            if cell == "✓":
                table[role].add(cells[0].strip("`"))
    return {role: frozenset(caps) for role, caps in table.items()}


def _walk(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _walk(dependency)


def requirement_of(route: APIRoute) -> Requirement:
    """What the route checks, read from its dependencies."""
    calls = list(_walk(route.dependant))
    needed: set[str] = set()
    for call in calls:
        needed |= required_by(call) or frozenset()
    if needed:
        return frozenset(needed)
    signed_in = any(
        call is current_principal or getattr(call, "__name__", "") == "_signed_in" for call in calls
    )
    return SIGNED_IN if signed_in else PUBLIC


def routes(app: FastAPI) -> dict[str, APIRoute]:
    """``METHOD path`` -> route, for every route of the app (included routers too)."""
    found: dict[str, APIRoute] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(context.methods or ()):
            found[f"{method} {context.path}"] = route
    return found


ALL_ROUTES = routes(create_app(Settings()))


def expected(key: str) -> Requirement:
    return CONSOLE[key] if key in CONSOLE else _api_table()[key]


def test_the_role_table_is_the_capabilities_table() -> None:
    assert set(_role_table()) == set(ROLES)
    for role in ROLES:
        assert _role_table()[role] == CAPABILITIES[role], role


def test_every_route_checks_what_the_tables_say() -> None:
    api, problems = _api_table(), []
    for key, route in ALL_ROUTES.items():
        if key in OWN_GUARD:
            continue
        if key not in api and key not in CONSOLE:
            problems.append(f"{key}: in neither docs/api.md nor CONSOLE")
            continue
        if requirement_of(route) != expected(key):
            problems.append(f"{key}: checks {requirement_of(route)}, table says {expected(key)}")
    missing = (set(api) | set(CONSOLE)) - set(ALL_ROUTES)
    problems += [f"{key}: in a table but not a route" for key in sorted(missing)]
    assert not problems, "\n".join(problems)


def _url(key: str) -> tuple[str, str]:
    method, path = key.split(" ", 1)
    return method, re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "1"), path)


def _checked() -> list[str]:
    return [key for key in ALL_ROUTES if key not in OWN_GUARD and expected(key) != PUBLIC]


#: The 403 page (a capability refusal, not a CSRF one), in either language.
FORBIDDEN_PAGE = i18n.STRINGS["error.403"]


@pytest.mark.parametrize("key", sorted(ACCOUNTS))
def test_each_role_gets_what_its_capabilities_allow(app: FastAPI, key: str) -> None:
    """A bearer token for the API, a console session (with its CSRF token) for
    the pages: 403 without the capability; any read with it is let through."""
    capabilities = CAPABILITIES[ACCOUNTS[key].role]
    with (
        TestClient(app, follow_redirects=False) as api,
        TestClient(app, follow_redirects=False) as browser,
    ):
        bearer = {"Authorization": f"Bearer {token_for(api, key)}"}
        assert sign_in(browser, ACCOUNTS[key].username).status_code == 303
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', browser.get("/cameras").text)
        assert csrf is not None
        wrong = []
        for route_key in _checked():
            needed = expected(route_key)
            allowed = needed == SIGNED_IN or (
                isinstance(needed, frozenset) and needed <= capabilities
            )
            method, url = _url(route_key)
            if allowed and method != "GET":
                continue  # a change, made by the tests of its domain
            if route_key in CONSOLE:
                form = {"csrf_token": csrf.group(1)} if method == "POST" else None
                answer = browser.request(method, url, data=form)
                refused = answer.status_code == 403 and any(
                    text in answer.text for text in FORBIDDEN_PAGE
                )
            else:
                answer = api.request(method, url, headers=bearer)
                refused = answer.status_code == 403 and (
                    method == "HEAD" or "may not" in answer.json()["detail"]  # HEAD: no body
                )
            if allowed == refused or answer.status_code in (401, 500):
                wrong.append(f"{route_key}: {answer.status_code} (allowed: {allowed})")
        assert not wrong, "\n".join(wrong)


def test_nobody_signed_in_gets_nothing_but_the_public_routes(app: FastAPI) -> None:
    wrong = []
    with TestClient(app, follow_redirects=False) as anonymous:
        for route_key in _checked():
            method, url = _url(route_key)
            answer = anonymous.request(method, url)
            if route_key not in CONSOLE or url.startswith("/live/"):
                ok = answer.status_code == 401
            else:
                ok = answer.status_code == 303 and answer.headers["location"].startswith("/login")
            if not ok:
                wrong.append(f"{route_key}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)
