"""No raw codes and no UTC in the console: every page, as each role, in
both languages, over a fleet holding one of every rule, reason, action and
state (``words_state``). A rule name (``mains_lost``), an audit action
(``user.create``), an ISO-8601 UTC time (``…Z``, ``+00:00``), a catalog key
or a team code in what a person reads is a failure."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console import i18n
from tests.server.api.console import words_state
from tests.server.api.console.words_state import BOARD, TEAM, Seeded
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|\+00:00)")
DOTTED = re.compile(r"\b[a-z_]+(?:\.[a-z_:\-]+)+\.?")
#: The first part of every catalog key ("rule", "audit_action", …): a
#: dotted word starting with one is an untranslated key.
KEY_PREFIXES = {key.split(".")[0] for key in i18n.STRINGS}
#: Attributes a person reads.
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}


class Reader(HTMLParser):
    """What a person reads on a page: the text outside scripts and styles,
    and the attributes shown to them."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(v for k, v in attrs if k in READ_ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def read(html: str) -> str:
    reader = Reader()
    reader.feed(html)
    return " ".join(" ".join(reader.parts).split())


def problems(html: str) -> list[str]:
    """Raw codes, UTC times and untranslated keys on a page."""
    text = read(html)
    found = [f"code {m!r}" for m in SNAKE.findall(text)]
    found += [f"UTC time {m!r}" for m in UTC_TIME.findall(html)]
    found += [
        f"key {m!r}"
        for m in DOTTED.findall(text)
        if m.rstrip(".") in i18n.STRINGS or m.split(".")[0] in KEY_PREFIXES
    ]
    if TEAM in text:
        found.append(f"team code {TEAM!r}")
    return found


@pytest.fixture
def words(db_conn: Any, clock: Clock) -> Seeded:
    return words_state.seed_everything(db_conn, clock.now)


def pages(seeded: Seeded) -> list[str]:
    ticket = seeded.tickets[0]
    incidents = [f"/incidents/{i}" for i in sorted(set(seeded.incidents.values()))]
    return [
        "/",
        f"/sites/{seeded.site}",
        f"/boards/{BOARD}",
        f"/boards/{words_state.SITE_BOARDS[0]}",
        f"/boards/{words_state.SITE_BOARDS[1]}",
        "/incidents",
        "/incidents?state=all",
        "/incidents?state=resolved",
        *incidents,
        "/tickets",
        "/tickets?show=all",
        f"/tickets/{ticket}",
        "/cameras",
        "/audit",
        "/reports",
        "/content",
        "/content/submissions",
        "/content/suppliers",
        "/reports/budget",
        "/incidents/report",
        "/tickets/new",
        "/notices",
        "/maintenance",
        "/maintenance/preventive",
        "/rules",
        "/live/overview",
        "/live/incidents",
        f"/live/incidents/{seeded.site_incident}",
        f"/live/boards/{BOARD}",
        "/live/cameras",
    ]


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize(
    "role", ["admin", "operator", "technician", "viewer", "district", "province", "guard"]
)
def test_no_raw_code_utc_time_or_key_on_any_page(
    new_browser: NewBrowser, words: Seeded, role: str, lang: str
) -> None:
    browser = new_browser(role)
    browser.get(f"/cameras?lang={lang}")  # remembered in the cookie
    seen = 0
    for url in pages(words):
        answer = browser.get(url)
        if answer.status_code != 200:
            continue  # this role may not look (tests/server/api/console/test_pages.py)
        seen += 1
        assert answer.text.count("<html lang=") <= 1
        assert not problems(answer.text), (role, lang, url, problems(answer.text))
    assert seen >= (2 if role == "guard" else 8), role


def test_the_walk_covers_every_rule_and_the_check_catches_raw_codes(
    new_browser: NewBrowser, words: Seeded
) -> None:
    """The seeded fleet holds every rule of the catalog; the same pages
    with the raw values put back would fail."""
    assert set(words.incidents) == {
        key.removeprefix("rule.") for key in i18n.STRINGS if key.startswith("rule.")
    }
    assert problems("<p>mains_lost</p>") == ["code 'mains_lost'"]
    assert problems('<p data-x="2026-12-01T03:00:00Z">x</p>') == ["UTC time '2026-12-01T03:00:00Z'"]
    assert problems("<p>12:00 +00:00 2026-12-01T03:00:00+00:00</p>") == [
        "UTC time '2026-12-01T03:00:00+00:00'"
    ]
    assert problems("<p>audit_action.user.</p>")
    assert problems("<p>rule.mains</p>") == ["key 'rule.mains'"]
    assert problems(f"<p>{TEAM}</p>") == [f"team code {TEAM!r}"]
    assert not problems("<p>ky.thuat · lc-ma-lu-thang-01 · 10:00 01/12/2026</p>")
    assert not problems('<script>var a_b = "2026-12-01";</script><p class="x_y">Được</p>')


@pytest.mark.parametrize(
    ("lang", "words_shown", "words_not_shown"),
    [
        (
            "vi",
            ["Mất điện lưới, bảng chạy bằng UPS — lc-ma-lu-thang-01", "150.000\u00a0₫", "Điện"],
            ["Mains lost", "150000", "power: "],
        ),
        (
            "en",
            ["Mains lost, running on UPS — lc-ma-lu-thang-01", "150,000\u00a0₫"],
            ["Mất điện lưới, bảng", "150000 VND"],
        ),
    ],
)
def test_titles_money_and_notes_read_in_the_readers_language(
    new_browser: NewBrowser,
    words: Seeded,
    lang: str,
    words_shown: list[str],
    words_not_shown: list[str],
) -> None:
    browser = new_browser("admin")
    queue = browser.get(f"/incidents?lang={lang}").text
    ticket = browser.get(f"/tickets/{words.tickets[0]}?lang={lang}").text
    incident = browser.get(f"/incidents/{words.incidents['mains_lost']}?lang={lang}").text
    for text in words_shown:
        assert text in queue + ticket + incident, text
    for text in words_not_shown:
        assert text not in read(queue + ticket + incident), text


def test_a_persons_title_is_shown_as_written_in_both_languages(
    new_browser: NewBrowser, words: Seeded
) -> None:
    browser = new_browser("admin")
    for lang in ("vi", "en"):
        page = browser.get(f"/incidents/{words.incidents['screen_reported']}?lang={lang}")
        assert "Màn hình có vệt sọc / thấy từ xa" in page.text


def test_times_are_vietnam_time_with_how_long_ago(
    new_browser: NewBrowser, words: Seeded, clock: Clock
) -> None:
    browser = new_browser("admin")
    local = i18n.format_time(clock.now, "vi")
    page = browser.get(f"/incidents/{words.incidents['mains_lost']}").text
    assert local in page
    assert i18n.format_ago(clock.now, "vi", clock.now) in page  # "vừa xong"-like, in Vietnamese
    english = browser.get(f"/incidents/{words.incidents['mains_lost']}?lang=en").text
    assert i18n.format_time(clock.now, "en") in english
