"""/api/v1 data usage and budgets: reads scoped like board reads, budgets set
by admins and operators within their sites (audited, carried to the boards'
desired configuration), every refusal with its reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

import fleet_protocol as fp
from tests.server.api.conftest import audit_actions
from tests.server.engine.conftest import Store
from tests.support.clock import Clock

Conn = psycopg.Connection[Any]
AsFactory = Any

BOARD = "lc-ma-lu-thang-01"  # bql-kkt (the operator's)
TWIN = "lc-ma-lu-thang-02"
DISTRICT = "lc-phong-tho-01"  # ubnd-phong-tho: not the operator's
MB = 1_000_000
NOON_10_DEC = datetime(2026, 12, 10, 5, tzinfo=UTC)


def report(store: Store, board: str, used: int) -> None:
    store.reading(
        board,
        fp.TelemetryKind.NETWORK,
        fp.NetworkData(
            link_up=True,
            data_usage=fp.DataUsage(
                day="2026-12-10",
                day_sent=used // 4,
                day_received=used // 4,
                month="2026-12",
                month_sent=used // 2,
                month_received=used // 2,
                factor=2,
            ),
        ),
    )


def desired_budget(conn: Conn, board: str) -> Any:
    row = conn.execute(
        "SELECT config->'data_budget' FROM board_config_desired WHERE board_id = %s"
        " ORDER BY version DESC LIMIT 1",
        (board,),
    ).fetchone()
    return None if row is None else row[0]


def site_of(conn: Conn, board: str) -> int:
    row = conn.execute("SELECT site_id FROM boards WHERE id = %s", (board,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_boards_month_forecast_and_budget(as_: AsFactory, store: Store, clock: Clock) -> None:
    clock.set(NOON_10_DEC)
    report(store, BOARD, 20 * MB)
    viewer = as_("viewer")
    got = viewer.get(f"/api/v1/boards/{BOARD}/data-usage").json()
    assert (got["month"], got["used"], got["factor"], got["status"]) == (
        "2026-12",
        20 * MB,
        2,
        "no_budget",
    )
    assert got["budget"] is None
    assert got["days"] == [{"day": "2026-12-10", "sent": 5 * MB, "received": 5 * MB}]
    # another organisation's board: as if it did not exist
    assert as_("operator").get(f"/api/v1/boards/{DISTRICT}/data-usage").status_code == 404
    assert as_("guard").get(f"/api/v1/boards/{BOARD}/data-usage").status_code == 403


def test_setting_a_budget_is_audited_and_reaches_the_boards(
    as_: AsFactory, store: Store, clock: Clock, db_conn: Conn
) -> None:
    clock.set(NOON_10_DEC)
    report(store, BOARD, 20 * MB)
    report(store, TWIN, 1 * MB)  # both count their bytes: their agents read data_budget
    mark = int(db_conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])  # type: ignore[index]
    operator = as_("operator")
    site = site_of(db_conn, BOARD)
    answer = operator.put(
        "/api/v1/data-budgets", json={"site_id": site, "monthly_bytes": 30 * MB, "adaptive": True}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["boards_told"] == [BOARD, TWIN]
    assert desired_budget(db_conn, TWIN) == {"monthly_bytes": 30 * MB, "adaptive": True}
    got = operator.get(f"/api/v1/boards/{BOARD}/data-usage").json()
    assert got["budget"] == {"monthly_bytes": 30 * MB, "adaptive": True, "source": "site"}
    assert got["status"] == "forecast_over"  # 20 MB in 10 days, 21.5 days to go
    assert got["percent"] == 66.7
    # the board's own budget wins; removing it gives the site's back
    operator.put("/api/v1/data-budgets", json={"board_id": BOARD, "monthly_bytes": 500 * MB})
    assert desired_budget(db_conn, BOARD) == {"monthly_bytes": 500 * MB, "adaptive": False}
    assert operator.get(f"/api/v1/boards/{BOARD}/data-usage").json()["status"] == "ok"
    answer = operator.put("/api/v1/data-budgets", json={"board_id": BOARD, "monthly_bytes": None})
    assert answer.json()["boards_told"] == [BOARD]
    assert desired_budget(db_conn, BOARD) == {"monthly_bytes": 30 * MB, "adaptive": True}
    actions = [
        a for a in audit_actions(db_conn, mark) if a[1] in ("data_budget.set", "board.config")
    ]
    assert actions.count(("van.hanh", "data_budget.set")) == 3
    assert actions.count(("van.hanh", "board.config")) == 4
    rows = db_conn.execute(
        "SELECT before, after FROM audit_log WHERE action = 'data_budget.set' AND id > %s"
        " ORDER BY id",
        (mark,),
    ).fetchall()
    assert rows[0][0] is None
    assert rows[0][1]["monthly_bytes"] == 30 * MB
    assert rows[2][0]["monthly_bytes"] == 500 * MB
    assert rows[2][1] is None


def test_a_board_whose_agent_does_not_read_budgets_is_not_told(
    as_: AsFactory, store: Store, clock: Clock, db_conn: Conn
) -> None:
    """An agent from before the budget rejects a whole desired version that
    holds ``data_budget``: a board that has not reported data usage is left
    to the engine's round (datausage/push.py)."""
    clock.set(NOON_10_DEC)
    report(store, BOARD, 20 * MB)
    answer = as_("operator").put(
        "/api/v1/data-budgets", json={"site_id": site_of(db_conn, BOARD), "monthly_bytes": 30 * MB}
    )
    assert answer.json()["boards_told"] == [BOARD]
    assert desired_budget(db_conn, TWIN) is None


