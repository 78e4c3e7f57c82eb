"""A site's detail (``GET /api/v1/sites/{id}``, the console's site page)
reads the site and its health in one round trip: the same answer as the
three reads one after another, for each scope that sees the site, and a 404
for one that does not."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg.rows import dict_row

from fleet_server.access.pagination import ListParams
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.boards.storage import board_page
from fleet_server.errors import NotFound
from fleet_server.organisations import storage
from fleet_server.organisations.schemas import SiteDetail
from fleet_server.organisations.service import get_site
from fleet_server.organisations.storage import list_organisations, organisation_names
from tests.server.api.conftest import open_test_incident


class _Caller:
    """What get_site asks of a principal."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def need(self, capability: str) -> None:
        assert capability == "board.read"


def _reference(conn: Any, scope: Scope, site_id: int) -> SiteDetail | None:
    visible, params = sites_condition(scope, "s.id")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT q.* FROM ({storage._SITE_SELECT} WHERE s.id = %s AND {visible}) q",
            [site_id, *params],
        ).fetchone()
        created = cur.execute("SELECT created_at FROM sites WHERE id = %s", (site_id,)).fetchone()
    if row is None:
        return None
    health = storage.site_health(conn, scope, site_id=site_id)
    return SiteDetail(**row, health=health[0], created_at=created["created_at"])


def test_one_round_trip_reads_what_three_did(db_conn: Any) -> None:
    open_test_incident(db_conn, "lc-ma-lu-thang-01")
    sites = db_conn.execute("SELECT id, organisation_id FROM sites ORDER BY id").fetchall()
    assert len({o for _, o in sites}) > 1
    for site_id, organisation in sites:
        for scope in (Scope.everything(), Scope(organisation_id=organisation)):
            expected = _reference(db_conn, scope, site_id)
            assert expected is not None
            assert get_site(db_conn, _Caller(scope), site_id) == expected  # type: ignore[arg-type]
        other = next(o for _, o in sites if o != organisation)
        assert _reference(db_conn, Scope(organisation_id=other), site_id) is None
        with pytest.raises(NotFound):
            get_site(db_conn, _Caller(Scope(organisation_id=other)), site_id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        get_site(db_conn, _Caller(Scope.everything()), 2**40)  # type: ignore[arg-type]


def test_a_sites_boards_are_the_scopes_boards_at_that_site(db_conn: Any) -> None:
    """The site filter reads the scope as keyed probes of that site: the same
    boards as the whole list narrowed to the site, none of another's site."""
    paging = ListParams(limit=500, offset=0, sort=None)
    sites = db_conn.execute("SELECT id, organisation_id FROM sites ORDER BY id").fetchall()
    for site_id, organisation in sites:
        for scope in (Scope.everything(), Scope(organisation_id=organisation)):
            whole = board_page(db_conn, scope, paging).items
            assert board_page(db_conn, scope, paging, site_id=site_id).items == [
                b for b in whole if b.site_id == site_id
            ]
        other = next(o for _, o in sites if o != organisation)
        assert (
            board_page(db_conn, Scope(organisation_id=other), paging, site_id=site_id).items == []
        )


def test_organisation_names_are_the_lists_ids_and_names(db_conn: Any) -> None:
    """The administration pages' choices: the same organisations, in the
    same order, as the list (without their counts)."""
    everything = ListParams(limit=500, offset=0, sort=None)
    organisations = db_conn.execute("SELECT id FROM organisations ORDER BY id").fetchall()
    for scope, own in [(Scope.everything(), None)] + [
        (Scope(organisation_id=o), o) for (o,) in organisations
    ]:
        named = organisation_names(db_conn, scope, own, everything.limit)
        assert organisation_names(db_conn, scope, own, 1) == named[:1]
        listed = list_organisations(db_conn, scope, everything, own_organisation_id=own).items
        assert named == [{"id": i.id, "name": i.name, "name_en": i.name_en} for i in listed]
        assert named
