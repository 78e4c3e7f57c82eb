"""A console form value the server refuses for its length or a NUL (a
client without ``maxlength``, a script, a paste): the form comes back
(not the error page), the field named with its limit in the reader's
language and what was typed shown again in its box. Every console form
post is tried, field by field (``form_limits.longest_fields``)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from fleet_server.api.console import i18n
from fleet_server.api.console.forms import SECRET_FIELDS, shown_again
from fleet_server.localtime import LOCAL_TZ
from tests.server.api.conftest import ACCOUNTS
from tests.server.api.console import words_state
from tests.server.api.console.conftest import csrf_of
from tests.server.api.console.form_limits import longest_fields
from tests.server.api.console.words_state import BOARD
from tests.support import seed
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
#: Form posts whose path names a thing the fixture does not make (a
#: supplier's upload, a release, an override, a picture, an order): their
#: fields are the same kinds as the others' (a reason, a comment, a "yes"
#: box) and their handlers fit them first the same way.
UNSEEDED = {"submission_id", "rollout_id", "order_id", "override_id", "snapshot_id"}
#: Posts that are not a typed form (the login form: test_login_refusals),
#: and the rollout form, shown only once a release is registered.
NOT_TRIED = {"/login", "/logout", "/admin/boards/import", "/releases/rollouts"}
#: What a browser always sends with the field tried (the button pressed).
SENT_WITH = {
    "/boards/{board_id}/kill-switch": {"command": "blank_screen"},
    "/rules": {"rule": "board_lost"},
}
#: Fields a form posts without a box for them (the acknowledge button's
#: note): another form's box of that name is not theirs.
NO_BOX = {("/incidents/{incident_id}/acknowledge", "note")}
BOX = re.compile(r'<(input|textarea|select)\b[^>]*\bname="(?P<name>[^"]+)"[^>]*>')


def _made(browser: TestClient, page: str, action: str, form: dict[str, str]) -> str:
    """The id of what a console form made (its redirect names it, or the
    list's newest row)."""
    csrf = csrf_of(browser.get(page).text)
    answer = browser.post(action, data={**form, "csrf_token": csrf})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].split("?")[0].split("#")[0].rstrip("/").split("/")[-1]


@pytest.fixture
def words(db_conn: Any, clock: Clock, new_browser: NewBrowser) -> dict[str, str]:
    """The fleet of every coded value, and a contact, a route, a
    maintenance window and a preventive schedule made through the forms:
    each id a form's path names."""
    seeded = words_state.seed_everything(db_conn, clock.now)
    admin = new_browser("admin")
    contact = _made(
        admin,
        "/admin/contacts",
        "/admin/contacts",
        {"name": "Trực ban", "email": "tb@laichau.gov.vn", "language": "vi"},
    )
    route = _made(
        admin,
        "/admin/routes",
        "/admin/routes",
        {
            "contact_id": contact,
            "channel": "email",
            "min_severity": "major",
            "escalation_level": "0",
        },
    )
    local = (clock.now + timedelta(hours=1)).astimezone(LOCAL_TZ)
    _made(
        admin,
        "/maintenance",
        "/maintenance",
        {
            "where": f"board:{BOARD}",
            "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (local + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "recurrence": "none",
            "reason": "Thay nguồn",
        },
    )
    _made(admin, "/maintenance/preventive", "/maintenance/preventive",
          {"where": f"board:{BOARD}", "title": "Vệ sinh", "checklist": "Lau kính",
           "priority": "normal", "every_days": "90",
           "next_due_on": (local.date() + timedelta(days=10)).isoformat()})  # fmt: skip
    (window,) = db_conn.execute("SELECT max(id) FROM maintenance_windows").fetchone()
    (schedule,) = db_conn.execute("SELECT max(id) FROM preventive_schedules").fetchone()
    return {
        "board_id": BOARD,
        "site_id": str(seeded.site),
        "ticket_id": str(seeded.tickets[0]),
        "incident_id": str(seeded.incidents["mains_lost"]),
        "contact_id": contact,
        "route_id": route,
        "user_id": str(seed.user_id(db_conn, ACCOUNTS["viewer"].username)),
        "window_id": str(window),
        "schedule_id": str(schedule),
    }


def _posts(app: FastAPI, ids: dict[str, str]) -> list[tuple[str, str, APIRoute]]:
    found = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path or ""
        if not isinstance(route, APIRoute) or "POST" not in (context.methods or ()):
            continue
        if path.startswith("/api/") or path in NOT_TRIED:
            continue
        names = {p.name for p in route.dependant.path_params}
        if names & UNSEEDED:
            continue
        found.append((path, path.format(**{n: ids[n] for n in names}), route))
    return found


