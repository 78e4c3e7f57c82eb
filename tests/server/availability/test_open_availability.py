"""Today's open part from the stored end states (migration 0053):
``fleet_board_availability_open`` gives the figures of the 0016 function
over varied histories around the real today (the functions never count
past now()), with days closed or not, end states stored or not, late
history, windows and boards added, moved or disabled today; and the
storage reads that use it equal the live functions at every level."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleet_server.access.principal import Principal
from fleet_server.access.scope import Scope
from fleet_server.availability import cache, days, service, storage
from fleet_server.availability.models import Period
from fleet_server.localtime import local_day, local_midnight
from fleet_server.organisations.health_cache import VersionedCache
from tests.server.availability.conftest import Conn, Fleet
from tests.server.availability.test_days import _close, _f, _live, _read

READ = frozenset({"board.read"})
OPEN = "fleet_board_availability_open"
LIVE = "fleet_board_availability"
H = timedelta(hours=1)
D = timedelta(days=1)


def _now() -> datetime:
    return datetime.now(UTC)


def _midnight() -> datetime:
    """Today's local midnight (the database's today: it runs on this clock)."""
    return local_midnight(local_day(_now()))


def _fleet(fleet: Fleet) -> None:
    m = _midnight()
    ten_days_ago = local_day(m) - timedelta(days=10)
    for board in ("b1", "b2", "b3"):
        fleet.board(board, installed_on=ten_days_ago)
    fleet.board("b4", site="site-2", installed_on=ten_days_ago)
    fleet.board("b5", site="site-3", org="org-b", installed_on=ten_days_ago)
    fleet.board("b6", site="site-3", org="org-b", installed_on=ten_days_ago)
    # installed today, with history from before (a board moved from stock)
    fleet.board("b7", site="site-2", installed_on=local_day(m))
    # created (not installed) today, a little after midnight
    fleet.board("b8", site="site-2", installed_on=None, created_at=m + timedelta(minutes=1))
    fleet.board("b9", site="site-3", org="org-b", installed_on=ten_days_ago)  # no history
    fleet.history("b1", (m - 5 * D, "online"), (m - D + 22 * H, "offline"))
    fleet.history("b1", (m + timedelta(minutes=2), "online"))
    fleet.history("b2", (m - 3 * D, "online"), (m, "stale"))  # a change at midnight exactly
    fleet.history("b2", (m, "online"))  # the same instant: insertion order decides
    fleet.history("b3", (m - 2 * D, "lost"))  # no change today
    fleet.history("b4", (m - 4 * D, "online"), (m - 1 * D, "weird"))
    fleet.history("b4", (m + timedelta(seconds=30), "offline"))
    fleet.history("b5", (m - 6 * D, "offline"), (m - 2 * D + 3 * H, "online"))
    fleet.history("b6", (m - D + 23.5 * H, "online"))
    fleet.history("b7", (m - 7 * D, "offline"), (m - 12 * H, "online"))
    fleet.history("b8", (m - 2 * H, "online"), (m + timedelta(seconds=10), "offline"))
    fleet.window(m - 2 * D + 23 * H, m - 2 * D + 24.5 * H, site="site-1", recurrence="daily")
    fleet.window(m - 30 * timedelta(minutes=1), m + timedelta(minutes=5), board_id="b4")
    fleet.window(m - 6 * D + 2 * H, m - 6 * D + 3 * H, site="site-3", recurrence="weekly")
    # disabled a minute after midnight
    fleet.conn.execute(
        "UPDATE boards SET enabled = false, disabled_at = %s WHERE id = 'b6'",
        (m + timedelta(minutes=1),),
    )


def _function(
    conn: Conn, name: str, start: datetime, end: datetime, exclude: bool, sites: Any
) -> dict[Any, Any]:
    rows = conn.execute(
        f"SELECT * FROM {name}(%s, %s, %s, %s::bigint[])", (start, end, exclude, sites)
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def _starts() -> list[datetime]:
    m = _midnight()
    return [m, m - D, m - 3 * D, m + timedelta(minutes=1), m - D + 5.5 * H, m - 20 * D]


def _same_as_0016(fleet: Fleet) -> int:
    """The open function equals 0016's over every start, end, choice and
    set of sites; the comparisons made."""
    conn = fleet.conn
    now = _now()
    site_sets = [None, [fleet.sites["site-2"], fleet.sites["site-3"]], []]
    compared = 0
    for start in _starts():
        for end in (now + H, _midnight() + timedelta(minutes=3), start + 2 * H):
            if end <= start:
                continue
            for exclude in (True, False):
                for sites in site_sets:
                    with conn.transaction():  # one now() for both
                        got = _function(conn, OPEN, start, end, exclude, sites)
                        want = _function(conn, LIVE, start, end, exclude, sites)
                    assert got.keys() == want.keys(), (start, end, exclude, sites)
                    for board, row in want.items():
                        assert _close(got[board], row), (start, end, exclude, sites, board)
                    compared += len(want)
    return compared


def _end_states(conn: Conn) -> list[tuple[Any, ...]]:
    """Each stored row's end state, and the state the history gives it."""
    return conn.execute(
        """SELECT d.board_id, d.day, d.end_state,
                  coalesce((SELECT h.state FROM board_status_history h
                             WHERE h.board_id = d.board_id
                               AND h.at < (d.day + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
                             ORDER BY h.at DESC, h.id DESC LIMIT 1), 'unknown')
           FROM board_availability_days d ORDER BY d.board_id, d.day"""
    ).fetchall()


