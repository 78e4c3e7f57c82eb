"""Keyset paging of the incidents, tickets, audit-log and boards lists:
walking every page by cursor gives each row once, in order, for every sort
(with ties in the sort key) and for each role's scope; a row added during
the walk moves nothing; hostile cursors are refused with a 422 naming the
parameter; the total is counted up to 10,000."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fleet_server.access.pagination import COUNT_CAP
from tests.server.api.conftest import set_status

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
RANK = {"critical": 3, "major": 2, "minor": 1, "warning": 0}


def _sites(conn: Any) -> list[tuple[int, int]]:
    return [(int(r[0]), int(r[1])) for r in conn.execute("SELECT id, organisation_id FROM sites")]


def add_incidents(conn: Any, count: int) -> None:
    """``count`` incidents on every site, few distinct opening times (ties),
    severities, states and rules; a site incident (no board) every fifth."""
    boards = [str(r[0]) for r in conn.execute("SELECT id FROM boards ORDER BY id")]
    sites = dict(conn.execute("SELECT b.id, b.site_id FROM boards b").fetchall())
    orgs = dict(_sites(conn))
    for i in range(count):
        board = boards[i % len(boards)]
        site = sites[board]
        conn.execute(
            "INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id, site_id,"
            " organisation_id, title, opened_at) VALUES (%s, %s, 'technical', %s, %s, %s, %s,"
            " %s, %s, %s)",
            (
                f"paging:{i}",
                ("board_offline", "power_low", "site_down")[i % 3],
                tuple(RANK)[i % 4],
                ("open", "acknowledged", "resolved")[i % 3 if i % 7 else 2],
                None if i % 5 == 0 else board,
                site,
                orgs[site],
                f"incident {i}",
                T0 + timedelta(minutes=i % 4),
            ),
        )


def add_tickets(conn: Any, count: int) -> None:
    sites = _sites(conn)
    for i in range(count):
        at = T0 + timedelta(hours=i % 3)
        conn.execute(
            "INSERT INTO tickets (site_id, kind, priority, state, title, due_at, created_by,"
            " created_at, updated_at) VALUES (%s, 'corrective', %s, %s, %s, %s, 'test', %s, %s)",
            (
                sites[i % len(sites)][0],
                ("urgent", "high", "normal", "low")[i % 4],
                ("open", "assigned", "in_progress", "on_hold", "resolved", "closed")[i % 6],
                f"ticket {i}",
                T0 + timedelta(days=i % 2),
                at,
                at + timedelta(minutes=i % 2),
            ),
        )


def add_audit(conn: Any, count: int, at: datetime = T0) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, target_type, target_id)"
        " SELECT %s + mod(n, 3) * interval '1 second', 'actor-' || mod(n, 4),"
        " 'paging.' || mod(n, 2), 'test', n::text FROM generate_series(1, %s) n",
        (at, count),
    )


def walk(client: Any, url: str, limit: int, **params: Any) -> tuple[list[Any], list[int]]:
    """Every item of every page, by cursor; and the totals each page gave."""
    items: list[Any] = []
    totals: list[int] = []
    cursor = None
    for _ in range(1000):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        totals.append(page["total"])
        cursor = page["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return items, totals
        link = response.headers["link"]
        assert link.startswith(f"<{url}?")
        assert link.endswith('>; rel="next"')
        assert "cursor=" in link
    raise AssertionError("the walk did not end")


def assert_walk(client: Any, url: str, sort: str | None, limit: int, **params: Any) -> list[Any]:
    """Walk the list by cursor and compare with the same list read in one page."""
    query = {**params, **({"sort": sort} if sort else {})}
    whole = client.get(url, params={**query, "limit": 500})
    assert whole.status_code == 200, whole.text
    expected = [i["id"] for i in whole.json()["items"]]
    assert whole.json()["next_cursor"] is None
    items, totals = walk(client, url, limit, **query)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)), f"{sort}: a row twice"
    assert ids == expected, f"{sort}: not every row once in order"
    assert set(totals) == {len(expected)}
    return items


#: Fields whose order Python can check (text follows the database's collation).
CHECKED = {"id", "opened_at", "severity", "at", "state_since", "last_seen_at"}
CHECKED |= {"open_incidents", "installed_on", "created_at", "updated_at", "due_at"}


def _ordered(items: list[Any], field: str, descending: bool) -> None:
    """Each item's ``field`` in order, NULLs last whichever the direction."""
    if field not in CHECKED:
        return
    values = [RANK[i[field]] if field == "severity" else i[field] for i in items]
    present = [v for v in values if v is not None]
    assert values == present + [None] * (len(values) - len(present)), field
    assert present == sorted(present, reverse=descending), field


