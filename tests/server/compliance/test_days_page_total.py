"""The compliance days list's total (GET /api/v1/compliance/days,
storage_reads.days_page): for a whole organisation or the province it comes
from the counts migration 0052 keeps, and equals the total counted from the
board-days joined to their boards, for every page, status and day range,
including the 10,000 cap; other scopes and filters count the joined days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from fleet_server.access import pagination
from fleet_server.access.pagination import ListParams
from fleet_server.access.scope import Scope
from fleet_server.compliance import storage_reads
from fleet_server.compliance.schemas import ComplianceDay
from tests.server.compliance.test_status_counts import FIRST, LAST, STATUSES, Conn, _fleet

SHORT = timedelta(days=3)


def _page(conn: Conn, scope: Scope, **kw: Any) -> Any:
    paging = ListParams(limit=kw.pop("limit", 7), offset=kw.pop("offset", 0), sort=None)
    return storage_reads.days_page(
        conn,
        scope,
        paging,
        kw.pop("first", FIRST),
        kw.pop("last", LAST),
        board_id=None,
        site_id=None,
        status=kw.pop("status", None),
        model=ComplianceDay,
    )


def _joined_scope(conn: Conn, organisation: int | None) -> Scope:
    """The same board-days through the joined path (sites one by one)."""
    sql = "SELECT id FROM sites" + ("" if organisation is None else " WHERE organisation_id = %s")
    sites = tuple(
        int(r[0]) for r in conn.execute(sql, () if organisation is None else (organisation,))
    )
    return Scope(site_ids=sites or (-1,))


def test_kept_totals_equal_the_joined_ones(db: Conn) -> None:
    a, b = _fleet(db)
    db.execute("DELETE FROM boards WHERE id = 'bd-4'")  # its days leave both totals
    compared = 0
    for organisation in (a, b, None):
        kept = Scope.everything() if organisation is None else Scope(organisation_id=organisation)
        joined = _joined_scope(db, organisation)
        for status in (None, *STATUSES):
            for first, last in (
                (FIRST, LAST),
                (FIRST - timedelta(days=5), FIRST + timedelta(days=3)),
            ):
                for offset in (0, 7):
                    fast = _page(db, kept, status=status, first=first, last=last, offset=offset)
                    slow = _page(db, joined, status=status, first=first, last=last, offset=offset)
                    assert (fast.total, fast.total_capped) == (slow.total, slow.total_capped)
                    assert fast.items == slow.items
                    compared += fast.total
    assert compared > 500


def test_the_kept_total_is_capped_alike(db: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    a, _b = _fleet(db)
    monkeypatch.setattr(pagination, "COUNT_CAP", 20)
    fast = _page(db, Scope(organisation_id=a))
    slow = _page(db, _joined_scope(db, a))
    assert (fast.total, fast.total_capped) == (slow.total, slow.total_capped) == (20, True)


def test_the_kept_total_is_read_instead_of_counting(db: Conn) -> None:
    a, _b = _fleet(db)
    db.execute("DELETE FROM compliance_status_counts")  # the counts say none: so must the total
    assert _page(db, Scope(organisation_id=a)).total == 0
    assert _page(db, _joined_scope(db, a)).total > 0
