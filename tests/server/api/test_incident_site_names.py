"""Incidents sorted by site name (``?sort=site_name``) read the copy of the
site's name each incident carries (migration 0055, an indexed order instead
of a sort of every row): the copy follows the site's name whatever changes
it, and the list's order and pages equal the order of the sites' names read
through the join, for each role and both directions (a scoped reader's
pages walk its sites by name: storage_site_order)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api.test_keyset_paging import add_incidents, walk


def _copies(conn: Any) -> list[tuple[int, str | None, str | None]]:
    """Each incident's copy beside its site's name now."""
    return [
        (int(r[0]), r[1], r[2])
        for r in conn.execute(
            "SELECT i.id, i.site_name, s.name FROM incidents i"
            " LEFT JOIN sites s ON s.id = i.site_id ORDER BY i.id"
        )
    ]


def _site_ids(conn: Any) -> list[int]:
    return [int(r[0]) for r in conn.execute("SELECT id FROM sites ORDER BY id")]


def test_the_copy_follows_the_sites_name(db_conn: Any) -> None:
    add_incidents(db_conn, 12)
    first, second = [
        int(r[0]) for r in db_conn.execute("SELECT DISTINCT site_id FROM incidents ORDER BY 1")
    ][:2]
    copies = _copies(db_conn)
    assert copies
    assert all(copy == name and copy for _, copy, name in copies)

    db_conn.execute("UPDATE sites SET name = 'Đổi tên' WHERE id = %s", (first,))
    incident = db_conn.execute(
        "SELECT id FROM incidents WHERE site_id = %s ORDER BY id LIMIT 1", (second,)
    ).fetchone()[0]
    db_conn.execute("UPDATE incidents SET site_id = %s WHERE id = %s", (first, incident))
    # a copy written by hand is put right: it can only ever be the site's name
    db_conn.execute("UPDATE incidents SET site_name = 'wrong' WHERE site_id = %s", (second,))
    db_conn.execute(
        "INSERT INTO incidents (dedupe_key, rule, class, severity, state, title, opened_at)"
        " VALUES ('no-site', 'manual', 'technical', 'minor', 'open', 'no site', now())"
    )
    copies = _copies(db_conn)
    assert all(copy == name for _, copy, name in copies)
    assert {copy for i, copy, _ in copies if i == incident} == {"Đổi tên"}
    assert [copy for _, copy, name in copies if name is None] == [None]


@pytest.mark.parametrize("role", ["admin", "operator", "technician", "district"])
def test_site_name_order_is_the_sites_names(as_: Any, db_conn: Any, role: str) -> None:
    add_incidents(db_conn, 60)
    sites = _site_ids(db_conn)
    # names that sort apart from their ids, two sites sharing one name
    for n, site in enumerate(sites):
        db_conn.execute("UPDATE sites SET name = %s WHERE id = %s", (f"Trạm {(7 * n) % 5}", site))
    client = as_(role)
    seen = {i["id"] for i in walk(client, "/api/v1/incidents", 500)[0]}
    names = db_conn.execute(
        "SELECT i.id, s.name FROM incidents i JOIN sites s ON s.id = i.site_id"
    ).fetchall()
    reference = sorted((name, i) for i, name in names if i in seen)
    for sort, expected in (
        ("site_name", [i for _, i in reference]),
        ("-site_name", [i for _, i in reversed(reference)]),
    ):
        items, totals = walk(client, "/api/v1/incidents", 7, sort=sort)
        assert [i["id"] for i in items] == expected, sort
        assert [i["site_name"] for i in items] == [dict(names)[i] for i in expected]
        assert set(totals) == {len(expected)}
    assert seen or role == "district"