def test_the_open_function_gives_the_0016_figures(fleet: Fleet) -> None:
    _fleet(fleet)
    conn = fleet.conn
    assert _same_as_0016(fleet) > 0  # nothing stored: every state probed
    assert days.fill(conn, _now())
    states = _end_states(conn)
    assert states
    assert all(row[2] == row[3] for row in states)
    assert {row[2] for row in states} >= {"online", "offline", "lost", "unknown", "weird"}
    assert _same_as_0016(fleet) > 0
    # late history: a closed day's change (its end states recomputed), and
    # today's rows (none)
    fleet.history("b3", (_midnight() - D + 20 * H, "online"))
    fleet.history("b9", (_midnight() - 2 * D, "offline"), (_midnight() + H / 2, "online"))
    assert all(row[2] == row[3] for row in _end_states(conn))
    assert _same_as_0016(fleet) > 0
    # a window added today, a board moved, another added today with history
    fleet.window(_midnight() + H / 4, _midnight() + H, site="site-2")
    conn.execute("UPDATE boards SET site_id = %s WHERE id = 'b3'", (fleet.sites["site-3"],))
    fleet.board("b10", site="site-1", installed_on=local_day(_now()) - timedelta(days=2))
    fleet.history("b10", (_midnight() - D, "online"))
    assert all(row[2] == row[3] for row in _end_states(conn))
    assert _same_as_0016(fleet) > 0
    # rows stored before migration 0053 have no end state: probed instead
    conn.execute("UPDATE board_availability_days SET end_state = NULL WHERE board_id <> 'b1'")
    assert _same_as_0016(fleet) > 0


def test_a_day_not_yet_closed_is_read_from_the_history(fleet: Fleet) -> None:
    _fleet(fleet)
    conn = fleet.conn
    days.fill(conn, _now())
    # the job has not closed the last two days yet
    two_days_ago = local_day(_now()) - timedelta(days=2)
    conn.execute("DELETE FROM board_availability_days WHERE day >= %s", (two_days_ago,))
    conn.execute("UPDATE board_availability_state SET through = %s", (two_days_ago,))
    assert _same_as_0016(fleet) > 0
    period = Period(_midnight() - 8 * D, _now())
    with conn.transaction():
        got = _read(conn, "site", period, True, Scope.everything())
        want = _live(conn, "site", period, True, None)
    assert got.keys() == want.keys()
    assert all(_close(got[key], row) for key, row in want.items())


def test_the_stored_end_state_is_read(fleet: Fleet) -> None:
    """Proof that the open part starts from the stored state: b3 (lost all
    day, no change today) shown up when its stored state says so."""
    _fleet(fleet)
    conn = fleet.conn
    days.fill(conn, _now())
    start, end = _midnight(), _now()
    before = _function(conn, OPEN, start, end, False, None)["b3"]
    assert before[3:5] == (0.0, pytest.approx((end - start).total_seconds(), abs=1))
    conn.execute(
        "UPDATE board_availability_days SET end_state = 'online'"
        " WHERE board_id = 'b3' AND day = %s",
        (local_day(start) - timedelta(days=1),),
    )
    after = _function(conn, OPEN, start, end, False, None)["b3"]
    assert after[2] == pytest.approx((end - start).total_seconds(), abs=1)


def _periods() -> list[Period]:
    now, m = _now(), _midnight()
    return [
        Period(m - 8 * D, now),  # a month to date, say
        Period(m, now),  # today
        Period(m - 2 * D + 7 * H, now),  # a ragged head
        Period(m - 3 * D, m - D + 9 * H),  # a ragged tail in the past
        Period(m - 30 * D, now),  # before the first stored day
    ]


