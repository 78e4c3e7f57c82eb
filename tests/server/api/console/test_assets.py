"""Everything the console shows comes from the app and is translated: no
external URL in any page or static asset, every UI string in the Vietnamese
and English table, no text in the templates outside ``t(...)``."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console import i18n
from fleet_server.api.console.web import STATIC, TEMPLATES
from tests.server.api.conftest import open_test_incident
from tests.server.api.console.fleet_state import DAY_BOARD, open_ticket, record_day, set_states
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
#: src/href/action/url(...) pointing at another host (absolute or scheme-relative).
EXTERNAL_IN_HTML = re.compile(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:[a-z]+:)?//""", re.I)
EXTERNAL_IN_CSS = re.compile(r"""(?:url\(\s*["']?\s*(?:[a-z]+:)?//|@import)""", re.I)
PLACEHOLDER = re.compile(r"\{(\w*)\}")
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
TAG = re.compile(r"<[^>]*>", re.S)
#: Character references (``&nbsp;``, ``&#8209;``) are punctuation, not words.
ENTITY = re.compile(r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);")
#: Text a template may hold literally: punctuation, symbols, digits, units.
ALLOWED_LITERAL = set(string.punctuation + string.digits + string.whitespace + "·›–—−→×…°")


def test_no_external_urls_in_pages(new_browser: NewBrowser, db_conn: Any, clock: Clock) -> None:
    set_states(db_conn, clock.now)
    record_day(db_conn, clock.now)
    incident = open_test_incident(db_conn, DAY_BOARD)
    ticket = open_ticket(db_conn, DAY_BOARD, clock.now)
    site = db_conn.execute("SELECT site_id FROM boards WHERE id = %s", (DAY_BOARD,)).fetchone()[0]
    admin = new_browser("admin")
    pages = [
        "/",
        f"/sites/{site}",
        f"/boards/{DAY_BOARD}",
        "/incidents",
        f"/incidents/{incident}",
        "/tickets",
        f"/tickets/{ticket}",
        "/cameras",
        "/audit",
        "/boards/missing",
        "/live/overview",
    ]
    for url in pages:
        html = admin.get(url).text
        assert not EXTERNAL_IN_HTML.search(html), url
        for match in re.finditer(r"https?://[^\s\"'<>]+", html):
            assert match.group(0).startswith("http://www.w3.org/"), (url, match.group(0))
    login = new_browser().get("/login").text
    assert not EXTERNAL_IN_HTML.search(login)
    assert f"incident-{incident}" in admin.get("/incidents").text


def test_no_external_urls_in_static_assets(new_browser: NewBrowser) -> None:
    browser = new_browser()
    for asset in sorted(STATIC.iterdir()):
        served = browser.get(f"/static/{asset.name}")
        assert served.status_code == 200
        text = served.text
        assert text == asset.read_text(encoding="utf-8")
        assert not EXTERNAL_IN_CSS.search(text), asset.name
        # The only absolute URL allowed is the SVG namespace name, never fetched.
        found = re.findall(r"https?://[^\s\"')]+", text)
        assert found in ([], ["http://www.w3.org/2000/svg"]), asset.name


def test_every_string_has_vietnamese_and_english_with_the_same_placeholders() -> None:
    for key, (vi, en) in i18n.STRINGS.items():
        assert vi.strip(), key
        assert en.strip(), key
        assert set(PLACEHOLDER.findall(vi)) == set(PLACEHOLDER.findall(en)), key


def test_an_unknown_key_is_an_error_not_a_silent_fallback() -> None:
    t = i18n.translator("en")
    with pytest.raises(KeyError):
        t("no.such.key")


def _template_files() -> list[Path]:
    return sorted(TEMPLATES.glob("*.html"))


@pytest.mark.parametrize("template", _template_files(), ids=lambda p: p.name)
def test_templates_hold_no_untranslated_text(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    keys = re.findall(r"""\bt\(\s*["']([a-z0-9_.\-]+)["']\s*[,)]""", source)
    for key in keys:
        assert i18n.known(key), f"{template.name}: {key} is not in the table"
    # Literal attributes a person reads must go through t() too.
    for attr in re.findall(r'(?:aria-label|title|placeholder|alt)="([^"{]+)"', source):
        assert not any(c.isalpha() for c in attr), f"{template.name}: {attr!r}"
    text = ENTITY.sub(" ", TAG.sub(" ", JINJA.sub(" ", source)))
    leftover = {c for c in text if c not in ALLOWED_LITERAL}
    assert not leftover, f"{template.name}: literal text outside t(): {''.join(sorted(leftover))}"


def test_numbers_and_times_follow_the_language() -> None:
    assert i18n.format_number(1_500_000, "vi") == "1.500.000"
    assert i18n.format_number(1_500_000, "en") == "1,500,000"
    assert i18n.format_number(84.5, "vi", 1) == "84,5"
    from datetime import UTC, datetime  # noqa: PLC0415

    moment = datetime(2026, 11, 28, 17, 5, tzinfo=UTC)  # 00:05 the next day in Vietnam
    assert i18n.format_time(moment, "vi") == "00:05 29/11/2026"
    assert i18n.format_time(moment, "en") == "2026-11-29 00:05"
