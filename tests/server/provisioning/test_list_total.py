"""The provisioning list's pages and total: walked by cursor, every board of
the filter once, in the list's order (newest provisioned first, then by id);
with the boards per status given (the console's tabs), each page and its
total the same as when counted, for every status filter and none; a search
still counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from fleet_server.access.pagination import ListParams
from fleet_server.access.scope import Scope
from fleet_server.provisioning import storage_list
from fleet_server.provisioning.schemas_list import PROVISION_STATUSES
from tests.support import seed

Conn = psycopg.Connection[Any]
T = datetime(2026, 1, 1, tzinfo=UTC)


def test_known_total_gives_the_counted_page(db: Conn) -> None:
    organisation = seed.organisation(db, "org-a")
    other = seed.organisation(db, "org-b")
    seed.site(db, "a-1", "org-a")
    seed.site(db, "b-1", "org-b")
    for i in range(7):
        seed.board(db, f"a-{i}", "a-1", enabled=i % 3 != 0)
    seed.board(db, "b-0", "b-1")
    db.execute("UPDATE boards SET provisioned_at = now() WHERE id IN ('a-1', 'a-2')")
    db.execute("UPDATE boards SET provisioned_at = now() - interval '1 day' WHERE id = 'a-4'")
    db.execute("UPDATE boards SET removed_at = now(), enabled = false WHERE id = 'a-6'")
    for scope in (
        Scope(organisation_id=organisation),
        Scope(organisation_id=other),
        Scope.everything(),
    ):
        counts = storage_list.status_counts(db, scope)
        for status in (None, *PROVISION_STATUSES):
            known = counts.get(status, 0) if status else sum(counts.values())
            counted = _walk(db, scope, status, None)
            given = _walk(db, scope, status, lambda known=known: (known, False))
            assert given == counted, (scope, status)
            rows = [board for page in counted for board in page.items]
            assert len(rows) == known
            assert {page.total for page in counted} <= {known}
            assert all(status in (None, board.status) for board in rows)
            order = [(b.provisioned_at is None, -(b.provisioned_at or T).timestamp()) for b in rows]
            assert order == sorted(order)
            ids = [b.id for b in rows]
            assert len(set(ids)) == len(ids)
            ties = [b.id for b in rows if b.provisioned_at is None]
            assert ties == sorted(ties, reverse=True)
        searched = storage_list.boards_page(
            db, scope, ListParams(limit=1, offset=0, sort=None), q="a-", count=lambda: (99, False)
        )
        assert searched.total == (0 if scope.organisation_id == other else 7)  # counted


def _walk(db: Conn, scope: Scope, status: str | None, count: Any) -> list[Any]:
    """Every page of the list, two boards a page, by cursor."""
    pages: list[Any] = []
    cursor = None
    for _ in range(20):
        paging = ListParams(limit=2, offset=0, sort=None, cursor=cursor)
        page = storage_list.boards_page(db, scope, paging, status=status, count=count)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages
    raise AssertionError("the walk did not end")
