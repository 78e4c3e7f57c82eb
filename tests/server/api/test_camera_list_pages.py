"""The cameras list in its default order is read one health group at a time
and paged by cursor (cameras/storage_groups.py, issue 20): walked page by
page, it gives the same cameras in the same order, with the same health and
status, as the list sorted whole (the old query, still behind ``sort`` and
``offset``) and as the reference computed from the boards' camera JSON, for
the admin and for scoped accounts; each group's count is exact up to its
cap; and the page's open camera incidents are those of the incidents list."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.access.roles import CAPABILITIES
from fleet_server.access.storage import sites_condition
from fleet_server.cameras import service, storage
from fleet_server.cameras.models import STALE_AFTER
from fleet_server.cameras.storage_groups import GROUPS
from fleet_server.errors import Unprocessable
from fleet_server.incidents.models import IncidentFilter
from fleet_server.incidents.service import list_incidents
from tests.server.api.conftest import open_test_incident
from tests.server.api.test_camera_health import FIELDS, cam, reading, reference, varied
from tests.support import seed
from tests.support.clock import Clock

__all__ = ["varied"]  # the fixture, shared with the camera health tests

#: Accounts and what they see: everything, an organisation's sites, the
#: sites whose cameras a Border Guard unit guards, a district committee's.
ACCOUNTS = {
    "admin": ("admin", None),
    "operator": ("operator", "bql-kkt"),
    "guard": ("border_guard", "bdbp"),
    "district": ("operator", "ubnd-phong-tho"),
}


def principal(conn: Any, key: str) -> Principal:
    role, organisation = ACCOUNTS[key]
    org = None if organisation is None else seed.organisation_id(conn, organisation)
    return Principal(
        user_id=99,
        username=f"test.{key}",
        full_name=key,
        role=role,
        organisation_id=org,
        team=None,
        language="vi",
        province_wide=organisation is None,
        capabilities=CAPABILITIES[role],
    )


@pytest.fixture
def crowded(db_conn: Any, clock: Clock, varied: list[str]) -> None:
    """Besides ``varied``: sites sharing one name (the order goes on by board
    and camera id), at border gates and district centres, boards with no
    camera or three, and readings of every health."""
    gates = seed.sites_of_kind(db_conn, "border_gate")
    guard = seed.organisation_id(db_conn, "bdbp")
    old = clock.now - STALE_AFTER - timedelta(minutes=1)
    statuses = ("timeout", "ok", None, "unreachable", "ok", "unauthorized", "ok")
    for i, organisation in enumerate(("bql-kkt", "ubnd-phong-tho", "bql-kkt")):
        site = seed.site(db_conn, f"same-name-{i}", organisation, name="Cửa khẩu Trùng Tên")
        if organisation == "bql-kkt":
            db_conn.execute(
                "UPDATE sites SET camera_guard_organisation_id = %s WHERE id = %s", (guard, site)
            )
        for j in range(4):
            board = seed.board(db_conn, f"lc-same-{i}-{j}", site)
            ids = [f"c{k}" for k in range(j)]  # 0 to 3 cameras
            for k, camera in enumerate(ids):
                db_conn.execute(
                    "INSERT INTO cameras (board_id, camera_id, name) VALUES (%s, %s, %s)",
                    (board, camera, f"Camera {k}"),
                )
            if j == 3 and i == 1:
                continue  # no reading
            at = old if (i + j) % 3 == 2 else clock.now
            entries = [cam(c, statuses[(i + j + k) % len(statuses)]) for k, c in enumerate(ids)]
            reading(db_conn, board, at, *entries)
        if i == 0:  # a board whose cameras never reported: more unknown than failing or ok
            board = seed.board(db_conn, "lc-same-silent", site)
            for k in range(12):
                db_conn.execute(
                    "INSERT INTO cameras (board_id, camera_id, name) VALUES (%s, %s, 'Camera')",
                    (board, f"c{k}"),
                )
    assert gates  # the seeded fleet has border gates (operator and guard scopes)


def walk(
    conn: Any, user: Principal, clock: Clock, health: str | None, limit: int
) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Every page by cursor: the cameras, and each page's total."""
    items: list[tuple[Any, ...]] = []
    totals: list[int] = []
    cursor = None
    for _ in range(1000):
        page = service.list_cameras(
            conn,
            user,
            ListParams(limit=limit, offset=0, sort=None, cursor=cursor),
            now=clock.now,
            health=health,  # type: ignore[arg-type]
        )
        items += [tuple(getattr(c, f) for f in FIELDS) for c in page.items]
        totals.append(page.total)
        assert not page.total_capped
        if page.next_cursor is None:
            return items, totals
        assert len(page.items) == limit
        cursor = page.next_cursor
    raise AssertionError("the pages never end")


def sorted_whole(conn: Any, user: Principal, clock: Clock, health: str | None) -> list[Any]:
    """The old list: every camera sorted in one query, paged by offset."""
    page = storage.camera_page(
        conn,
        user.scope,
        ListParams(limit=500, offset=0, sort=None),
        stale_before=clock.now - STALE_AFTER,
        health=health,
    )
    assert page.total == len(page.items)
    return [tuple(getattr(c, f) for f in FIELDS) for c in page.items]


