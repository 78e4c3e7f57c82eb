"""The ticket list filtered by one board (``/tickets?board_id=``), linked
from the board page (walkthrough: the board page showed 10 tickets with no
way to the rest)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.api.console.fleet_state import DAY_BOARD, open_ticket
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
OTHER_BOARD = "lc-ma-lu-thang-02"  # the same site and organisation
TICKET_LINK = re.compile(r'href="/tickets/(\d+)"')
TABS = re.compile(r'<a href="(/tickets\?show=[^"]+)"')


def _ids(text: str) -> set[int]:
    return {int(i) for i in TICKET_LINK.findall(text)}


@pytest.fixture
def tickets(db_conn: Any, clock: Clock) -> tuple[list[int], int]:
    mine = [open_ticket(db_conn, DAY_BOARD, clock.now, f"Phiếu {n}") for n in range(3)]
    return mine, open_ticket(db_conn, OTHER_BOARD, clock.now, "Phiếu bảng khác")


def test_the_board_page_links_to_its_tickets(
    new_browser: NewBrowser, tickets: tuple[list[int], int]
) -> None:
    page = new_browser("operator").get(f"/boards/{DAY_BOARD}", params={"lang": "en"}).text
    link = re.search(r'<a href="([^"]+)" data-action="board-tickets">([^<]+)</a>', page)
    assert link is not None
    assert html.unescape(link.group(1)) == f"/tickets?show=all&board_id={DAY_BOARD}"
    assert "Every work ticket of this board" in link.group(2)


@pytest.mark.parametrize("show", ["open", "all", "closed"])
def test_the_filtered_list_shows_only_that_boards_tickets_and_its_tabs_keep_it(
    new_browser: NewBrowser, tickets: tuple[list[int], int], show: str
) -> None:
    mine, other = tickets
    answer = new_browser("operator").get("/tickets", params={"show": show, "board_id": DAY_BOARD})
    assert answer.status_code == 200
    listed = _ids(answer.text)
    assert other not in listed
    assert listed == (set() if show == "closed" else set(mine))
    nav = answer.text.split('<nav class="tabs">', 1)[1].split("</nav>", 1)[0]
    tabs = [html.unescape(t) for t in TABS.findall(nav)]
    assert len(tabs) == 4
    assert all(t.endswith(f"&board_id={DAY_BOARD}") for t in tabs), tabs
    # the filter is said, with a way back to every board's tickets
    assert f'data-board-filter="{DAY_BOARD}"' in answer.text
    assert f'<a href="/tickets?show={show}">' in answer.text


def test_without_the_filter_every_board_is_listed(
    new_browser: NewBrowser, tickets: tuple[list[int], int]
) -> None:
    mine, other = tickets
    listed = _ids(new_browser("operator").get("/tickets", params={"show": "all"}).text)
    assert {*mine, other} <= listed


def test_outside_the_scope_the_filter_lists_nothing(
    new_browser: NewBrowser, tickets: tuple[list[int], int]
) -> None:
    answer = new_browser("district").get("/tickets", params={"show": "all", "board_id": DAY_BOARD})
    assert answer.status_code == 200
    assert _ids(answer.text) == set()


@pytest.mark.parametrize("value", ["lc ma", "-lc", "x" * 65])
def test_a_board_filter_that_is_not_a_board_id_is_refused(
    new_browser: NewBrowser, value: str
) -> None:
    answer = new_browser("operator").get("/tickets", params={"board_id": value})
    assert answer.status_code == 400


def test_the_board_pages_ticket_rows_do_not_repeat_its_site_and_board(
    new_browser: NewBrowser, tickets: tuple[list[int], int]
) -> None:
    operator = new_browser("operator")
    page = operator.get(f"/boards/{DAY_BOARD}").text
    rows = page.split('<table class="list tickets">', 1)[1].split("</table>", 1)[0]
    assert f"· {DAY_BOARD}" not in rows
    assert _ids(rows) == set(tickets[0])
    queue = operator.get("/tickets", params={"show": "all"}).text  # the list still names them
    assert f"· {DAY_BOARD}" in queue
