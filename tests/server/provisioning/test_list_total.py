"""The provisioning list's page and total: with the boards per status given
(the console's tabs), the page is the same and its total the same as when
counted, for every status filter and none; a search still counts."""

from __future__ import annotations

from typing import Any

import psycopg

from fleet_server.access.pagination import ListParams
from fleet_server.access.scope import Scope
from fleet_server.provisioning import storage_list
from fleet_server.provisioning.schemas_list import PROVISION_STATUSES
from tests.support import seed

Conn = psycopg.Connection[Any]


def test_known_total_gives_the_counted_page(db: Conn) -> None:
    organisation = seed.organisation(db, "org-a")
    other = seed.organisation(db, "org-b")
    seed.site(db, "a-1", "org-a")
    seed.site(db, "b-1", "org-b")
    for i in range(7):
        seed.board(db, f"a-{i}", "a-1", enabled=i % 3 != 0)
    seed.board(db, "b-0", "b-1")
    db.execute("UPDATE boards SET provisioned_at = now() WHERE id IN ('a-1', 'a-2', 'a-4')")
    db.execute("UPDATE boards SET removed_at = now(), enabled = false WHERE id = 'a-6'")
    for scope in (
        Scope(organisation_id=organisation),
        Scope(organisation_id=other),
        Scope.everything(),
    ):
        counts = storage_list.status_counts(db, scope)
        for status in (None, *PROVISION_STATUSES):
            for offset in (0, 2, 4):
                paging = ListParams(limit=2, offset=offset, sort="-name")
                counted = storage_list.boards_page(db, scope, paging, status=status)
                known = counts.get(status, 0) if status else sum(counts.values())
                given = storage_list.boards_page(db, scope, paging, status=status, total=known)
                assert given == counted, (scope, status, offset)
        searched = storage_list.boards_page(
            db, scope, ListParams(limit=1, offset=0, sort=None), q="a-", total=99
        )
        assert searched.total == (0 if scope.organisation_id == other else 7)  # counted