INCIDENT_SORTS = ("id", "opened_at", "severity", "state", "rule", "board_id", "site_name")


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_incidents_walk_every_sort(as_: Any, db_conn: Any, role: str) -> None:
    add_incidents(db_conn, 60)
    client = as_(role)
    default = assert_walk(client, "/api/v1/incidents", None, 7)
    assert default
    keys = [(RANK[i["severity"]], i["opened_at"], i["id"]) for i in default]
    assert keys == sorted(keys, reverse=True)  # worst, newest, highest id first
    for name in INCIDENT_SORTS:
        for sort in (name, f"-{name}"):
            items = assert_walk(client, "/api/v1/incidents", sort, 7)
            _ordered(items, name, sort.startswith("-"))
    # filters stay in force on every page
    assert_walk(client, "/api/v1/incidents", "-opened_at", 4, state=["open", "acknowledged"])
    assert_walk(client, "/api/v1/incidents", "board_id", 3, severity=["minor"])


def test_walk_stays_in_the_callers_scope(as_: Any, db_conn: Any) -> None:
    """A cursor is a position: the admin's cursor read by an operator gives
    the operator's rows after that position, never another organisation's."""
    add_incidents(db_conn, 60)
    admin_items, _ = walk(as_("admin"), "/api/v1/incidents", 500, sort="-opened_at")
    operator_ids = {
        i["id"] for i in walk(as_("operator"), "/api/v1/incidents", 500, sort="-opened_at")[0]
    }
    assert operator_ids < {i["id"] for i in admin_items}
    cursor = (
        as_("admin")
        .get("/api/v1/incidents", params={"sort": "-opened_at", "limit": 3})
        .json()["next_cursor"]
    )
    response = as_("operator").get(
        "/api/v1/incidents", params={"sort": "-opened_at", "limit": 500, "cursor": cursor}
    )
    assert response.status_code == 200
    assert {i["id"] for i in response.json()["items"]} <= operator_ids


def test_row_added_during_the_walk(as_: Any, db_conn: Any) -> None:
    """Rows opened meanwhile (before and after the position) neither repeat
    nor hide the rows that were there."""
    add_incidents(db_conn, 30)
    admin = as_("admin")
    before = [i["id"] for i in walk(admin, "/api/v1/incidents", 500, sort="-opened_at")[0]]
    first = admin.get("/api/v1/incidents", params={"sort": "-opened_at", "limit": 10}).json()
    seen = [i["id"] for i in first["items"]]
    add_incidents_at(db_conn, [T0 + timedelta(hours=1), T0 + timedelta(minutes=2), T0])
    cursor = first["next_cursor"]
    while cursor:
        page = admin.get(
            "/api/v1/incidents", params={"sort": "-opened_at", "limit": 10, "cursor": cursor}
        ).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in set(before)] == before


def add_incidents_at(conn: Any, times: list[datetime]) -> None:
    board, site, org = conn.execute(
        "SELECT b.id, b.site_id, s.organisation_id FROM boards b JOIN sites s ON s.id = b.site_id"
        " ORDER BY b.id LIMIT 1"
    ).fetchone()
    for n, at in enumerate(times):
        conn.execute(
            "INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id, site_id,"
            " organisation_id, title, opened_at) VALUES (%s, 'board_offline', 'technical',"
            " 'major', 'open', %s, %s, %s, 'meanwhile', %s)",
            (f"meanwhile:{n}", board, site, org, at),
        )


TICKET_SORTS = ("id", "created_at", "updated_at", "due_at", "priority", "state")


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_tickets_walk_every_sort(as_: Any, db_conn: Any, role: str) -> None:
    add_tickets(db_conn, 40)
    client = as_(role)
    assert assert_walk(client, "/api/v1/tickets", None, 6)
    for name in TICKET_SORTS:
        for sort in (name, f"-{name}"):
            _ordered(assert_walk(client, "/api/v1/tickets", sort, 6), name, sort.startswith("-"))
    assert_walk(client, "/api/v1/tickets", "priority", 4, state=["open", "assigned"])


def test_audit_walk_every_sort(as_: Any, db_conn: Any) -> None:
    add_audit(db_conn, 40)
    admin = as_("admin")
    assert admin.get("/api/v1/audit-log").status_code == 200  # the login's own row first
    for name in (None, "id", "-id", "at", "-at", "actor", "-actor", "action", "-action"):
        items = assert_walk(admin, "/api/v1/audit-log", name, 6, target_type="test")
        if name:
            _ordered(items, name.lstrip("-"), name.startswith("-"))
    assert as_("operator").get("/api/v1/audit-log").status_code == 403


BOARD_SORTS = (
    "id",
    "name",
    "site_name",
    "state",
    "state_since",
    "last_seen_at",
    "open_incidents",
    "installed_on",
)


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_boards_walk_every_sort(as_: Any, db_conn: Any, role: str) -> None:
    boards = [str(r[0]) for r in db_conn.execute("SELECT id FROM boards ORDER BY id")]
    for n, board in enumerate(boards[:9]):  # the rest: no state yet (NULLs)
        set_status(db_conn, board, ("online", "offline")[n % 2], T0 + timedelta(minutes=n % 3))
        db_conn.execute(
            "UPDATE boards SET installed_on = %s WHERE id = %s",
            (date(2025, 1, 1 + n % 2) if n % 4 else None, board),
        )
    add_incidents(db_conn, 20)
    client = as_(role)
    for name in BOARD_SORTS:
        for sort in (name, f"-{name}"):
            items = assert_walk(client, "/api/v1/boards", sort, 2)
            _ordered(items, name, sort.startswith("-"))
    assert_walk(client, "/api/v1/boards", "-last_seen_at", 2, state="offline")


