"""The board list counts each board's open incidents and cameras for the
page's boards only (not for every row an offset skips): the same pages as
counting them in the list's statement, in every order, by offset and by
cursor, for admin and operator scopes."""

from __future__ import annotations

from typing import Any

import pytest

from fleet_server.access.pagination import ListParams, fetch_keyset_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.boards import storage
from fleet_server.boards.schemas import BoardOut
from tests.server.api.conftest import open_test_incident


def _reference(conn: Any, scope: Scope, paging: ListParams) -> Any:
    clause, params = sites_condition(scope, "b.site_id")
    return fetch_keyset_page(
        conn,
        f"{storage._BOARD_SELECT} WHERE {clause}",
        params,
        paging,
        keyset=storage.KEYSET,
        model=BoardOut,
    )


@pytest.mark.parametrize("sort", [None, "-last_seen_at", "name", "-open_incidents", "state"])
def test_pages_count_as_the_list_statement_did(db_conn: Any, sort: str | None) -> None:
    for board, rule in (
        ("lc-ma-lu-thang-01", "board_offline"),
        ("lc-ma-lu-thang-01", "display_dark"),
        ("lc-phong-tho-01", "board_offline"),
    ):
        open_test_incident(db_conn, board, rule)
    organisation = db_conn.execute("SELECT min(organisation_id) FROM sites").fetchone()[0]
    for scope in (Scope.everything(), Scope(organisation_id=organisation)):
        for offset in (0, 1, 3):
            paging = ListParams(limit=2, offset=offset, sort=sort)
            page = storage.board_page(db_conn, scope, paging)
            assert page == _reference(db_conn, scope, paging)
        cursor, walked = None, 0
        while True:  # the whole list by cursor
            paging = ListParams(limit=2, offset=0, sort=sort, cursor=cursor)
            page = storage.board_page(db_conn, scope, paging)
            assert page == _reference(db_conn, scope, paging)
            walked += len(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert walked == page.total
    counted = storage.board_page(
        db_conn, Scope.everything(), ListParams(limit=500, offset=0, sort=None)
    )
    assert any(b.open_incidents > 1 for b in counted.items)
    assert any(b.cameras > 0 for b in counted.items)
