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
from psycopg.rows import dict_row

from fleet_server.access.scope import Scope
from fleet_server.boards import storage
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
#: service, three for the windows, a page of picture history it did not show;
#: 23 before the board's row, latest messages, history and cameras were one).
#: Fewer round trips still: some go together in pipeline mode (the board and
#: its incidents, the four charts, the configuration's two).
MAX_STATEMENTS = 20
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


def _reference(conn: Any, board_id: str, history: int) -> dict[str, Any]:
    """What the board's latest messages, history and camera names were read
    as before they were one statement (three more round trips)."""
    with conn.cursor(row_factory=dict_row) as cur:
        latest = cur.execute(
            "SELECT kind, measured_at, received_at, data FROM board_latest WHERE device_id = %s",
            (board_id,),
        ).fetchall()
        changes = cur.execute(
            "SELECT at, state, previous, reason FROM board_status_history"
            " WHERE board_id = %s ORDER BY at DESC LIMIT %s",
            (board_id, history),
        ).fetchall()
        names = cur.execute(
            "SELECT camera_id, name FROM cameras WHERE board_id = %s ORDER BY camera_id",
            (board_id,),
        ).fetchall()
    return {"latest": latest, "changes": changes, "camera_names": names}


def _as_values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON's timestamps as datetimes, to compare with the reference rows."""
    return [
        {
            k: datetime.fromisoformat(v) if k in ("at", "measured_at", "received_at") else v
            for k, v in r.items()
        }
        for r in rows
    ]


@pytest.mark.parametrize("history", [50, 3])
def test_one_statement_reads_what_four_did(
    db_conn: Any, busy_board: datetime, history: int
) -> None:
    organisation = db_conn.execute(
        "SELECT s.organisation_id FROM boards b JOIN sites s ON s.id = b.site_id WHERE b.id = %s",
        (DAY_BOARD,),
    ).fetchone()[0]
    expected = _reference(db_conn, DAY_BOARD, history)
    assert all(expected.values()), expected  # the board has each of them
    for scope in (Scope.everything(), Scope(organisation_id=organisation)):
        row, along = storage.board_detail(
            db_conn, scope, DAY_BOARD, history, along=lambda: _reference(db_conn, DAY_BOARD, 1)
        )
        assert row is not None
        # what ran alongside (pipeline mode) answered as on its own
        assert along == _reference(db_conn, DAY_BOARD, 1)
        assert storage.board_row(db_conn, scope, DAY_BOARD) == {
            k: v for k, v in row.items() if k not in expected
        }
        assert sorted(_as_values(row["latest"]), key=lambda r: r["kind"]) == sorted(
            expected["latest"], key=lambda r: r["kind"]
        )
        assert _as_values(row["changes"]) == expected["changes"]
        assert row["camera_names"] == expected["camera_names"]
    for scope, board_id in (
        (Scope(organisation_id=-1), DAY_BOARD),
        (Scope.everything(), "lc-x-01"),
    ):
        assert storage.board_detail(db_conn, scope, board_id, history, along=list) == (None, [])
