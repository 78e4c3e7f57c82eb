"""Principal.site_clause against the seeded fleet: the SQL it writes selects
exactly the sites the account's organisation, own sites and team give it."""

from __future__ import annotations

from typing import Any

import pytest

from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition


def _principal(**kw: Any) -> Principal:
    base: dict[str, Any] = {
        "user_id": 1,
        "username": "x",
        "full_name": "X",
        "role": "viewer",
        "organisation_id": None,
        "team": None,
        "language": "vi",
    }
    return Principal(**(base | kw))


def _visible(conn: Any, who: Principal) -> set[str]:
    clause, params = sites_condition(who.scope, "s.id")
    return {r[0] for r in conn.execute(f"SELECT code FROM sites s WHERE {clause}", params)}


def _codes(conn: Any, sql: str, *params: Any) -> set[str]:
    return {r[0] for r in conn.execute(sql, params)}


def _org(conn: Any, code: str) -> int:
    row = conn.execute("SELECT id FROM organisations WHERE code = %s", (code,)).fetchone()
    return int(row[0])


def test_no_organisation_no_sites_no_team_sees_nothing(db_conn: Any) -> None:
    assert _visible(db_conn, _principal()) == set()


def test_organisation_only(db_conn: Any) -> None:
    org = _org(db_conn, "bql-kkt")
    expected = _codes(db_conn, "SELECT code FROM sites WHERE organisation_id = %s", org)
    assert expected
    assert _visible(db_conn, _principal(role="operator", organisation_id=org)) == expected


@pytest.mark.parametrize("with_org", [False, True])
def test_own_sites_add_to_the_organisation(db_conn: Any, with_org: bool) -> None:
    org = _org(db_conn, "ubnd-phong-tho")
    extra = db_conn.execute(
        "SELECT id, code FROM sites WHERE organisation_id <> %s ORDER BY id LIMIT 1", (org,)
    ).fetchone()
    who = _principal(organisation_id=org if with_org else None, site_ids=(extra[0],))
    expected = {extra[1]}
    if with_org:
        expected |= _codes(db_conn, "SELECT code FROM sites WHERE organisation_id = %s", org)
    assert _visible(db_conn, who) == expected


def test_technician_team_sites(db_conn: Any) -> None:
    who = _principal(role="technician", team="to-ky-thuat-bien-gioi")
    expected = _codes(
        db_conn,
        "SELECT s.code FROM sites s JOIN site_teams t ON t.site_id = s.id WHERE t.team = %s",
        "to-ky-thuat-bien-gioi",
    )
    assert expected
    assert _visible(db_conn, who) == expected


def test_province_wide_sees_every_site(db_conn: Any) -> None:
    everything = _codes(db_conn, "SELECT code FROM sites")
    assert _visible(db_conn, _principal(province_wide=True)) == everything
