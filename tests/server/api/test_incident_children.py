"""A site incident holds its boards' incidents: the API lists them with
``parent_id`` and leaves them out with ``top_level=true``. Titles are data:
the API keeps ``title`` as it was and adds ``title_key``, ``title_params``
and ``titles``. (The console's side: console/test_site_incident_children.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.api.console import words_state
from tests.server.api.console.words_state import SITE_BOARDS, Seeded
from tests.support.clock import Clock


@pytest.fixture
def words(db_conn: Any, clock: Clock) -> Seeded:
    return words_state.seed_everything(db_conn, clock.now)


def test_the_api_lists_a_site_incidents_children_and_the_top_level_alone(
    as_: Any, words: Seeded
) -> None:
    operator = as_("operator")
    children = operator.get(f"/api/v1/incidents?parent_id={words.site_incident}").json()
    assert sorted(i["id"] for i in children["items"]) == sorted(words.children)
    assert {i["board_id"] for i in children["items"]} == set(SITE_BOARDS)
    top = operator.get("/api/v1/incidents?top_level=true&limit=200").json()
    ids = {i["id"] for i in top["items"]}
    assert words.site_incident in ids
    assert not ids & set(words.children)
    everything = operator.get("/api/v1/incidents?limit=200").json()
    assert set(words.children) <= {i["id"] for i in everything["items"]}


@pytest.mark.parametrize(
    "query", ["parent_id=0", "parent_id=abc", "parent_id=-3", "top_level=maybe"]
)
def test_bad_children_filters_are_refused_by_name(as_: Any, words: Seeded, query: str) -> None:
    answer = as_("operator").get(f"/api/v1/incidents?{query}")
    assert answer.status_code == 422
    assert query.split("=", maxsplit=1)[0] in answer.text


def test_the_api_keeps_the_title_and_adds_it_as_data(as_: Any, words: Seeded) -> None:
    incident = as_("operator").get(f"/api/v1/incidents/{words.incidents['mains_lost']}").json()
    assert incident["title"] == (
        "Mất điện lưới, bảng chạy bằng UPS — lc-ma-lu-thang-01"
        " / Mains lost, running on UPS — lc-ma-lu-thang-01"
    )
    assert incident["title_key"] == "mains_lost"
    assert incident["title_params"] == {"board": "lc-ma-lu-thang-01"}
    assert incident["titles"] == {
        "vi": "Mất điện lưới, bảng chạy bằng UPS — lc-ma-lu-thang-01",
        "en": "Mains lost, running on UPS — lc-ma-lu-thang-01",
    }
    site = as_("operator").get(f"/api/v1/incidents/{words.site_incident}").json()
    assert site["title_key"] == "site_outage.power"
    assert site["titles"]["en"] == "Whole site down (mains power, 2 boards)"
    reported = as_("operator").get(f"/api/v1/incidents/{words.incidents['screen_reported']}")
    assert reported.json()["title_key"] is None
    assert reported.json()["titles"]["en"] == "Màn hình có vệt sọc / thấy từ xa"


MIGRATION = (
    Path(__file__).resolve().parents[3] / "fleet_server/db/migrations/0035_incident_titles.sql"
)


def test_incidents_from_before_titles_were_data_get_their_key(
    as_: Any, words: Seeded, db_conn: Any
) -> None:
    """Migration 0035 gives the rules' stored incidents their key from their
    rule and details; a person's report keeps none."""
    db_conn.execute("UPDATE incidents SET title_key = NULL, title_params = '{}'")
    backfill = [s for s in MIGRATION.read_text().split(";") if "UPDATE incidents" in s]
    assert len(backfill) == 4
    for statement in backfill:
        db_conn.execute(statement)
    rows = dict(db_conn.execute("SELECT id, title_key FROM incidents").fetchall())
    assert rows[words.incidents["mains_lost"]] == "mains_lost"
    assert rows[words.incidents["board_lost"]] == "board_lost"
    assert rows[words.site_incident] == "site_outage.power"
    assert rows[words.incidents["broadcast_noncompliant"]] == "broadcast_noncompliant"
    assert rows[words.incidents["advertising_share_exceeded"]] == "advertising_share_exceeded"
    assert rows[words.incidents["screen_reported"]] is None
    ads = as_("operator").get(f"/api/v1/incidents/{words.incidents['advertising_share_exceeded']}")
    assert "(31,4 % > 30 %)" in ads.json()["titles"]["vi"]
    site = as_("operator").get(f"/api/v1/incidents/{words.site_incident}").json()
    assert site["titles"]["en"] == "Whole site down (mains power, 2 boards)"