def test_budget_refusals(as_: AsFactory, db_conn: Conn) -> None:
    operator = as_("operator")
    for body, status, why in [
        ({"monthly_bytes": 30 * MB}, 422, "exactly one of board_id and site_id"),
        ({"board_id": BOARD, "site_id": 1, "monthly_bytes": 30 * MB}, 422, "exactly one"),
        ({"board_id": BOARD, "monthly_bytes": 10}, 422, "greater than or equal"),
        ({"board_id": BOARD, "monthly_bytes": 30 * MB, "extra": 1}, 422, "extra"),
        ({"board_id": "bad id!", "monthly_bytes": 30 * MB}, 422, "pattern"),
        ({"board_id": DISTRICT, "monthly_bytes": 30 * MB}, 404, DISTRICT),
        ({"site_id": site_of(db_conn, DISTRICT), "monthly_bytes": 30 * MB}, 404, "site"),
        ({"site_id": 2**40, "monthly_bytes": 30 * MB}, 404, "site"),
    ]:
        answer = operator.put("/api/v1/data-budgets", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert why in answer.text, (body, answer.text)
    for role in ("viewer", "technician", "guard"):
        answer = as_(role).put(
            "/api/v1/data-budgets", json={"board_id": BOARD, "monthly_bytes": 30 * MB}
        )
        assert answer.status_code == 403, role
    assert db_conn.execute("SELECT count(*) FROM data_budgets").fetchone() == (0,)


def test_the_fleet_list_pages_by_board(as_: AsFactory, store: Store, clock: Clock) -> None:
    clock.set(NOON_10_DEC)
    report(store, BOARD, 40 * MB)
    as_("admin").put("/api/v1/data-budgets", json={"board_id": BOARD, "monthly_bytes": 30 * MB})
    admin = as_("admin")
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = admin.get(
            "/api/v1/data-usage", params={"limit": 5, **({"after": after} if after else {})}
        ).json()
        seen += page["items"]
        after = page["next_after"]
        if after is None:
            break
    assert len(seen) == 14
    assert [i["board_id"] for i in seen] == sorted(i["board_id"] for i in seen)
    mine = next(i for i in seen if i["board_id"] == BOARD)
    assert (mine["used"], mine["budget"], mine["status"], mine["percent"]) == (
        40 * MB,
        30 * MB,
        "spent",
        133.3,
    )
    operators = as_("operator").get("/api/v1/data-usage", params={"limit": 200}).json()["items"]
    assert DISTRICT not in {i["board_id"] for i in operators}
    assert admin.get("/api/v1/data-usage", params={"limit": 0}).status_code == 422
    assert admin.get("/api/v1/data-usage", params={"after": "x y"}).status_code == 422
