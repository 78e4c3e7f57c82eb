"""The incident queue's total ("50 of 1,234") is kept per scope and filters
for one fleet health version instead of counted on every page: it equals
the exact count of what the reader sees for every filter, for the admin and
an operator; it follows an incident acknowledged, resolved or opened at
once; beyond 10,000 it reads "10,000+"."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.access.pagination import COUNT_CAP
from fleet_server.incidents.service import TOTALS
from tests.server.api.console.test_list_pagers import NEXT, _link
from tests.server.api.test_keyset_paging import add_incidents
from tests.support import seed

NewBrowser = Callable[..., TestClient]
SHOWN = re.compile(r"<span>(\d+) of ([\d,]+)(\+?)</span>")
ROW = re.compile(r'id="incident-(\d+)"')
#: (state, severity, class) as the queue's form sends them.
FILTERS = [
    ("active", "", ""),
    ("open", "", ""),
    ("acknowledged", "", ""),
    ("resolved", "", ""),
    ("all", "", ""),
    ("all", "minor", ""),
    ("active", "critical", "technical"),
    ("resolved", "", "security"),
]


def _scope(conn: Any, role: str) -> str:
    if role == "admin":
        return "TRUE"
    organisation = seed.organisation_id(conn, "bql-kkt")
    return f"site_id IN (SELECT id FROM sites WHERE organisation_id = {organisation})"


def expected(conn: Any, role: str, state: str, severity: str, kind: str) -> int:
    """What the queue selects, counted plainly (the reference)."""
    where = [_scope(conn, role)]
    params: list[Any] = []
    if state == "active":
        where.append("state IN ('open', 'acknowledged')")
    elif state != "all":
        where.append("state = %s")
        params.append(state)
    if severity:
        where.append("severity = %s")
        params.append(severity)
    if kind:
        where.append("class = %s")
        params.append(kind)
    if state in ("active", "all") and not severity and not kind:
        where.append("parent_id IS NULL")
    (count,) = conn.execute(
        f"SELECT count(*) FROM incidents WHERE {' AND '.join(where)}", params
    ).fetchone()
    return int(count)


def shown_total(browser: TestClient, state: str, severity: str, kind: str) -> tuple[int, bool]:
    """The page's total as the reader sees it; a single page (no pager): its rows."""
    query = {"state": state, "severity": severity, "class": kind, "lang": "en"}
    page = browser.get("/incidents", params=query)
    assert page.status_code == 200, page.text
    found = SHOWN.search(page.text)
    if found is None:
        assert _link(NEXT, page.text) is None
        return len(ROW.findall(page.text)), False
    assert int(found.group(1)) == len(ROW.findall(page.text))
    following = _link(NEXT, page.text)
    if following is not None:  # a later page shows the same total
        later = SHOWN.search(browser.get(following).text)
        assert later is not None
        assert later.groups()[1:] == found.groups()[1:]
    return int(found.group(2).replace(",", "")), found.group(3) == "+"


def _vary(conn: Any) -> None:
    """Classes and a site incident with boards attached, beside add_incidents' mix."""
    conn.execute("UPDATE incidents SET class = 'security' WHERE id % 4 = 1")
    parent = conn.execute(
        "SELECT id, site_id FROM incidents WHERE board_id IS NULL AND state = 'open'"
        " ORDER BY id LIMIT 1"
    ).fetchone()
    conn.execute(
        "UPDATE incidents SET parent_id = %s"
        " WHERE site_id = %s AND id <> %s AND board_id IS NOT NULL",
        (parent[0], parent[1], parent[0]),
    )


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_totals_equal_the_exact_counts(new_browser: NewBrowser, db_conn: Any, role: str) -> None:
    add_incidents(db_conn, 400)
    _vary(db_conn)
    browser = new_browser(role)
    for filters in FILTERS:
        want = expected(db_conn, role, *filters)
        assert shown_total(browser, *filters) == (want, False), filters
    # the totals follow the incidents at once: acknowledged, resolved, opened
    db_conn.execute(
        "UPDATE incidents SET state = 'acknowledged' WHERE state = 'open' AND id % 3 = 0"
    )
    db_conn.execute(
        "UPDATE incidents SET state = 'resolved' WHERE state <> 'resolved' AND id % 5 = 0"
    )
    db_conn.execute(
        "INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id, site_id,"
        " organisation_id, title, opened_at)"
        " SELECT 'more:' || n || ':' || i.id, i.rule, i.class, i.severity, 'open', i.board_id,"
        " i.site_id, i.organisation_id, 'more', i.opened_at FROM incidents i,"
        " generate_series(1, 1) n WHERE i.id %% 5 = 1 LIMIT %s",
        (90,),
    )
    for filters in FILTERS:
        want = expected(db_conn, role, *filters)
        assert shown_total(browser, *filters) == (want, False), filters
    assert TOTALS.builds > 0


def test_total_beyond_the_cap(new_browser: NewBrowser, db_conn: Any) -> None:
    add_incidents(db_conn, 3)
    db_conn.execute(
        "INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id, site_id,"
        " organisation_id, title, opened_at)"
        " SELECT 'many:' || n, i.rule, i.class, 'minor', 'resolved', i.board_id, i.site_id,"
        " i.organisation_id, 'many', i.opened_at + n * interval '1 second'"
        " FROM generate_series(1, %s) n, (SELECT * FROM incidents ORDER BY id LIMIT 1) i",
        (COUNT_CAP,),
    )
    browser = new_browser("admin")
    assert shown_total(browser, "all", "", "") == (COUNT_CAP, True)
    assert shown_total(browser, "resolved", "minor", "") == (COUNT_CAP, True)
    assert shown_total(browser, "open", "", "") == (
        expected(db_conn, "admin", "open", "", ""),
        False,
    )
    assert (
        "50 mục trong 10.000+"
        in browser.get("/incidents", params={"state": "all", "lang": "vi"}).text
    )
