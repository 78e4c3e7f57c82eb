"""A console form value the server refuses for its length or a NUL (a
client without ``maxlength``, a script, a paste): the form comes back
(not the error page), the field named with its limit in the reader's
language and what was typed shown again in its box. Every console form
post is tried, field by field (``form_limits.longest_fields``)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from fleet_server.api.console import i18n
from fleet_server.api.console.forms import SECRET_FIELDS, shown_again
from tests.server.api.console import words_state
from tests.server.api.console.conftest import csrf_of
from tests.server.api.console.form_limits import longest_fields
from tests.server.api.console.words_state import BOARD, Seeded
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
#: Form posts whose path names a thing the seeded fleet lacks: their fields
#: are the same kinds as the others' (a reason, a note, a "yes" box) and
#: their handlers fit them the same way.
UNSEEDED = {"submission_id", "schedule_id", "window_id", "rollout_id", "order_id", "override_id",
            "contact_id", "route_id", "user_id", "snapshot_id"}  # fmt: skip
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


@pytest.fixture
def words(db_conn: Any, clock: Clock) -> Seeded:
    return words_state.seed_everything(db_conn, clock.now)


def _posts(app: FastAPI, seeded: Seeded) -> list[tuple[str, str, APIRoute]]:
    ids = {
        "board_id": BOARD,
        "site_id": str(seeded.site),
        "ticket_id": str(seeded.tickets[0]),
        "incident_id": str(seeded.incidents["mains_lost"]),
    }
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
    app: FastAPI, browser: TestClient, seeded: Seeded, typed_for: Callable[[int], str], lang: str
) -> tuple[int, list[str]]:
    """(fields tried, what went wrong), each field of each form alone."""
    csrf = csrf_of(browser.get(f"/tickets/new?lang={lang}").text)
    failures: list[str] = []
    tried = 0
    for pattern, path, route in _posts(app, seeded):
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
    app: FastAPI, new_browser: NewBrowser, words: Seeded, lang: str
) -> None:
    browser = new_browser("admin")
    tried, failures = _tried(app, browser, words, lambda limit: "Ư" * (limit + 1), lang)
    assert tried >= 80
    assert not failures, "\n".join(failures)
    # the limit, in the reader's words
    answer = browser.post(
        "/incidents/report",
        data={"csrf_token": csrf_of(browser.get("/tickets/new").text), "title": "Ư" * 201},
    )
    assert i18n.translator(lang)("refusal.too_long", n=200) in html.unescape(answer.text)


def test_every_form_field_with_a_nul_brings_the_form_back_with_the_text_kept(
    app: FastAPI, new_browser: NewBrowser, words: Seeded
) -> None:
    browser = new_browser("admin")
    tried, failures = _tried(app, browser, words, lambda _limit: "Gõ\x00sai", "vi")
    assert tried >= 80
    assert not failures, "\n".join(failures)