@pytest.mark.parametrize("level", ["board", "site", "organisation"])
def test_storage_reads_equal_the_live_functions(fleet: Fleet, level: str) -> None:
    _fleet(fleet)
    conn = fleet.conn
    days.fill(conn, _now())
    fleet.history("b6", (_midnight() - D + 2 * H, "offline"))  # late, after the fill
    every = [s for (s,) in conn.execute("SELECT id FROM sites ORDER BY id").fetchall()]
    org_b = fleet.orgs["org-b"]
    scopes = [
        (Scope.everything(), every),
        (Scope(organisation_id=org_b), [fleet.sites["site-3"]]),
    ]
    for period in _periods():
        for exclude in (True, False):
            for scope, sites in scopes:
                with conn.transaction():  # one now() for both
                    got = _read(conn, level, period, exclude, scope)
                    want = _live(conn, level, period, exclude, sites)
                assert got.keys() == want.keys(), (level, period, exclude)
                for key, row in want.items():
                    assert _close(got[key], row), (level, period, exclude, key)


def test_boards_and_sites_narrowed_to_a_page(fleet: Fleet) -> None:
    _fleet(fleet)
    conn = fleet.conn
    days.fill(conn, _now())
    m = _midnight()
    # ended (the same figures twice) and ending today, whatever the hour: b7
    # was installed today (an hour before now fell before midnight between
    # 00:00 and 01:00 Vietnam time, and b7 was then rightly not listed)
    period = Period(m - 5 * D, m + (_now() - m) / 2)
    every = {b.board_id: b for b in storage.board_availability(conn, period)}
    page = storage.board_availability(conn, period, board_ids=["b2", "b5", "b7", "nope"])
    assert [b.board_id for b in page] == ["b2", "b5", "b7"]
    for board in page:  # summed in another order: equal up to rounding
        assert replace(board, figures=every[board.board_id].figures) == every[board.board_id]
        assert _close(_f(board.figures), _f(every[board.board_id].figures))
    org_b = Scope(organisation_id=fleet.orgs["org-b"])
    assert [
        b.board_id for b in storage.board_availability(conn, period, scope=org_b, board_ids=["b2"])
    ] == []
    sites = {s.site_id: s for s in storage.site_availability(conn, period)}
    site_2 = fleet.sites["site-2"]
    (one,) = storage.site_availability(conn, period, sites=[site_2])
    assert replace(one, figures=sites[site_2].figures) == sites[site_2]
    assert _close(_f(one.figures), _f(sites[site_2].figures))


def test_the_organisation_level_is_kept_a_while_per_scope(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Served from what was computed until it is MAX_AGE_S old, with the
    period_to it was computed for; each scope its own figures."""
    _fleet(fleet)
    conn = fleet.conn
    days.fill(conn, _now())
    clock = [1000.0]
    kept = VersionedCache[Any](
        max_age_s=cache.MAX_AGE_S,
        confirm_after_s=cache.MAX_AGE_S,
        clock=lambda: clock[0],
        read_version=lambda _c: 0,
    )
    monkeypatch.setattr(cache, "ORGANISATIONS", kept)
    admin = Principal(
        1, "admin", "A", "admin", None, None, "vi", province_wide=True, capabilities=READ
    )
    org_b = Principal(2, "op", "O", "operator", fleet.orgs["org-b"], None, "vi", capabilities=READ)

    def read(user: Principal, now: datetime) -> Any:
        return service.availability(
            conn,
            user,
            now=now,
            level="organisation",
            start=_midnight() - 5 * D,
            end=None,
            exclude_maintenance=True,
            site_id=None,
            organisation_id=None,
            sort=None,
            limit=50,
            offset=0,
        )

    first_at = _now()
    first = read(admin, first_at)
    assert first.period_to == first_at
    assert {i.organisation_code for i in first.items} == {"org-a", "org-b"}
    scoped = read(org_b, first_at)
    assert [i.organisation_code for i in scoped.items] == ["org-b"]
    fleet.history("b5", (_midnight() - 4 * D, "online"))  # late data
    clock[0] += cache.MAX_AGE_S - 1
    again = read(admin, _now())
    assert again.period_to == first_at
    assert again.items == first.items
    clock[0] += 2  # too old: computed again (in the request: no pool here)
    later_at = _now()
    later = read(admin, later_at)
    assert later.period_to == later_at
    b_before = next(i for i in first.items if i.organisation_code == "org-b")
    b_after = next(i for i in later.items if i.organisation_code == "org-b")
    assert b_after.up_s > b_before.up_s