def _form(path: str, route: APIRoute, name: str, typed: str, listed: bool) -> dict[str, Any]:
    """The field tried, with what a browser always sends and the fields
    the route cannot do without (a choice's value: "x")."""
    data: dict[str, Any] = dict(SENT_WITH.get(path, {}))
    for param in route.dependant.body_params:
        if param.field_info.is_required():
            data[param.alias] = ["x"] if "list[" in str(param.field_info.annotation) else "x"
    data[name] = [typed] if listed else typed
    return data


def _refusal(page: str) -> str:
    found = re.search(r'<div class="flash error refusal"[^>]*>(.*?)</div>', page, re.S)
    return " ".join(html.unescape(found.group(1)).split()) if found else "no refusal"


def _typed_into(page: str, name: str) -> bool:
    """The field is a box the reader types into (not a choice, a hidden
    field or a secret), so what was typed belongs in it again."""
    if name in SECRET_FIELDS:
        return False
    for box in BOX.finditer(page):
        if box.group("name") == name:
            kind = re.search(r'\btype="([^"]+)"', box.group(0))
            return box.group(1) == "textarea" or (
                box.group(1) == "input"
                and (kind is None or kind.group(1) in ("text", "search", "tel", "email", "url"))
            )
    return False


def _tried(
    app: FastAPI,
    browser: TestClient,
    ids: dict[str, str],
    typed_for: Callable[[int], str],
    lang: str,
) -> tuple[int, list[str]]:
    """(fields tried, what went wrong), each field of each form alone."""
    csrf = csrf_of(browser.get(f"/tickets/new?lang={lang}").text)
    failures: list[str] = []
    tried = 0
    for pattern, path, route in _posts(app, ids):
        for name, limit, listed in longest_fields(route):
            typed = typed_for(limit)
            boxed = (pattern, name) not in NO_BOX
            data = _form(pattern, route, name, typed, listed)
            answer = browser.post(path, data={"csrf_token": csrf, **data})
            tried += 1
            page = answer.text
            if answer.status_code != 400:
                failures.append(f"{path} {name}: {answer.status_code}")
            elif 'class="card error"' in page:
                failures.append(f"{path} {name}: the error page")
            elif f'data-error="{name}{".0" if listed else ""}"' not in page:
                failures.append(f"{path} {name}: another refusal: {_refusal(page)}")
            elif boxed and _typed_into(page, name) and html.escape(shown_again(typed)) not in page:
                failures.append(f"{path} {name}: what was typed is not shown again")
            elif boxed and _typed_into(page, name) and "aria-invalid" not in page:
                failures.append(f"{path} {name}: the field is not marked")
    return tried, failures


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_form_field_too_long_brings_the_form_back_with_the_text_kept(
    app: FastAPI, new_browser: NewBrowser, words: dict[str, str], lang: str
) -> None:
    browser = new_browser("admin")
    tried, failures = _tried(app, browser, words, lambda limit: "Ư" * (limit + 1), lang)
    assert tried >= 180
    assert not failures, "\n".join(failures)
    # the limit, in the reader's words
    answer = browser.post(
        "/incidents/report",
        data={"csrf_token": csrf_of(browser.get("/tickets/new").text), "title": "Ư" * 201},
    )
    assert i18n.translator(lang)("refusal.too_long", n=200) in html.unescape(answer.text)


def test_every_form_field_with_a_nul_brings_the_form_back_with_the_text_kept(
    app: FastAPI, new_browser: NewBrowser, words: dict[str, str]
) -> None:
    browser = new_browser("admin")
    tried, failures = _tried(app, browser, words, lambda _limit: "Gõ\x00sai", "vi")
    assert tried >= 180
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_value_refused_before_the_form_is_read_names_the_field_and_links_back(
    new_browser: NewBrowser, lang: str
) -> None:
    """Eleven site boxes where the form has ten (a script): the error page
    names the field and the limit in the reader's language, shows what
    was typed to copy, and links back to the form's page."""
    browser = new_browser("admin")
    page = browser.get(f"/reports?lang={lang}")
    sites = [f"Điểm {n}" for n in range(11)]
    answer = browser.post(
        "/reports/emergency-orders",
        data={"csrf_token": csrf_of(page.text), "site": sites},
        headers={"referer": "http://testserver/reports"},
    )
    assert answer.status_code == 400
    assert 'class="card error"' in answer.text
    t = i18n.translator(lang)
    text = html.unescape(answer.text)
    assert t("refusal.too_many", n=10) in text
    assert "\n".join(sites) in text
    assert t("error.typed") in text
    assert f'<a href="/reports" data-history-back>{t("error.back")}</a>' in answer.text
