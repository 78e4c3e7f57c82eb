"""GET /api/v1/availability: figures from the SQL functions, narrowed to
the caller's sites, sorted and paged like every list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from fleet_server.localtime import LOCAL_TZ
from tests.server.api.conftest import set_status
from tests.server.api.test_boards import BORDER
from tests.support.clock import Clock

DAY_ONE = datetime(2026, 10, 1, tzinfo=LOCAL_TZ)
PERIOD = {"from": DAY_ONE.isoformat(), "to": (DAY_ONE + timedelta(days=1)).isoformat()}


def get(client: Any, **params: Any) -> Any:
    return client.get("/api/v1/availability", params={**PERIOD, "limit": 100, **params})


def items(response: Any, key: str = "board_id") -> dict[Any, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {item[key]: item for item in response.json()["items"]}


@pytest.mark.parametrize(
    ("who", "expected"),
    [("admin", 14), ("province", 14), ("operator", 6), ("viewer", 6), ("district", 1)],
)
def test_each_role_sees_its_boards(as_: Any, who: str, expected: int) -> None:
    response = get(as_(who))
    boards = items(response)
    assert response.json()["total"] == len(boards) == expected
    if who in ("operator", "viewer"):
        assert set(boards) == BORDER
    if who == "district":
        assert set(boards) == {"lc-phong-tho-01"}


def test_another_organisations_sites_and_organisation_are_empty(as_: Any) -> None:
    admin = items(get(as_("admin"), level="site"), "site_code")
    mu_ca = admin["mu-ca"]["site_id"]
    district = as_("district")
    assert items(get(district, site_id=mu_ca)) == {}
    bql = admin["mu-ca"]["organisation_id"]
    assert items(get(district, level="organisation", organisation_id=bql), "organisation_id") == {}
    orgs = items(get(district, level="organisation"), "organisation_code")
    assert set(orgs) == {"ubnd-phong-tho"}
    assert orgs["ubnd-phong-tho"]["boards"] == 1


def test_border_guard_and_anonymous_callers_are_refused(as_: Any, client: Any) -> None:
    assert get(as_("guard")).status_code == 403
    assert get(client).status_code == 401


def test_figures_per_board_site_and_organisation(as_: Any, db_conn: Any) -> None:
    set_status(db_conn, "lc-ma-lu-thang-01", "online", DAY_ONE - timedelta(days=1))
    set_status(db_conn, "lc-ma-lu-thang-01", "offline", DAY_ONE + timedelta(hours=18))
    set_status(db_conn, "lc-ma-lu-thang-02", "online", DAY_ONE)
    operator = as_("operator")
    boards = items(get(operator))
    first = boards["lc-ma-lu-thang-01"]
    assert first["availability"] == 0.75
    assert (first["up_s"], first["down_s"], first["expected_s"]) == (64800, 21600, 86400)
    assert first["site_code"] == "ma-lu-thang"
    assert first["organisation_code"] == "bql-kkt"
    assert boards["lc-mu-ca-01"]["availability"] is None
    assert boards["lc-mu-ca-01"]["unknown_s"] == 86400
    site = items(get(operator, level="site"), "site_code")["ma-lu-thang"]
    assert site["boards"] == 2
    assert site["board_id"] is None
    # seconds summed: (18 h + 24 h) / 48 h, not the mean of 0.75 and 1.0
    assert site["availability"] == pytest.approx((64800 + 86400) / (2 * 86400))
    org = items(get(operator, level="organisation"), "organisation_code")["bql-kkt"]
    assert (org["sites"], org["boards"]) == (4, 6)
    assert org["up_s"] == 64800 + 86400


def test_maintenance_is_excluded_unless_asked_not_to(as_: Any, db_conn: Any) -> None:
    set_status(db_conn, "lc-mu-ca-01", "offline", DAY_ONE)
    db_conn.execute(
        "INSERT INTO maintenance_windows (board_id, starts_at, ends_at, reason, created_by)"
        " VALUES ('lc-mu-ca-01', %s, %s, 'thay nguồn', 'test')",
        (DAY_ONE, DAY_ONE + timedelta(hours=6)),
    )
    admin = as_("admin")
    excluded = items(get(admin))["lc-mu-ca-01"]
    assert (excluded["expected_s"], excluded["down_s"]) == (64800, 64800)
    assert excluded["maintenance_s"] == 21600
    kept = get(admin, exclude_maintenance="false")
    assert kept.json()["exclude_maintenance"] is False
    assert items(kept)["lc-mu-ca-01"]["down_s"] == 86400


def test_sorting_and_paging(as_: Any, db_conn: Any) -> None:
    set_status(db_conn, "lc-mu-ca-01", "online", DAY_ONE)
    set_status(db_conn, "lc-pa-nam-cum-01", "online", DAY_ONE)
    set_status(db_conn, "lc-pa-nam-cum-01", "lost", DAY_ONE + timedelta(hours=12))
    operator = as_("operator")
    worst = get(operator, sort="availability", limit=2).json()
    assert [i["board_id"] for i in worst["items"]] == ["lc-pa-nam-cum-01", "lc-mu-ca-01"]
    assert (worst["total"], worst["limit"], worst["offset"]) == (6, 2, 0)
    best = get(operator, sort="-availability").json()["items"]
    assert [i["board_id"] for i in best[:2]] == ["lc-mu-ca-01", "lc-pa-nam-cum-01"]
    assert best[-1]["availability"] is None  # nulls last either way
    default = get(operator, offset=4).json()
    assert [i["board_id"] for i in default["items"]] == sorted(BORDER)[4:]
    refused = get(operator, sort="password")
    assert refused.status_code == 400
    assert "availability" in refused.json()["detail"]


def test_the_period_is_checked_and_never_reaches_past_now(as_: Any, clock: Clock) -> None:
    admin = as_("admin")
    backwards = get(admin, **{"from": PERIOD["to"], "to": PERIOD["from"]})
    assert backwards.status_code == 400
    too_long = get(admin, to=(DAY_ONE + timedelta(days=367)).isoformat())
    assert too_long.status_code == 400
    assert get(admin, to="2026-10-02T00:00:00").status_code == 422  # no offset
    future = get(
        admin,
        **{
            "from": (clock.now - timedelta(hours=1)).isoformat(),
            "to": (clock.now + timedelta(days=5)).isoformat(),
        },
    ).json()
    assert datetime.fromisoformat(future["period_to"]) == clock.now
    later = admin.get(
        "/api/v1/availability", params={"from": (clock.now + timedelta(days=1)).isoformat()}
    )
    assert later.status_code == 400  # "to" defaults to now
    this_month = admin.get("/api/v1/availability").json()
    assert datetime.fromisoformat(this_month["period_from"]).day == 1
    assert this_month["total"] == 14


def _walk(client: Any, **params: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """Every page by next_cursor (the Link header agrees); the items and each page's total."""
    items: list[dict[str, Any]] = []
    totals: list[int] = []
    cursor = None
    for _ in range(50):
        response = get(client, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        totals.append(body["total"])
        cursor = body["next_cursor"]
        link = response.headers.get("link")
        assert (link is None) == (cursor is None)
        if cursor is None:
            return items, totals
        assert f"cursor={cursor}" in link
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("who", ["admin", "operator"])
@pytest.mark.parametrize(
    ("level", "key", "sort"),
    [
        ("board", "board_id", None),
        ("site", "site_code", None),
        ("organisation", "organisation_code", None),
        ("board", "board_id", "-availability"),
        ("site", "site_code", "down_s"),
    ],
)
def test_pages_walked_by_cursor_are_the_whole_list(
    as_: Any, db_conn: Any, who: str, level: str, key: str, sort: str | None
) -> None:
    set_status(db_conn, "lc-mu-ca-01", "online", DAY_ONE)
    set_status(db_conn, "lc-pa-nam-cum-01", "online", DAY_ONE)
    set_status(db_conn, "lc-pa-nam-cum-01", "lost", DAY_ONE + timedelta(hours=12))
    set_status(db_conn, "lc-ma-lu-thang-01", "offline", DAY_ONE + timedelta(hours=3))
    client = as_(who)
    sorting = {} if sort is None else {"sort": sort}
    whole = get(client, level=level, **sorting).json()
    assert whole["next_cursor"] is None
    walked, totals = _walk(client, level=level, limit=2, **sorting)
    assert [i[key] for i in walked] == [i[key] for i in whole["items"]]
    assert walked == whole["items"]  # the same figures, page by page
    assert set(totals) == {whole["total"]}
    assert len(walked) == whole["total"]


def test_a_page_in_key_order_computes_only_its_boards(as_: Any) -> None:
    admin = as_("admin")
    first = get(admin, limit=3).json()
    assert len(first["items"]) == 3
    assert first["total"] == 14
    second = get(admin, limit=3, cursor=first["next_cursor"]).json()
    assert second["items"][0]["board_id"] > first["items"][-1]["board_id"]
    deprecated = get(admin, limit=3, offset=3).json()
    assert deprecated["items"] == second["items"]
    sites = get(admin, level="site", limit=2).json()
    assert sites["total"] == len(get(admin, level="site").json()["items"])


def test_bad_cursors_are_refused_not_crashes(as_: Any) -> None:
    admin = as_("admin")
    board_cursor = get(admin, limit=1).json()["next_cursor"]
    sorted_cursor = get(admin, limit=1, sort="availability").json()["next_cursor"]
    for params in (
        {"cursor": "not a cursor"},
        {"cursor": "eyJ2IjoxfQ"},  # {"v":1}
        {"cursor": board_cursor, "level": "site"},
        {"cursor": board_cursor, "sort": "availability"},
        {"cursor": sorted_cursor},
        {"cursor": board_cursor, "offset": 2},
        {"cursor": "x" * 3000},
    ):
        response = get(admin, **params)
        assert response.status_code == 422, (params, response.text)
        assert "cursor" in response.text


def test_organisation_totals_stay_exact_whatever_the_page(as_: Any) -> None:
    admin = as_("admin")
    boards = get(admin, level="board").json()
    orgs = get(admin, level="organisation", limit=1)
    assert orgs.json()["total"] == len(get(admin, level="organisation").json()["items"])
    everything = get(admin, level="organisation").json()["items"]
    assert sum(o["boards"] for o in everything) == boards["total"]
    assert sum(o["expected_s"] for o in everything) == pytest.approx(
        sum(b["expected_s"] for b in boards["items"])
    )
