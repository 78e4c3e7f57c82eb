"""The board page lists its board's incidents without repeating, on every
row, the board and site the page is about (a phone scrolled ~1,400 px of
them before the charts); the incident queue still names them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.server.api.conftest import open_test_incident

BOARD = "lc-ma-lu-thang-01"
WHERE = re.compile(r'<div class="where">(.*?)</div>', re.S)


def test_board_page_rows_do_not_repeat_the_board(
    new_browser: Callable[..., TestClient], db_conn: Any
) -> None:
    incident = open_test_incident(db_conn, BOARD)
    operator = new_browser("operator")
    page = operator.get(f"/boards/{BOARD}").text
    assert f'href="/incidents/{incident}"' in page
    rows = WHERE.findall(page)
    assert rows, "the board's incidents are listed"
    assert all(f'href="/boards/{BOARD}"' not in row and "/sites/" not in row for row in rows)
    queue = WHERE.findall(operator.get("/incidents").text)
    assert any(f'href="/boards/{BOARD}"' in row and "/sites/" in row for row in queue)
