"""Closed days kept (migration 0050): the figures read through the stored
days are those of the live functions of migration 0016, over varied
histories, at every level and scope, and stay so when a closed day's
history, windows or board change afterwards."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from fleet_server.access.scope import Scope
from fleet_server.availability import days, storage
from fleet_server.availability.models import Period
from fleet_server.localtime import LOCAL_TZ, local_day
from tests.server.availability.conftest import T0, Conn, Fleet

H = timedelta(hours=1)
D = timedelta(days=1)
#: The month of T0, a ragged period (edges off midnight) and one day.
PERIODS = [
    Period(T0, T0 + 31 * D),
    Period(T0 + D + 5.5 * H, T0 + 20 * D + 17.75 * H),
    Period(T0 + 3 * D, T0 + 4 * D),
    Period(T0 - 3 * D + 7 * H, T0 + 2 * D),
]
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=LOCAL_TZ)


def _fleet(fleet: Fleet) -> None:
    start = date(2026, 9, 20)
    fleet.board("b1", installed_on=start)
    fleet.board("b2", installed_on=start)
    fleet.board("b3", site="site-2", installed_on=T0.date() + timedelta(days=10))
    fleet.board("b4", site="site-3", org="org-b", installed_on=None, created_at=T0 + 6.5 * D)
    fleet.board("b5", site="site-3", org="org-b", installed_on=start)
    fleet.history("b1", (T0 - 5 * D, "online"), (T0 + D + 22 * H, "offline"))
    fleet.history("b1", (T0 + 2 * D + 3 * H, "online"), (T0 + 5 * D + 12 * H, "stale"))
    fleet.history("b1", (T0 + 9 * D + 23.5 * H, "online"), (T0 + 12 * D, "lost"))
    fleet.history("b1", (T0 + 12 * D, "online"))  # same instant: insertion order
    fleet.history("b2", (T0 - 2 * D, "online"), (T0 + 14 * D + 20 * H, "offline"))
    fleet.history("b3", (T0 + 10 * D + 8 * H, "online"))
    fleet.history("b4", (T0 + 7 * D, "online"), (T0 + 8 * D, "weird"))
    fleet.history("b5", (T0, "online"))
    fleet.window(T0 + 2 * H, T0 + 3 * H, site="site-1", recurrence="daily")
    fleet.window(T0 + 3 * D + 23 * H, T0 + 4 * D + H, board_id="b2")
    fleet.window(T0 + 6 * D + 22 * H, T0 + 7 * D + 2 * H, board_id="b1", recurrence="weekly")
    fleet.conn.execute(
        "UPDATE boards SET enabled = false, disabled_at = %s WHERE id = 'b5'", (T0 + 8.5 * D,)
    )


def _live(conn: Conn, level: str, period: Period, exclude: bool, sites: Any) -> dict[Any, Any]:
    function = {
        "board": "fleet_board_availability",
        "site": "fleet_site_availability",
        "organisation": "fleet_organisation_availability",
    }[level]
    rows = conn.execute(
        f"SELECT * FROM {function}(%s, %s, %s, %s::bigint[])",
        (period.start, period.end, exclude, sites),
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def _read(conn: Conn, level: str, period: Period, exclude: bool, scope: Scope) -> dict[Any, Any]:
    if level == "board":
        boards = storage.board_availability(conn, period, exclude_maintenance=exclude, scope=scope)
        return {b.board_id: (b.site_id, b.organisation_id, *_f(b.figures)) for b in boards}
    if level == "site":
        sites = storage.site_availability(conn, period, exclude_maintenance=exclude, scope=scope)
        return {s.site_id: (s.organisation_id, s.boards, *_f(s.figures)) for s in sites}
    orgs = storage.organisation_availability(conn, period, exclude_maintenance=exclude, scope=scope)
    return {o.organisation_id: (o.sites, o.boards, *_f(o.figures)) for o in orgs}


def _f(figures: Any) -> tuple[Any, ...]:
    return (
        figures.expected_s,
        figures.up_s,
        figures.down_s,
        figures.unknown_s,
        figures.maintenance_s,
        figures.availability,
    )


def _same_as_live(fleet: Fleet) -> int:
    """Every level, period, maintenance choice and scope read through the
    stored days equals the live functions; the comparisons made."""
    conn = fleet.conn
    every = [s for (s,) in conn.execute("SELECT id FROM sites ORDER BY id").fetchall()]
    org_b = fleet.orgs["org-b"]
    scopes = [
        (Scope.everything(), every),
        (Scope(organisation_id=org_b), [fleet.sites["site-3"]]),
    ]
    compared = 0
    for level in ("board", "site", "organisation"):
        for period in PERIODS:
            for exclude in (True, False):
                for scope, sites in scopes:
                    got = _read(conn, level, period, exclude, scope)
                    want = _live(conn, level, period, exclude, sites)
                    assert got.keys() == want.keys(), (level, period, exclude)
                    for key, row in want.items():
                        assert _close(got[key], row), (
                            level,
                            period,
                            exclude,
                            key,
                        )
                    compared += len(want)
    return compared


def _close(got: tuple[Any, ...], want: tuple[Any, ...]) -> bool:
    """Equal, the seconds up to the rounding of summing doubles in another order."""
    return len(got) == len(want) and all(
        g == w if w is None or g is None else g == pytest.approx(w, rel=1e-12, abs=1e-6)
        for g, w in zip(got, want, strict=True)
    )


def _stored_rows(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT * FROM board_availability_days ORDER BY board_id, day").fetchall()


def test_stored_days_give_the_live_figures(fleet: Fleet) -> None:
    _fleet(fleet)
    assert _same_as_live(fleet) > 0  # nothing stored: all live
    filled = days.fill(fleet.conn, NOW)
    kept = days.stored(fleet.conn)
    assert kept.first_day == date(2026, 9, 20)
    assert kept.through == local_day(NOW)
    assert len(filled) == (kept.through - kept.first_day).days
    assert _same_as_live(fleet) > 0


def test_the_stored_days_are_read(fleet: Fleet) -> None:
    """Proof that the table, not the functions, answers closed days: a
    stored figure altered by hand shows."""
    _fleet(fleet)
    days.fill(fleet.conn, NOW)
    fleet.conn.execute(
        "UPDATE board_availability_days SET up_x_s = up_x_s + 1000"
        " WHERE board_id = 'b5' AND day = %s",
        (T0.date() + timedelta(days=2),),
    )
    period = PERIODS[0]
    (b5,) = storage.board_availability(fleet.conn, period, site_id=fleet.sites["site-3"])[1:]
    assert b5.figures.up_s == _live(fleet.conn, "board", period, True, None)["b5"][3] + 1000


def test_late_history_windows_and_board_changes_recompute_closed_days(fleet: Fleet) -> None:
    _fleet(fleet)
    days.fill(fleet.conn, NOW)
    conn = fleet.conn
    # late data re-opening closed days (one row, then a batch)
    fleet.history("b5", (T0 + 3 * D + 10 * H, "offline"))
    conn.execute(
        "INSERT INTO board_status_history (board_id, at, state) VALUES"
        " ('b2', %s, 'lost'), ('b2', %s, 'online'), ('b3', %s, 'offline')",
        (T0 + 16 * D + H, T0 + 17 * D + 2 * H, T0 + 11 * D + 23 * H),
    )
    _same_as_live(fleet)
    # a late row moved, then removed
    conn.execute("UPDATE board_status_history SET at = at - interval '2 days' WHERE state = 'lost'")
    _same_as_live(fleet)
    conn.execute("DELETE FROM board_status_history WHERE board_id = 'b1' AND state = 'stale'")
    _same_as_live(fleet)
    # a maintenance window added afterwards, changed, removed; a recurring one
    fleet.window(T0 + 12 * D + 20 * H, T0 + 13 * D + 5 * H, site="site-3")
    fleet.window(T0 + 5 * D + 6 * H, T0 + 5 * D + 8 * H, site="site-2", recurrence="daily")
    _same_as_live(fleet)
    conn.execute("UPDATE maintenance_windows SET ends_at = ends_at + interval '30 hours'")
    _same_as_live(fleet)
    conn.execute("DELETE FROM maintenance_windows WHERE recurrence = 'daily'")
    _same_as_live(fleet)
    # a board moved to another site (its site's windows, its organisation)
    conn.execute("UPDATE boards SET site_id = %s WHERE id = 'b2'", (fleet.sites["site-3"],))
    _same_as_live(fleet)
    # a board added mid-month, after the days were closed, and one re-enabled
    fleet.board("b6", site="site-2", installed_on=T0.date() + timedelta(days=13))
    fleet.history("b6", (T0 + 13 * D + 9 * H, "online"), (T0 + 15 * D, "offline"))
    conn.execute("UPDATE boards SET enabled = true, disabled_at = NULL WHERE id = 'b5'")
    _same_as_live(fleet)
    # what the triggers wrote is what a fresh fill writes
    rows = _stored_rows(conn)
    conn.execute("UPDATE board_availability_state SET first_day = NULL, through = NULL")
    conn.execute("DELETE FROM board_availability_days")
    days.fill(conn, NOW)
    assert _stored_rows(conn) == rows


def test_history_after_the_stored_days_touches_none(fleet: Fleet) -> None:
    _fleet(fleet)
    days.fill(fleet.conn, NOW)
    rows = _stored_rows(fleet.conn)
    fleet.history("b1", (NOW, "offline"), (datetime.now(LOCAL_TZ), "online"))
    assert _stored_rows(fleet.conn) == rows


def _interrupted_step(conn: Conn) -> None:
    with conn.transaction():
        conn.execute("UPDATE board_availability_state SET through = through - 2")
        days.step(conn, NOW)
        raise RuntimeError("interrupted")


def test_the_fill_is_idempotent_and_restartable(fleet: Fleet) -> None:
    _fleet(fleet)
    conn = fleet.conn
    first = days.fill(conn, NOW, max_days=3)
    # newest first: the last closed day, then older ones
    assert first == [local_day(NOW) - timedelta(days=n) for n in (1, 2, 3)]
    _same_as_live(fleet)  # part stored, the rest live
    rest = days.fill(conn, NOW)
    assert rest
    assert rest[0] == first[-1] - timedelta(days=1)
    rows = _stored_rows(conn)
    assert days.fill(conn, NOW) == []  # nothing left
    # a day filled again writes the same rows
    with conn.transaction():
        conn.execute(
            "UPDATE board_availability_state SET through = through - 1, first_day = first_day"
        )
        assert days.step(conn, NOW) == local_day(NOW) - timedelta(days=1)
    assert _stored_rows(conn) == rows
    # an interrupted step leaves nothing half done
    with pytest.raises(RuntimeError):
        _interrupted_step(conn)
    assert days.stored(conn).through == local_day(NOW)
    assert _stored_rows(conn) == rows
    # later, the next day is closed 15 minutes after its midnight
    tomorrow = datetime.combine(local_day(NOW) + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    assert days.fill(conn, tomorrow + timedelta(minutes=14)) == []
    assert days.fill(conn, tomorrow + timedelta(minutes=16)) == [local_day(NOW)]
    _same_as_live(fleet)


def test_the_job_fills_a_day_a_run_when_due(fleet: Fleet) -> None:
    _fleet(fleet)
    job = days.AvailabilityDaysJob(every_s=60, days_per_run=2)
    assert job.due(NOW)
    with fleet.conn.transaction():
        assert job.run(fleet.conn, NOW) == [local_day(NOW) - timedelta(days=n) for n in (1, 2)]
    assert not job.due(NOW + timedelta(seconds=59))
    assert job.due(NOW + timedelta(seconds=60))


def test_no_boards_nothing_to_fill_and_a_missing_state_is_refused(fleet: Fleet) -> None:
    conn = fleet.conn
    assert days.fill(conn, NOW) == []
    assert days.stored(conn) == days.Stored(local_day(NOW), local_day(NOW))
    conn.execute("DELETE FROM board_availability_state")
    with pytest.raises(RuntimeError, match="0050"), conn.transaction():
        days.step(conn, NOW)
