"""Every box of every console form takes in the browser (``maxlength``)
exactly what its route takes (``forms.Longest`` / ``max_length``): the
/data-usage budget box took 9 characters, its route 20. The pages are
rendered over a fleet holding one of everything (``words_state``) and
each form's boxes matched to the route its action posts to. Also the
login form's refusals, which come back on the login page."""

from __future__ import annotations

import html
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Match

from fleet_server.api.console import i18n
from tests.server.api.console import words_state
from tests.server.api.console.conftest import csrf_of
from tests.server.api.console.form_limits import limits
from tests.server.api.console.words_state import BOARD, Seeded
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
#: Boxes whose browser keeps the value to a form (a day, a time, a number,
#: a choice): no maxlength needed.
FIXED = {"hidden", "checkbox", "radio", "submit", "file", "date", "time", "datetime-local",
         "number", "month", "color", "range", "button"}  # fmt: skip


class Forms(HTMLParser):
    """Each form's method, action and typed boxes (name, maxlength)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"method": (a.get("method") or "get").upper(), "action": a.get("action") or "",
                 "boxes": []}
            )  # fmt: skip
        elif tag in ("input", "textarea") and self.forms and a.get("name"):
            if tag == "input" and (a.get("type") or "text") in FIXED:
                return
            self.forms[-1]["boxes"].append((a["name"], a.get("maxlength")))


def _route(app: FastAPI, method: str, path: str) -> APIRoute | None:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and method in (context.methods or ()):
            scope = {"type": "http", "path": path, "method": method}
            if route.matches(scope)[0] == Match.FULL and context.path == route.path:
                return route
    return None


def pages(seeded: Seeded) -> list[str]:
    return [
        "/", f"/sites/{seeded.site}", f"/boards/{BOARD}", "/incidents",
        f"/incidents/{seeded.incidents['mains_lost']}", "/tickets", f"/tickets/{seeded.tickets[0]}",
        "/tickets/new", "/incidents/report", "/cameras", "/audit", "/reports", "/reports/budget",
        "/content", "/content/suppliers", "/notices", "/maintenance", "/maintenance/preventive",
        "/rules", "/releases", "/data-usage", "/account/notifications", "/admin/contacts",
        "/admin/routes", "/admin/users", "/admin/boards", f"/admin/boards/{BOARD}",
    ]  # fmt: skip


@pytest.fixture
def words(db_conn: Any, clock: Clock) -> Seeded:
    return words_state.seed_everything(db_conn, clock.now)


def test_every_box_takes_what_its_route_takes(
    app: FastAPI, new_browser: NewBrowser, words: Seeded
) -> None:
    admin = new_browser("admin")
    wrong: list[str] = []
    boxes = 0
    for url in pages(words):
        page = admin.get(url)
        assert page.status_code == 200, url
        parser = Forms()
        parser.feed(page.text)
        for form in parser.forms:
            path = html.unescape(form["action"]).split("#")[0].split("?")[0] or url.split("?")[0]
            route = _route(app, form["method"], path)
            if route is None:
                continue
            longest = limits(route, "body" if form["method"] == "POST" else "query")
            for name, maxlength in form["boxes"]:
                if name not in longest:
                    continue
                boxes += 1
                if maxlength != str(longest[name]):
                    wrong.append(
                        f"{url} {path} {name}: maxlength {maxlength}, takes {longest[name]}"
                    )
    assert boxes >= 60
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_the_data_usage_budget_box_too_long_comes_back_marked(
    new_browser: NewBrowser,
) -> None:
    admin = new_browser("admin")
    page = admin.get("/data-usage")
    typed = "1" * 25
    answer = admin.post(
        "/data-budgets",
        data={"csrf_token": csrf_of(page.text), "site_id": "", "monthly_mb": typed},
    )
    assert answer.status_code == 400
    assert 'class="card error"' not in answer.text
    assert f'aria-invalid="true" value="{typed}"' in answer.text
    assert i18n.translator("vi")("refusal.too_long", n=9) in html.unescape(answer.text)
    assert '<input name="monthly_mb" inputmode="numeric" maxlength="9"' in page.text


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize(
    ("field", "typed", "key"),
    [
        ("username", "u" * 65, "refusal.too_long"),
        ("password", "p" * 1001, "refusal.too_long"),
        ("username", "quan\x00tri", "refusal.nul"),
    ],
)
def test_the_login_form_refuses_a_bad_value_on_the_login_page(
    new_browser: NewBrowser, lang: str, field: str, typed: str, key: str
) -> None:
    browser = new_browser()
    form = browser.get(f"/login?lang={lang}")
    data = {"username": "quan.tri", "password": "x", field: typed}
    answer = browser.post("/login", data={**data, "csrf_token": csrf_of(form.text)})
    assert answer.status_code == 400
    t = i18n.translator(lang)
    limit = {"username": 64, "password": 1000}[field]
    assert f"{t(f'login.{field}')}: {t(key, n=limit)}" in html.unescape(answer.text)
    assert f'name="{field}"' in answer.text
    marked = answer.text.split(f'name="{field}"', 1)[1].split(">", 1)[0]
    assert 'aria-invalid="true"' in marked
    if field == "username":
        assert html.escape(typed.replace("\x00", "\ufffd")) in answer.text
    assert "p" * 1001 not in answer.text  # a password is never written back
