"""fleet_board_availability and its site and organisation aggregates
(migration 0016) on hand-built histories, against a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.server.availability.conftest import DAY, HOUR, T0, Fleet


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_a_board_online_all_period_is_available(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(-50), "online"))
    row = fleet.boards()["b1"]
    assert row["availability"] == 1.0
    assert (row["expected_s"], row["up_s"], row["down_s"], row["unknown_s"]) == (DAY, DAY, 0, 0)
    assert row["maintenance_s"] == 0


def test_down_six_hours_of_twenty_four(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(-1), "online"), (at(8), "offline"), (at(14), "online"))
    row = fleet.boards()["b1"]
    assert row["availability"] == 0.75
    assert (row["up_s"], row["down_s"], row["unknown_s"]) == (18 * HOUR, 6 * HOUR, 0)


@pytest.mark.parametrize("state", ["offline", "lost", "stale"])
def test_offline_lost_and_stale_are_down(fleet: Fleet, state: str) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(0), "online"), (at(12), state))
    assert fleet.boards()["b1"]["down_s"] == 12 * HOUR


def test_no_history_is_unknown_for_the_whole_period(fleet: Fleet) -> None:
    fleet.board("b1")
    row = fleet.boards()["b1"]
    assert row["availability"] is None
    assert row["unknown_s"] == row["expected_s"] == DAY
    assert row["up_s"] == row["down_s"] == 0


def test_before_the_first_change_and_in_state_unknown_is_unknown(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(6), "online"), (at(12), "unknown"), (at(18), "offline"))
    row = fleet.boards()["b1"]
    assert (row["up_s"], row["down_s"], row["unknown_s"]) == (6 * HOUR, 6 * HOUR, 12 * HOUR)
    assert row["availability"] == 0.5


def test_changes_at_the_same_instant_count_in_insertion_order(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(0), "offline"), (at(0), "online"), (at(12), "lost"))
    fleet.history("b1", (at(12), "online"))
    row = fleet.boards()["b1"]
    assert row["up_s"] == DAY


def test_the_state_before_the_period_carries_in(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(-48), "offline"), (at(-24), "stale"), (at(18), "online"))
    row = fleet.boards()["b1"]
    assert (row["up_s"], row["down_s"]) == (6 * HOUR, 18 * HOUR)


def test_a_board_installed_mid_period_starts_at_its_installation(fleet: Fleet) -> None:
    # installed on 3 Oct: local midnight, 2 Oct 17:00 UTC
    fleet.board("b1", installed_on=date(2026, 10, 3))
    fleet.history("b1", (at(-100), "offline"), (at(50), "online"))
    row = fleet.boards(T0, T0 + timedelta(days=4))["b1"]
    assert row["expected_s"] == 2 * DAY
    assert (row["up_s"], row["down_s"]) == (46 * HOUR, 2 * HOUR)


def test_without_an_installation_day_the_period_starts_at_creation(fleet: Fleet) -> None:
    fleet.board("b1", installed_on=None, created_at=at(12))
    fleet.history("b1", (at(12), "online"))
    assert fleet.boards()["b1"]["expected_s"] == 12 * HOUR


def test_a_board_installed_after_the_period_is_left_out(fleet: Fleet) -> None:
    fleet.board("b1", installed_on=date(2026, 10, 2))
    fleet.board("b2")
    assert set(fleet.boards()) == {"b2"}


def test_a_disabled_board_counts_until_it_was_disabled(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(0), "online"), (at(6), "offline"))
    fleet.conn.execute(
        "UPDATE boards SET enabled = false, disabled_at = %s WHERE id = 'b1'", (at(12),)
    )
    row = fleet.boards()["b1"]
    assert (row["expected_s"], row["up_s"], row["down_s"]) == (12 * HOUR, 6 * HOUR, 6 * HOUR)


def test_time_after_now_is_never_counted(fleet: Fleet) -> None:
    now = datetime.now(UTC)
    fleet.board("b1")
    fleet.history("b1", (now - timedelta(days=1), "online"))
    row = fleet.boards(now - timedelta(hours=1), now + timedelta(days=30))["b1"]
    assert HOUR <= row["expected_s"] < HOUR + 60
    assert row["availability"] == 1.0


def test_a_maintenance_window_is_excluded_or_not(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(0), "online"), (at(8), "offline"), (at(14), "online"))
    # 07:00–10:00: one hour up and two down inside the window
    fleet.window(at(7), at(10), board_id="b1")
    row = fleet.boards()["b1"]
    assert row["maintenance_s"] == 3 * HOUR
    assert row["expected_s"] == 21 * HOUR
    assert (row["up_s"], row["down_s"], row["unknown_s"]) == (17 * HOUR, 4 * HOUR, 0)
    assert row["availability"] == pytest.approx(17 / 21)
    kept = fleet.boards(exclude=False)["b1"]
    assert (kept["expected_s"], kept["up_s"], kept["down_s"]) == (DAY, 18 * HOUR, 6 * HOUR)
    assert kept["maintenance_s"] == 3 * HOUR
    assert kept["availability"] == 0.75


def test_unknown_time_inside_maintenance_is_excluded_too(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(12), "online"))
    fleet.window(at(10), at(14), board_id="b1")
    row = fleet.boards()["b1"]
    assert (row["up_s"], row["unknown_s"], row["expected_s"]) == (10 * HOUR, 10 * HOUR, 20 * HOUR)


def test_a_site_window_covers_every_board_of_the_site(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.board("b2")
    fleet.board("b3", site="site-2")
    for board in ("b1", "b2", "b3"):
        fleet.history(board, (at(0), "offline"))
    fleet.window(at(0), at(6), site="site-1")
    rows = fleet.boards()
    assert rows["b1"]["down_s"] == rows["b2"]["down_s"] == 18 * HOUR
    assert rows["b3"]["down_s"] == DAY


def test_overlapping_windows_count_once(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(0), "offline"))
    fleet.window(at(2), at(6), site="site-1")
    fleet.window(at(4), at(8), board_id="b1")
    fleet.window(at(5), at(7), board_id="b1")
    row = fleet.boards()["b1"]
    assert row["maintenance_s"] == 6 * HOUR
    assert row["down_s"] == 18 * HOUR


def test_a_daily_window_repeats_every_day_of_the_period(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.history("b1", (at(0), "online"))
    # first occurrence a month before, 01:00–03:00 local every day since
    fleet.window(
        at(1) - timedelta(days=30), at(3) - timedelta(days=30), board_id="b1", recurrence="daily"
    )
    row = fleet.boards(T0, T0 + timedelta(days=3))["b1"]
    assert row["maintenance_s"] == 3 * 2 * HOUR
    assert row["expected_s"] == row["up_s"] == 3 * DAY - 6 * HOUR
    # an occurrence cut by the period's edges counts only inside it
    cut = fleet.boards(at(2), at(2) + timedelta(days=1))["b1"]
    assert cut["maintenance_s"] == 2 * HOUR


def test_a_weekly_window_and_one_that_starts_inside_the_period(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.board("b2")
    fleet.history("b1", (at(0), "online"))
    fleet.history("b2", (at(0), "online"))
    fleet.window(at(-24 * 7 * 3), at(-24 * 7 * 3 + 4), board_id="b1", recurrence="weekly")
    # daily from the third day on: nothing repeats before the first occurrence
    fleet.window(at(48 + 10), at(48 + 11), board_id="b2", recurrence="daily")
    rows = fleet.boards(T0, T0 + timedelta(days=14))
    assert rows["b1"]["maintenance_s"] == 2 * 4 * HOUR
    assert rows["b2"]["maintenance_s"] == 12 * HOUR


def test_sites_and_organisations_sum_seconds_not_percentages(fleet: Fleet) -> None:
    fleet.board("b1")  # up all day
    fleet.history("b1", (at(0), "online"))
    fleet.board("b2")  # up 6 h, down 18 h
    fleet.history("b2", (at(0), "online"), (at(6), "offline"))
    fleet.board("b3", site="site-2")  # nothing known: counts for nothing
    fleet.board("b4", site="site-3", org="org-b")
    fleet.history("b4", (at(0), "lost"))
    sites = fleet.sites_of()
    site_1 = sites[fleet.sites["site-1"]]
    assert site_1["boards"] == 2
    assert (site_1["up_s"], site_1["down_s"]) == (30 * HOUR, 18 * HOUR)
    assert site_1["availability"] == pytest.approx(30 / 48)  # not (1.0 + 0.25) / 2
    assert sites[fleet.sites["site-2"]]["availability"] is None
    orgs = fleet.organisations()
    org_a = orgs[fleet.orgs["org-a"]]
    assert (org_a["sites"], org_a["boards"]) == (2, 3)
    assert org_a["expected_s"] == 3 * DAY
    assert org_a["unknown_s"] == DAY
    assert org_a["availability"] == pytest.approx(30 / 48)
    assert orgs[fleet.orgs["org-b"]]["availability"] == 0.0


def test_site_ids_narrow_the_boards(fleet: Fleet) -> None:
    fleet.board("b1")
    fleet.board("b2", site="site-2")
    assert set(fleet.boards(site_ids=None)) == {"b1", "b2"}
    assert set(fleet.boards(site_ids=[fleet.sites["site-2"]])) == {"b2"}
    assert fleet.boards(site_ids=[]) == {}


def test_an_empty_or_reversed_period_has_no_rows(fleet: Fleet) -> None:
    fleet.board("b1")
    assert fleet.boards(T0, T0) == {}
    assert fleet.boards(T0 + timedelta(days=1), T0) == {}
