"""The provisioning list (``/admin/boards``) paged by cursor: following the
next links gives every board the reader may provision once, for each status
tab and a search, for the admin and an operator; the tabs' counts (kept per
fleet health version) equal the exact counts, and follow a board disabled,
provisioned or given new credentials at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.provisioning.schemas_list import PROVISION_STATUSES
from tests.server.api.conftest import set_status
from tests.server.api.console.test_list_pagers import walk
from tests.support import seed

NewBrowser = Callable[..., TestClient]
ROW = re.compile(r'<tr data-board="([^"]+)"')
TAB = re.compile(r'data-status-link="(\w+)">[^<(]*\((\d+)\)</a>')


def _boards(conn: Any) -> None:
    """200 more boards over the seeded sites, some provisioned (two at the
    same time), some disabled."""
    sites = [int(r[0]) for r in conn.execute("SELECT id FROM sites ORDER BY id")]
    for n in range(200):
        seed.board(conn, f"lc-more-{n:03d}", sites[n % len(sites)], enabled=n % 9 != 0)
    conn.execute(
        "UPDATE boards SET provisioned_at = now() - (mod(length(id) + ascii(right(id, 1)), 5)"
        " * interval '1 hour'), auth = 'password' WHERE id LIKE 'lc-more-%' AND right(id, 1) < '5'"
    )
    for n in range(0, 200, 10):  # connected since
        set_status(conn, f"lc-more-{n:03d}", "online", datetime.now(UTC))


def expected(conn: Any, role: str, status: str | None = None, q: str = "") -> set[str]:
    """The boards the reader may provision (with their status, as the list
    works it out), read plainly."""
    scope = "TRUE"
    if role == "operator":
        organisation = seed.organisation_id(conn, "bql-kkt")
        scope = f"s.organisation_id = {organisation}"
    rows = conn.execute(
        "SELECT b.id, CASE WHEN b.removed_at IS NOT NULL THEN 'removed'"
        " WHEN NOT b.enabled THEN 'disabled' WHEN b.provisioned_at IS NULL THEN 'legacy'"
        " WHEN st.last_seen_at IS NULL OR st.last_seen_at"
        "  < coalesce(b.credentials_rotated_at, b.provisioned_at) THEN 'pending'"
        " ELSE 'connected' END"
        " FROM boards b JOIN sites s ON s.id = b.site_id"
        f" LEFT JOIN board_status st ON st.board_id = b.id WHERE {scope}"
        " AND (b.id ILIKE %s OR b.name ILIKE %s OR s.name ILIKE %s)",
        [f"%{q}%"] * 3,
    ).fetchall()
    return {r[0] for r in rows if status in (None, r[1])}


def tabs(browser: TestClient) -> dict[str, int]:
    found = dict(TAB.findall(browser.get("/admin/boards").text))
    assert set(found) == set(PROVISION_STATUSES)
    return {status: int(n) for status, n in found.items()}


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_walk_every_board_once(new_browser: NewBrowser, db_conn: Any, role: str) -> None:
    _boards(db_conn)
    browser = new_browser(role)
    for url, status, q in (
        ("/admin/boards", None, ""),
        ("/admin/boards?status=pending", "pending", ""),
        ("/admin/boards?status=legacy", "legacy", ""),
        ("/admin/boards?q=more-0", None, "more-0"),
    ):
        rows = walk(browser, url, ROW)
        assert len(rows) == len(set(rows)), url
        assert set(rows) == expected(db_conn, role, status, q), url
    counts = tabs(browser)
    assert counts == {s: len(expected(db_conn, role, s)) for s in PROVISION_STATUSES}
    assert sum(counts.values()) > 50  # more than a page: the walk crossed pages


def test_counts_follow_changes_at_once(new_browser: NewBrowser, db_conn: Any) -> None:
    _boards(db_conn)
    browser = new_browser("admin")
    assert tabs(browser) == {s: len(expected(db_conn, "admin", s)) for s in PROVISION_STATUSES}
    for change in (
        "UPDATE boards SET enabled = false WHERE id = 'lc-more-001'",
        "UPDATE boards SET provisioned_at = now() WHERE id = 'lc-more-007'",
        "UPDATE boards SET credentials_rotated_at = now() + interval '1 minute'"
        " WHERE provisioned_at IS NOT NULL",
    ):
        before = tabs(browser)
        db_conn.execute(change)
        after = {s: len(expected(db_conn, "admin", s)) for s in PROVISION_STATUSES}
        assert after != before, change
        assert tabs(browser) == after, change
