"""A site incident's page lists and links the incidents attached to it,
and the open list shows them folded under it, not as rows of their own;
the site back, its boards still down are rows again."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.incidents import lifecycle
from tests.server.api.console import words_state
from tests.server.api.console.words_state import Seeded
from tests.support.clock import Clock

ROW = re.compile(r'<li class="incident [^"]*" id="incident-(\d+)">')


@pytest.fixture
def words(db_conn: Any, clock: Clock) -> Seeded:
    return words_state.seed_everything(db_conn, clock.now)


def test_the_site_incident_page_lists_and_links_its_children(
    new_browser: Any, words: Seeded
) -> None:
    for lang, heading in (
        ("vi", "Các sự cố thuộc sự cố toàn điểm này"),
        ("en", "Incidents attached"),
    ):
        page = new_browser("operator").get(f"/incidents/{words.site_incident}?lang={lang}").text
        assert heading in page
        for child in words.children:
            assert f'<a href="/incidents/{child}">' in page
            assert f'data-child="{child}"' in page
    child = new_browser("operator").get(f"/incidents/{words.children[0]}").text
    assert f'href="/incidents/{words.site_incident}" data-parent' in child


def test_the_open_list_shows_children_under_their_parent(
    new_browser: Any, words: Seeded, db_conn: Any, clock: Clock
) -> None:
    browser: TestClient = new_browser("operator")
    page = browser.get("/incidents").text
    rows = [int(i) for i in ROW.findall(page)]
    assert words.site_incident in rows
    assert not set(words.children) & set(rows)  # not top-level rows
    folded = page.split(f'data-children="{words.site_incident}"', 1)[1].split("</details>")[0]
    for child in words.children:
        assert f'data-child="{child}"' in folded
    live = browser.get("/live/incidents").text
    assert f'data-children="{words.site_incident}"' in live
    # a filter may leave the parent out: its children are listed on their own
    filtered = browser.get("/incidents?severity=major").text
    assert set(words.children) <= {int(i) for i in ROW.findall(filtered)}
    # the site is back: its boards still down are incidents of their own again
    with db_conn.transaction():
        lifecycle.resolve(db_conn, words.site_incident, clock.now, actor="engine", note="x")
    again = browser.get("/incidents").text
    assert set(words.children) <= {int(i) for i in ROW.findall(again)}
