"""The board page's database work stays bounded: one scope check a page
(the scoped read of the board; the services it calls trust that answer
through :func:`checked_board` and ask again for anything else), a fixed
number of statements whatever the board holds, and another organisation's
board a 404 for the page and every data endpoint of the board."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from fleet_server.access.scope import Scope
from fleet_server.boards.service import board_in_scope, checked_board
from fleet_server.errors import NotFound
from tests.server.api.conftest import open_test_incident
from tests.server.api.console.fleet_state import (
    DAY_BOARD,
    open_ticket,
    record_day,
    report_cameras,
    roll_up,
    set_states,
)
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
#: Statements one board page may send (34 before: a scope check in each
#: service, three for the windows, a page of picture history it did not show).
MAX_STATEMENTS = 23
#: The shape of the per-service scope check (boards.storage.board_visible).
VISIBLE_CHECK = "SELECT 1 FROM boards b WHERE b.id ="


@pytest.fixture
def busy_board(db_conn: Any, db_owner: Any, clock: Clock) -> datetime:
    set_states(db_conn, clock.now)
    record_day(db_conn, clock.now)
    report_cameras(db_conn, clock.now)
    open_test_incident(db_conn, DAY_BOARD, "display_dark", now=clock.now)
    open_ticket(db_conn, DAY_BOARD, clock.now)
    roll_up(db_owner, clock.now - timedelta(hours=26), clock.now)
    return clock.now


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement a cursor sends (Connection.execute goes through one)."""
    seen: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        text = query.as_string(self) if hasattr(query, "as_string") else str(query)
        seen.append(" ".join(text.split()))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    return seen


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_one_scope_check_and_a_bounded_number_of_statements(
    new_browser: NewBrowser, busy_board: datetime, statements: list[str], role: str
) -> None:
    browser = new_browser(role)
    statements.clear()
    answer = browser.get(f"/boards/{DAY_BOARD}")
    assert answer.status_code == 200
    page = [s for s in statements if "csrf_token" not in s]  # the session's own lookup
    assert len(page) <= MAX_STATEMENTS, "\n".join(page)
    assert [s for s in page if s.startswith(VISIBLE_CHECK)] == []


def test_checked_board_trusts_only_that_board_and_scope(db_conn: Any) -> None:
    nobody = Scope(site_ids=(-1,))  # sees no site
    with pytest.raises(NotFound):
        board_in_scope(db_conn, nobody, DAY_BOARD)
    with checked_board(nobody, DAY_BOARD):
        board_in_scope(db_conn, nobody, DAY_BOARD)  # trusted: no question asked
        with pytest.raises(NotFound):
            board_in_scope(db_conn, nobody, "lc-ma-lu-thang-02")  # another board
        with pytest.raises(NotFound):
            board_in_scope(db_conn, Scope(site_ids=(-2,)), DAY_BOARD)  # another scope
    with pytest.raises(NotFound):
        board_in_scope(db_conn, nobody, DAY_BOARD)  # the block is over


def test_another_organisations_board_is_a_404_everywhere(
    new_browser: NewBrowser, busy_board: datetime
) -> None:
    browser = new_browser("district")
    assert browser.get(f"/boards/{DAY_BOARD}").status_code == 404
    for path in (
        "",
        "/connectivity?since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z",
        "/telemetry/heartbeat",
        "/telemetry/network",
        "/commands",
        "/config",
        "/snapshots",
        "/logs",
        "/plays",
        "/data-usage",
        "/broadcast-windows",
    ):
        answer = browser.get(f"/api/v1/boards/{DAY_BOARD}{path}")
        assert answer.status_code == 404, (path, answer.status_code, answer.text[:200])
