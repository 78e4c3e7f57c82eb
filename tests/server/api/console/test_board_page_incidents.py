"""The board page lists the board's worst and newest open incidents, at most
``SHOWN_INCIDENTS`` (100 of them were a 245 KB page, most of its rendering
time), and links to all of them: the incident queue filtered by the board,
its total capped as the queue caps it ("10.000+"). Its unfinished tickets
are bounded alike. The queue's board filter shows that board's incidents
only, those attached to a site incident too, and nothing outside the
reader's scope."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.access import pagination
from fleet_server.api.console import boards, incidents
from tests.server.api.conftest import open_test_incident
from tests.server.api.console.fleet_state import DAY_BOARD, open_ticket
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
OTHER_BOARD = "lc-ma-lu-thang-02"  # the same site and organisation
ROW = re.compile(r'<li class="incident [^"]*" id="incident-(\d+)"')
QUEUE_ROW = re.compile(r'href="/incidents/(\d+)"')
ALL_LINK = re.compile(r'<a href="/incidents\?board_id=([^"]+)" data-incidents-total="([^"]+)">')
TICKET_ROW = re.compile(r'<td data-label="[^"]*"><a href="/tickets/(\d+)">')
MANY = boards.SHOWN_INCIDENTS + 5


@pytest.fixture
def many(db_conn: Any, clock: Clock) -> list[int]:
    """``MANY`` open incidents on the board, newest first, the worst among
    them the oldest; and one on another board."""
    ids = [
        open_test_incident(
            db_conn,
            DAY_BOARD,
            f"rule_{n}",
            severity="critical" if n == MANY - 1 else "minor",
            now=clock.now - timedelta(minutes=n),
        )
        for n in range(MANY)
    ]
    open_test_incident(db_conn, OTHER_BOARD, "rule_other", now=clock.now)
    return ids


def _queue_ids(html: str) -> list[int]:
    return [int(i) for i in dict.fromkeys(QUEUE_ROW.findall(html))]


def test_the_page_lists_the_worst_and_newest_ten_and_links_to_all(
    new_browser: NewBrowser, many: list[int]
) -> None:
    operator = new_browser("operator")
    page = operator.get(f"/boards/{DAY_BOARD}").text
    shown = [int(i) for i in ROW.findall(page)]
    # the worst first (the oldest, critical), then the newest minor ones
    assert shown == [many[-1], *many[: boards.SHOWN_INCIDENTS - 1]]
    assert f'data-incidents-shown="{boards.SHOWN_INCIDENTS}"' in page
    assert ALL_LINK.findall(page) == [(DAY_BOARD, str(MANY))]
    assert f"({MANY})" in page  # the section's heading counts them all
    # the live fragment is the same part of the page
    live = operator.get(f"/live/boards/{DAY_BOARD}").text
    assert [int(i) for i in ROW.findall(live)] == shown
    assert ALL_LINK.findall(live) == [(DAY_BOARD, str(MANY))]
    # the link's list starts with the same incidents, and holds the others
    queue = operator.get(f"/incidents?board_id={DAY_BOARD}").text
    assert _queue_ids(queue)[: len(shown)] == shown
    assert sorted(_queue_ids(queue)) == sorted(many)


def test_the_total_is_capped_as_the_queue_caps_it(
    new_browser: NewBrowser, many: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pagination, "COUNT_CAP", MANY - 3)
    operator = new_browser("operator")
    page = operator.get(f"/boards/{DAY_BOARD}").text
    assert ALL_LINK.findall(page) == [(DAY_BOARD, f"{MANY - 3}+")]
    assert f"({MANY - 3}+)" in page
    assert len(ROW.findall(page)) == boards.SHOWN_INCIDENTS
    # the queue it links to says the same of the same incidents
    monkeypatch.setattr(incidents, "PAGE_SIZE", 5)
    queue = operator.get(f"/incidents?board_id={DAY_BOARD}").text
    assert f"5 of {MANY - 3}+" in queue or f"5 mục trong {MANY - 3}+" in queue


def test_few_incidents_all_shown_with_the_link_and_none_without_one(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    operator = new_browser("operator")
    page = operator.get(f"/boards/{DAY_BOARD}").text
    assert ROW.findall(page) == []
    assert ALL_LINK.findall(page) == []
    incident = open_test_incident(db_conn, DAY_BOARD, now=clock.now)
    page = operator.get(f"/boards/{DAY_BOARD}").text
    assert [int(i) for i in ROW.findall(page)] == [incident]
    assert ALL_LINK.findall(page) == [(DAY_BOARD, "1")]
    assert "data-incidents-shown" not in page


def test_the_queue_filtered_by_a_board_shows_only_its_incidents(
    new_browser: NewBrowser, db_conn: Any, many: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = db_conn.execute(
        "SELECT id FROM incidents WHERE board_id = %s", (OTHER_BOARD,)
    ).fetchone()[0]
    # attached to another incident: left out of the unfiltered queue's top
    # level, listed on its own under its board's filter
    attached = many[0]
    db_conn.execute("UPDATE incidents SET parent_id = %s WHERE id = %s", (other, attached))
    db_conn.commit()
    operator = new_browser("operator")
    assert attached not in _queue_ids(operator.get("/incidents?state=all").text)
    page = operator.get(f"/incidents?board_id={DAY_BOARD}&state=all").text
    assert sorted(_queue_ids(page)) == sorted(many)
    assert other not in _queue_ids(page)
    # the filter is kept by the form and by the live fragment
    assert f'<input type="hidden" name="board_id" value="{DAY_BOARD}">' in page
    assert f'data-live="/live/incidents?board_id={DAY_BOARD}&amp;state=all"' in page
    live = operator.get(f"/live/incidents?board_id={DAY_BOARD}").text
    assert sorted(_queue_ids(live)) == sorted(many)
    assert _queue_ids(operator.get(f"/incidents?board_id={OTHER_BOARD}").text) == [other]
    assert _queue_ids(operator.get("/incidents?board_id=lc-no-such-board").text) == []


def test_the_filtered_queues_pages_keep_the_board(
    new_browser: NewBrowser, many: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(incidents, "PAGE_SIZE", 10)
    operator = new_browser("operator")
    first = operator.get(f"/incidents?board_id={DAY_BOARD}").text
    found = re.search(r'href="(/incidents\?board_id=[^"]*cursor=[^"]+)"', first)
    assert found, "a next-page link carrying the board"
    second = operator.get(found.group(1).replace("&amp;", "&")).text
    assert sorted(_queue_ids(first) + _queue_ids(second)) == sorted(many)


def test_outside_the_scope_the_page_is_404_and_the_filter_shows_nothing(
    new_browser: NewBrowser, many: list[int]
) -> None:
    district = new_browser("district")  # another organisation
    assert district.get(f"/boards/{DAY_BOARD}").status_code == 404
    assert district.get(f"/live/boards/{DAY_BOARD}").status_code == 404
    for url in (f"/incidents?board_id={DAY_BOARD}", f"/live/incidents?board_id={DAY_BOARD}"):
        answer = district.get(url)
        assert answer.status_code == 200
        assert _queue_ids(answer.text) == [], url
    guard = new_browser("guard")  # no board.read: not the queue's reader
    assert guard.get(f"/incidents?board_id={DAY_BOARD}").status_code == 403
    assert guard.get(f"/boards/{DAY_BOARD}").status_code == 403


@pytest.mark.parametrize("value", ["lc ma", "-lc", "x" * 65])
def test_a_board_filter_that_is_not_a_board_id_is_refused(
    new_browser: NewBrowser, value: str
) -> None:
    operator = new_browser("operator")
    for path in ("/incidents", "/live/incidents"):
        answer = operator.get(path, params={"board_id": value})
        assert answer.status_code == 400, (path, value, answer.status_code)


def test_the_page_lists_the_ten_tickets_due_soonest_and_says_how_many(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    tickets = [open_ticket(db_conn, DAY_BOARD, clock.now, f"Phiếu {n}") for n in range(12)]
    operator = new_browser("operator")
    page = operator.get(f"/boards/{DAY_BOARD}").text
    listed = {int(i) for i in TICKET_ROW.findall(page)}
    assert len(listed) == boards.SHOWN_TICKETS
    assert listed <= set(tickets)
    note = re.search(r'data-tickets-shown="(\d+)">([^<]*)<', page)
    assert note is not None
    assert note.group(1) == str(boards.SHOWN_TICKETS)
    assert "12" in note.group(2)