# -- refusals ---------------------------------------------------------------------------


def _cursor(doc: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def refused(client: Any, url: str, status: int = 422, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return dict(response.json())


def test_hostile_cursors_are_refused(as_: Any, db_conn: Any) -> None:
    add_incidents(db_conn, 10)
    add_tickets(db_conn, 10)
    admin = as_("admin")
    url = "/api/v1/incidents"
    good = admin.get(url, params={"sort": "-opened_at", "limit": 2}).json()["next_cursor"]
    ticket = admin.get("/api/v1/tickets", params={"limit": 2}).json()["next_cursor"]
    hostile = {
        "garbage": "!!not-a-cursor!!",
        "not utf-8": base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        "not json": base64.urlsafe_b64encode(b"opened_at=5").decode(),
        "nested": base64.urlsafe_b64encode(b"[" * 1500).decode()[:2000],
        "a list": _cursor([1, 2]),
        "other version": _cursor({"v": 2, "l": "incidents", "s": "-opened_at", "k": [0, 1]}),
        "other list": ticket,
        "wrong type": _cursor({"v": 1, "l": "incidents", "s": "-opened_at", "k": ["x", 1]}),
        "naive time": _cursor(
            {"v": 1, "l": "incidents", "s": "-opened_at", "k": ["2026-05-01T08:00:00", 1]}
        ),
        "huge id": _cursor(
            {"v": 1, "l": "incidents", "s": "-opened_at", "k": ["2026-05-01T08:00:00Z", 2**70]}
        ),
        "bool id": _cursor(
            {"v": 1, "l": "incidents", "s": "-opened_at", "k": ["2026-05-01T08:00:00Z", True]}
        ),
        "null key": _cursor({"v": 1, "l": "incidents", "s": "-opened_at", "k": [None, 1]}),
        "too few keys": _cursor({"v": 1, "l": "incidents", "s": "-opened_at", "k": [1]}),
    }
    for what, cursor in hostile.items():
        problem = refused(admin, url, sort="-opened_at", cursor=cursor)
        assert problem["detail"].startswith("cursor: "), what
        assert problem["errors"][0]["field"] == "cursor", what
    other_sort = refused(admin, url, sort="id", cursor=good)
    assert "another sort" in other_sort["detail"]
    huge = refused(admin, url, cursor="A" * 5000)
    assert huge["errors"][0]["field"].endswith("cursor")
    # a ticket's priority out of its set never reaches PostgreSQL's enum
    bad_priority = _cursor({"v": 1, "l": "tickets", "s": "priority", "k": ["very", 1]})
    assert refused(admin, "/api/v1/tickets", sort="priority", cursor=bad_priority)
    # a NUL in a text key
    nul = _cursor({"v": 1, "l": "boards", "s": "name", "k": ["a\x00b", "x"]})
    assert refused(admin, "/api/v1/boards", sort="name", cursor=nul)


def test_offset_is_bounded_and_not_mixed_with_cursor(as_: Any, db_conn: Any) -> None:
    add_incidents(db_conn, 10)
    admin = as_("admin")
    for url in ("/api/v1/incidents", "/api/v1/tickets", "/api/v1/audit-log", "/api/v1/boards"):
        assert admin.get(url, params={"offset": 10_000}).status_code == 200
        too_deep = refused(admin, url, offset=10_001)
        assert [e["field"] for e in too_deep["errors"]] == ["offset"]
        assert "cursor" in too_deep["detail"]
        both = refused(admin, url, offset=0, cursor="abc")
        assert [e["field"] for e in both["errors"]] == ["cursor", "offset"]
    # an offset page still gives the cursor of the page after it
    page = admin.get("/api/v1/incidents", params={"offset": 2, "limit": 3, "sort": "id"}).json()
    ids = [i["id"] for i in admin.get("/api/v1/incidents", params={"sort": "id"}).json()["items"]]
    after = admin.get(
        "/api/v1/incidents", params={"cursor": page["next_cursor"], "limit": 3, "sort": "id"}
    ).json()
    assert [i["id"] for i in after["items"]] == ids[5:8]


def test_total_is_capped(as_: Any, db_conn: Any) -> None:
    add_audit(db_conn, COUNT_CAP + 5)
    admin = as_("admin")
    first = admin.get("/api/v1/audit-log", params={"limit": 5, "target_type": "test"}).json()
    assert (first["total"], first["total_capped"]) == (COUNT_CAP, True)
    second = admin.get(
        "/api/v1/audit-log",
        params={"limit": 5, "target_type": "test", "cursor": first["next_cursor"]},
    ).json()
    assert (second["total"], second["total_capped"]) == (COUNT_CAP, True)
    assert {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in first["items"]})
    few = admin.get("/api/v1/audit-log", params={"limit": 5, "actor": "nobody"}).json()
    assert (few["total"], few["total_capped"], few["next_cursor"]) == (0, False, None)