@pytest.mark.parametrize("key", list(ACCOUNTS))
def test_pages_by_cursor_give_the_old_list(
    db_conn: Any, clock: Clock, crowded: None, key: str
) -> None:
    user = principal(db_conn, key)
    stale = clock.now - STALE_AFTER
    where, params = sites_condition(user.scope, "b.site_id")
    for health in (None, "failing", "unknown", "ok"):
        expected = reference(db_conn, stale, where, params, health)
        assert sorted_whole(db_conn, user, clock, health) == expected
        for limit in (500, 7, 3, 1):
            items, totals = walk(db_conn, user, clock, health, limit)
            assert items == expected, (health, limit)
            assert set(totals) == {len(expected)}
    everyone = reference(db_conn, stale, where, params, None)
    assert {h for *_, h in everyone} == {"failing", "unknown", "ok"}
    if key != "admin":
        assert 0 < len(everyone) < len(reference(db_conn, stale, "TRUE", [], None))


@pytest.mark.parametrize("key", ["admin", "operator"])
def test_each_group_counted_up_to_its_cap(
    db_conn: Any, clock: Clock, crowded: None, key: str
) -> None:
    user = principal(db_conn, key)
    where, params = sites_condition(user.scope, "b.site_id")
    everyone = reference(db_conn, clock.now - STALE_AFTER, where, params, None)
    exact = {h: sum(1 for *_, g in everyone if g == h) for h in GROUPS}

    def counted(cap: int) -> dict[str, tuple[int, bool]]:
        counts = service.health_counts(db_conn, user, now=clock.now, cap=cap)
        assert list(counts) == ["failing", "unknown", "ok"]
        return {h: (c.n, c.capped) for h, c in counts.items()}

    assert counted(1000) == {h: (n, False) for h, n in exact.items()}
    # failing and ok exact: the unknown ones are the rest, however many
    cap = max(exact["failing"], exact["ok"])
    assert exact["unknown"] > cap
    assert counted(cap) == {h: (n, False) for h, n in exact.items()}
    # one of them beyond its cap: every group counted up to it
    cap = min(exact.values())
    assert len(set(exact.values())) == 3
    assert counted(cap) == {h: (min(n, cap), n > cap) for h, n in exact.items()}


def relabelled(cursor: str, name: str) -> str:
    """The same position, as the cursor of the list ``name``."""
    doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    text = json.dumps(doc | {"l": name}).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def test_a_position_of_another_list_or_order_is_refused(
    db_conn: Any, clock: Clock, crowded: None
) -> None:
    admin = principal(db_conn, "admin")

    def page(**paging: Any) -> Any:
        health = paging.pop("health", None)
        params = ListParams(**({"limit": 2, "offset": 0, "sort": None} | paging))
        return service.list_cameras(db_conn, admin, params, now=clock.now, health=health)

    failing = page(health="failing").next_cursor
    assert failing is not None
    assert page(health="failing", cursor=failing).items
    for bad in (
        {"cursor": "not-a-cursor"},
        {"cursor": failing, "health": "ok"},  # another health's position
        {"cursor": failing, "sort": "site_name"},
        {"cursor": failing, "offset": 2},
        {"cursor": relabelled(failing, "incidents")},  # another list's
    ):
        with pytest.raises(Unprocessable):
            page(**bad)
    # sort and offset still read the list sorted whole
    by_site = page(sort="site_name", limit=500).items
    assert [c.site_name for c in by_site] == sorted(c.site_name for c in by_site)
    assert page(offset=2).items == page(limit=4).items[2:]


def test_the_open_camera_incidents_of_the_page(
    db_conn: Any, clock: Clock, varied: list[str]
) -> None:
    """Every open or acknowledged camera incident the account sees, worst and
    newest first, however many other incidents are open and worse."""
    rules = ("camera_unreachable", "camera_black", "board_offline", "mains_lost")
    severities = ("critical", "major", "minor")
    opened = []
    for i, board in enumerate(varied):
        for j, rule in enumerate(rules):
            severity = severities[(i + j) % 3] if rule.startswith("camera") else "critical"
            opened.append(
                open_test_incident(db_conn, board, rule, severity=severity, now=clock.now)
            )
    db_conn.execute(
        "UPDATE incidents SET state = 'acknowledged' WHERE id = ANY(%s)", (opened[::5],)
    )
    db_conn.execute(
        "UPDATE incidents SET state = 'resolved', resolved_at = %s WHERE id = ANY(%s)",
        (clock.now, opened[1::7]),
    )
    for key in ACCOUNTS:
        user = principal(db_conn, key)
        every = list_incidents(
            db_conn, user, ListParams(limit=500, offset=0, sort=None), IncidentFilter.active()
        ).items
        want = [i.id for i in every if i.rule.startswith("camera")]
        assert want, key
        if key != "guard":  # the Border Guard sees camera incidents only
            assert len(every) > len(want), key
        shown = service.open_camera_incidents(db_conn, user, limit=500)
        assert [i.id for i in shown] == want
        assert shown == [i for i in every if i.rule.startswith("camera")]
        assert [i.id for i in service.open_camera_incidents(db_conn, user, limit=3)] == want[:3]
