"""The console's 4G data page and the board page's data section: the list
with its bars for readers, the budget forms for admins and operators (CSRF,
audited, pushed to the boards), and nothing of it for the Border Guard."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import psycopg

import fleet_protocol as fp
from tests.server.api.console.conftest import csrf_of
from tests.server.engine.conftest import Store
from tests.support.clock import Clock

Conn = psycopg.Connection[Any]
BOARD = "lc-ma-lu-thang-01"
MB = 1_000_000


def report(store: Store, board: str, used: int) -> None:
    store.reading(
        board,
        fp.TelemetryKind.NETWORK,
        fp.NetworkData(
            link_up=True,
            data_usage=fp.DataUsage(
                day="2026-12-10",
                day_sent=used // 2,
                day_received=used // 2,
                month="2026-12",
                month_sent=used // 2,
                month_received=used // 2,
            ),
        ),
    )


def test_the_data_page_and_the_board_section(
    new_browser: Any, store: Store, clock: Clock, db_conn: Conn
) -> None:
    clock.set(datetime(2026, 12, 10, 5, tzinfo=UTC))
    report(store, BOARD, 12 * MB)
    operator = new_browser("operator")
    page = operator.get("/data-usage")
    assert page.status_code == 200
    row = re.search(rf'<tr data-board="{BOARD}" data-status="no_budget">.*?</tr>', page.text, re.S)
    assert row is not None
    assert "12,0 MB" in row.group(0)  # Vietnamese figures
    assert "lc-phong-tho-01" not in page.text  # another organisation's board
    english = new_browser("operator").get("/data-usage?lang=en").text
    assert "Ma Lu Thang international border gate</td>" in english  # the site's English name
    # the board's own budget, from its page's form
    board_page = operator.get(f"/boards/{BOARD}")
    assert 'id="data-usage"' in board_page.text
    answer = operator.post(
        "/data-budgets",
        data={
            "csrf_token": csrf_of(board_page.text),
            "board_id": BOARD,
            "monthly_mb": "10",
            "adaptive": "on",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/boards/{BOARD}?flash=data_budget_set&n=1")
    board_page = operator.get(f"/boards/{BOARD}")
    assert 'data-status="spent"' in board_page.text
    assert "<meter" in board_page.text
    assert db_conn.execute(
        "SELECT monthly_bytes, adaptive, updated_by FROM data_budgets WHERE board_id = %s",
        (BOARD,),
    ).fetchone() == (10 * MB, True, "van.hanh")
    # refused: no CSRF token, a figure that is not one
    assert (
        operator.post("/data-budgets", data={"board_id": BOARD, "monthly_mb": "5"}).status_code
        == 403
    )
    bad = operator.post(
        "/data-budgets",
        data={"csrf_token": csrf_of(board_page.text), "board_id": BOARD, "monthly_mb": "ten"},
    )
    assert bad.status_code == 400
    # back on the board's page, the figure kept and marked, named in Vietnamese
    assert 'data-error="monthly_mb"' in bad.text
    assert "Mục cần sửa: Ngân sách (MB/tháng, để trống để bỏ)" in bad.text
    assert "Hãy nhập một số nguyên." in bad.text
    assert re.search(r'name="monthly_mb"[^>]*aria-invalid="true" value="ten"', bad.text)
    token = csrf_of(board_page.text)
    site_form = operator.post(
        "/data-budgets", data={"csrf_token": token, "site_id": "1", "monthly_mb": "-3"}
    )
    assert site_form.status_code == 400  # back on the data page, beside the site form
    assert '<section class="card" id="site-budget">' in site_form.text
    assert 'data-error="monthly_mb"' in site_form.text
    for refused in (
        {"board_id": "bad id!", "monthly_mb": "5"},  # the model's pattern
        {"site_id": "x", "monthly_mb": "5"},
        {"monthly_mb": "5"},  # neither board nor site
        {"board_id": BOARD, "monthly_mb": "0"},
    ):
        answer = operator.post("/data-budgets", data={"csrf_token": token, **refused})
        assert answer.status_code == 400, refused
    assert db_conn.execute(
        "SELECT monthly_bytes FROM data_budgets WHERE board_id = %s", (BOARD,)
    ).fetchone() == (10 * MB,)
    # a viewer reads, without the forms; the Border Guard sees nothing of it
    viewer = new_browser("viewer")
    assert 'name="monthly_mb"' not in viewer.get("/data-usage").text
    assert 'name="monthly_mb"' not in viewer.get(f"/boards/{BOARD}").text
    assert new_browser("guard").get("/data-usage").status_code == 403
