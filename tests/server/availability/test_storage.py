"""The Python wrapper: names added, sites narrowed by a scope."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fleet_server.access.scope import Scope
from fleet_server.availability import storage
from fleet_server.availability.models import Period
from fleet_server.availability.period import month, until
from tests.server.availability.conftest import DAY, T0, Fleet

DAY_ONE = Period(T0, T0 + timedelta(days=1))


def _fleet(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.board("b2", site="site-2")
    fleet.board("b3", site="site-3", org="org-b")
    for board in ("b1", "b2", "b3"):
        fleet.history(board, (T0, "online"))


def test_rows_carry_names_and_figures(fleet: Fleet) -> None:
    _fleet(fleet)
    boards = storage.board_availability(fleet.conn, DAY_ONE)
    assert [b.board_id for b in boards] == ["b1", "b2", "b3"]
    first = boards[0]
    assert (first.board_name, first.site_code, first.organisation_code) == (
        "Bảng b1",
        "site-1",
        "org-a",
    )
    assert first.figures.up_s == DAY
    assert first.figures.availability == 1.0
    sites = storage.site_availability(fleet.conn, DAY_ONE)
    assert [(s.site_code, s.boards) for s in sites] == [
        ("site-1", 1),
        ("site-2", 1),
        ("site-3", 1),
    ]
    orgs = storage.organisation_availability(fleet.conn, DAY_ONE)
    assert [(o.organisation_code, o.sites, o.boards) for o in orgs] == [
        ("org-a", 2, 2),
        ("org-b", 1, 1),
    ]
    assert orgs[0].figures.expected_s == 2 * DAY


def test_scope_and_filters_narrow_the_sites(fleet: Fleet) -> None:
    _fleet(fleet)
    org_b = fleet.orgs["org-b"]
    scope = Scope(organisation_id=org_b)
    assert [b.board_id for b in storage.board_availability(fleet.conn, DAY_ONE, scope=scope)] == [
        "b3"
    ]
    by_site = storage.board_availability(fleet.conn, DAY_ONE, site_id=fleet.sites["site-2"])
    assert [b.board_id for b in by_site] == ["b2"]
    by_org = storage.site_availability(fleet.conn, DAY_ONE, organisation_id=fleet.orgs["org-a"])
    assert [s.site_code for s in by_org] == ["site-1", "site-2"]


def test_a_scope_that_sees_nothing_gets_nothing_not_everything(fleet: Fleet) -> None:
    _fleet(fleet)
    nothing = Scope()  # no organisation, no sites of its own
    assert storage.board_availability(fleet.conn, DAY_ONE, scope=nothing) == []
    assert storage.organisation_availability(fleet.conn, DAY_ONE, scope=nothing) == []
    outside = storage.board_availability(
        fleet.conn,
        DAY_ONE,
        scope=Scope(organisation_id=fleet.orgs["org-b"]),
        site_id=fleet.sites["site-1"],
    )
    assert outside == []


def test_months_are_local_and_never_reach_past_now() -> None:
    november = month("2026-11")
    assert november.start.isoformat() == "2026-11-01T00:00:00+07:00"
    assert november.end.isoformat() == "2026-12-01T00:00:00+07:00"
    assert month("2026-12").end.isoformat() == "2027-01-01T00:00:00+07:00"
    mid = november.start + timedelta(days=10)
    assert until(november, mid) == Period(november.start, mid)
    assert until(november, november.start - timedelta(days=1)).end == november.start


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "november", "1999-01"])
def test_a_bad_month_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month(text)
