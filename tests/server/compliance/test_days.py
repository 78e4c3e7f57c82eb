"""Compliance on hand-built days (Điều 8.1: 3 h in the morning window and 3 h
in the afternoon window, local time)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.models import ComplianceSettings
from tests.server.compliance.conftest import DAY, SHA_A, SHA_B, SHA_E, SHA_X, Conn, Days, at

NEXT = DAY + timedelta(days=1)


def run(conn: Conn, now_hhmm: str = "08:00", day=NEXT, **settings: float) -> dict[str, int]:  # type: ignore[no-untyped-def]
    job = ComplianceJob(ComplianceSettings(**settings))  # type: ignore[arg-type]
    done = job.run(conn, at(day, now_hhmm))
    conn.commit()
    return done


def full_day(days: Days, board: str = "lc-mlt-01") -> None:
    days.samples(board, at(DAY, "07:00"), at(DAY, "10:00"))
    days.samples(board, at(DAY, "14:00"), at(DAY, "17:00"))


def test_exactly_180_and_180_minutes_is_compliant(conn: Conn, days: Days) -> None:
    full_day(days)
    run(conn)
    assert days.day("lc-mlt-01", DAY) == {
        "status": "compliant",
        "morning": 180.0,
        "afternoon": 180.0,
        "total": 360.0,
        "advertising": 0.0,
        "emergency": 0.0,
        # 06:30-07:00 and 10:00-11:00 of the morning window have no sample
        "morning_unknown": 90.0,
        "afternoon_unknown": 90.0,
        "counted": 360.0,
        "unapproved": 0.0,
        "unidentified": 0.0,
    }


def test_179_minutes_in_the_morning_fails_when_the_rest_is_known(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "06:30"), at(DAY, "07:01"), on=False)
    days.samples("lc-mlt-01", at(DAY, "07:01"), at(DAY, "10:00"))
    days.samples("lc-mlt-01", at(DAY, "10:00"), at(DAY, "11:00"), on=False)
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"))
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["status"], day["morning"], day["morning_unknown"]) == ("non_compliant", 179.0, 0.0)


def test_179_minutes_with_missing_data_is_unknown_not_failed(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "07:01"), at(DAY, "10:00"))
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"))
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["status"], day["morning"]) == ("unknown", 179.0)


def test_a_play_spanning_a_window_edge_counts_only_inside(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "05:00"), at(DAY, "08:00"))  # window opens 06:30
    days.samples("lc-mlt-01", at(DAY, "10:00"), at(DAY, "11:30"))  # window closes 11:00
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["total"]) == (150.0, 270.0)


def test_days_split_at_local_midnight_not_utc(conn: Conn, days: Days) -> None:
    # 23:00 -> 01:00 local is 16:00 -> 18:00 UTC, all on one UTC day
    days.samples("lc-mlt-01", at(DAY, "23:00"), at(NEXT, "01:00"))
    run(conn, day=NEXT + timedelta(days=1))
    assert days.day("lc-mlt-01", DAY)["total"] == 60.0
    assert days.day("lc-mlt-01", NEXT)["total"] == 60.0


def test_replayed_data_two_days_late_fills_the_right_day(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"))
    run(conn)
    assert days.day("lc-mlt-01", DAY)["status"] == "unknown"
    # the afternoon was spooled on the board and arrives two days later
    late = at(DAY + timedelta(days=3), "09:00")
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"), stored_at=late)
    run(conn, now_hhmm="09:05", day=DAY + timedelta(days=3))
    day = days.day("lc-mlt-01", DAY)
    assert (day["status"], day["afternoon"]) == ("compliant", 180.0)


def test_duplicated_display_reports_never_double_count(conn: Conn, days: Days) -> None:
    full_day(days)
    full_day(days)  # the same instants reported again under other seqs
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), every_s=60)  # a second stream
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["afternoon"], day["total"]) == (180.0, 180.0, 360.0)
    plays = conn.execute("SELECT count(*) FROM play_log WHERE device_id = 'lc-mlt-01'").fetchone()
    assert plays == (2,)


def test_a_board_that_sent_nothing_is_unknown(conn: Conn, days: Days) -> None:
    full_day(days, "lc-mlt-01")
    run(conn)
    assert days.day("lc-mlt-02", DAY)["status"] == "unknown"
    assert days.day("lc-mlt-02", DAY)["total"] == 0.0


def test_a_day_not_over_is_pending_until_met(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(NEXT, "07:00"), at(NEXT, "10:00"))
    run(conn, now_hhmm="12:00")
    assert days.day("lc-mlt-01", NEXT)["status"] == "pending"
    days.samples("lc-mlt-01", at(NEXT, "14:00"), at(NEXT, "17:00"))
    run(conn, now_hhmm="17:30")
    assert days.day("lc-mlt-01", NEXT)["status"] == "compliant"


def test_screen_off_is_not_on_air(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), screen_on=False)
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"), screen_on=None)
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["afternoon"]) == (0.0, 180.0)


def test_samples_hold_at_most_the_gap(conn: Conn, days: Days) -> None:
    # one sample every 10 minutes: each holds only 2 minutes
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), every_s=600)
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["status"]) == (36.0, "unknown")


def test_a_longer_gap_setting_lets_sparse_samples_hold(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), every_s=600)
    run(conn, sample_gap_s=600)
    assert days.day("lc-mlt-01", DAY)["morning"] == 180.0


def test_thresholds_are_configurable(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "09:00"))
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "16:00"))
    run(conn, morning_minutes=120, afternoon_minutes=120)
    assert days.day("lc-mlt-01", DAY)["status"] == "compliant"


def test_advertising_does_not_count(conn: Conn, days: Days) -> None:
    """Điều 8.1: "Thời lượng đăng phát thông tin phục vụ công tác tuyên
    truyền … tối thiểu 6 giờ/ngày (3 giờ buổi sáng và 3 giờ buổi chiều)" —
    the minimum is for information serving propaganda; advertising is
    governed by Điều 8.3 and is measured beside it."""
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "09:00"), sha=SHA_B)
    days.samples("lc-mlt-01", at(DAY, "09:00"), at(DAY, "10:00"), sha=SHA_E)
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"))
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["advertising"], day["emergency"], day["morning"]) == (120.0, 60.0, 60.0)
    assert day["counted"] == 240.0  # 1 h emergency + 3 h propaganda
    assert day["total"] == 360.0  # on air, whatever was shown


def test_the_registry_kind_counts_not_the_boards_word(conn: Conn, days: Days) -> None:
    """Điều 8.1: advertising a board declares as propaganda is still
    advertising; the approved registry says what a file is."""
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), sha=SHA_B, kind="propaganda")
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"))
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["advertising"], day["status"]) == (0.0, 180.0, "non_compliant")


def test_emergency_information_counts(conn: Conn, days: Days) -> None:
    """Điều 8.1 and 8.2: emergency information is information to the public
    and counts toward the minimum like propaganda."""
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), sha=SHA_E, kind="emergency")
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"))
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["emergency"], day["status"]) == (180.0, 180.0, "compliant")


def test_an_unapproved_file_does_not_count(conn: Conn, days: Days) -> None:
    """Điều 8.1 with Điều 10.1: only content the department approved is
    information serving propaganda; a file the registry does not hold, or
    held only outside its validity, is measured as unapproved."""
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), sha=SHA_X)
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"))
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["unapproved"], day["status"]) == (0.0, 180.0, "non_compliant")


def test_an_item_counts_only_while_it_is_valid(conn: Conn, days: Days) -> None:
    """Điều 8.1: approved *when it was shown* — an item whose validity ended
    at 08:00 counts until 08:00 only."""
    conn.execute(
        "UPDATE content_items SET valid_to = %s WHERE sha256 = %s", (at(DAY, "08:00"), SHA_A)
    )
    conn.commit()
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"))
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["unapproved"]) == (60.0, 120.0)


def test_time_without_a_file_hash_does_not_count(conn: Conn, days: Days) -> None:
    """Điều 8.1: what cannot be identified cannot be shown to serve
    propaganda; screen-on time with no file hash is measured as unidentified."""
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), sha=None)
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"))
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["unidentified"], day["status"]) == (0.0, 180.0, "non_compliant")


def _failed_day_with_emergency_content(days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "06:30"), at(DAY, "11:00"), on=False)
    days.samples("lc-mlt-01", at(DAY, "13:30"), at(DAY, "14:00"), sha=SHA_E, kind="emergency")
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "18:00"), on=False)


def _order(conn: Conn, start: str, end: str, **where: Any) -> int:
    """An emergency order recorded now for DAY from ``start`` to ``end``."""
    row = conn.execute(
        "INSERT INTO emergency_orders (authority, document_number, document_date, starts_at,"
        " ends_at, all_sites, created_by) VALUES ('UBND tỉnh Lai Châu', '123/QĐ-UBND',"
        " %s, %s, %s, %s, 'quan.tri') RETURNING id",
        (DAY, at(DAY, start), at(DAY, end), where.get("all_sites", False)),
    ).fetchone()
    assert row is not None
    for site in where.get("sites", ()):
        conn.execute(
            "INSERT INTO emergency_order_sites (order_id, site_id)"
            " SELECT %s, id FROM sites WHERE code = %s",
            (row[0], site),
        )
    for board in where.get("boards", ()):
        conn.execute(
            "INSERT INTO emergency_order_boards (order_id, board_id) VALUES (%s, %s)",
            (row[0], board),
        )
    conn.commit()
    return int(row[0])


def _exempt_order(conn: Conn) -> Any:
    row = conn.execute(
        "SELECT exempt_order_id FROM compliance_days WHERE board_id = 'lc-mlt-01' AND day = %s",
        (DAY,),
    ).fetchone()
    conn.commit()
    return row[0] if row else None


def test_emergency_content_without_an_order_is_judged_on_its_merits(conn: Conn, days: Days) -> None:
    """Điều 8.2: "… thì thời lượng và khung giờ phát thông tin thực hiện theo
    yêu cầu của các cơ quan, đơn vị có thẩm quyền" — in an emergency the time
    and time frames follow the competent agencies' request. Thirty minutes of
    emergency content with no such request excuse nothing."""
    _failed_day_with_emergency_content(days)
    run(conn, now_hhmm="09:00")
    assert days.day("lc-mlt-01", DAY)["status"] == "non_compliant"
    assert _exempt_order(conn) is None


def test_an_order_covering_both_windows_exempts_the_day(conn: Conn, days: Days) -> None:
    """Điều 8.2: a day whose unmet windows an order in force covers is
    exempt, and the day names the order."""
    _failed_day_with_emergency_content(days)
    order = _order(conn, "06:00", "19:00", sites=["ma-lu-thang"])
    run(conn, now_hhmm="09:00")
    assert days.day("lc-mlt-01", DAY)["status"] == "exempt"
    assert _exempt_order(conn) == order
    assert conn.execute("SELECT count(*) FROM incidents").fetchone() == (0,)


def test_an_order_exempts_only_the_window_it_covers(conn: Conn, days: Days) -> None:
    """Điều 8.2: an order for the morning leaves the afternoon under Điều
    8.1; a failed afternoon still fails the day."""
    _failed_day_with_emergency_content(days)
    _order(conn, "06:00", "12:00", all_sites=True)
    run(conn, now_hhmm="09:00")
    assert days.day("lc-mlt-01", DAY)["status"] == "non_compliant"


def test_an_order_for_another_board_exempts_nothing_here(conn: Conn, days: Days) -> None:
    """Điều 8.2: an order covers the sites and boards it names, no others."""
    _failed_day_with_emergency_content(days)
    _order(conn, "06:00", "19:00", boards=["lc-mlt-02"])
    run(conn, now_hhmm="09:00")
    assert days.day("lc-mlt-01", DAY)["status"] == "non_compliant"


def test_an_order_recorded_later_judges_the_day_again(conn: Conn, days: Days) -> None:
    """Điều 8.2: the order may be recorded after the day was judged; the
    job judges the days it covers again, and again when it is revoked."""
    _failed_day_with_emergency_content(days)
    job = ComplianceJob(ComplianceSettings())
    job.run(conn, at(NEXT, "06:00"))
    conn.commit()
    assert days.day("lc-mlt-01", DAY)["status"] == "non_compliant"
    order = _order(conn, "06:00", "19:00", boards=["lc-mlt-01"])
    job.run(conn, at(NEXT, "06:30"))
    conn.commit()
    assert (days.day("lc-mlt-01", DAY)["status"], _exempt_order(conn)) == ("exempt", order)
    conn.execute(
        "UPDATE emergency_orders SET revoked_at = now(), revoked_by = 'quan.tri' WHERE id = %s",
        (order,),
    )
    conn.commit()
    job.run(conn, at(NEXT, "06:45"))
    conn.commit()
    assert (days.day("lc-mlt-01", DAY)["status"], _exempt_order(conn)) == ("non_compliant", None)


def test_a_board_without_windows(conn: Conn, days: Days) -> None:
    conn.execute("DELETE FROM broadcast_windows WHERE part = 'afternoon'")
    conn.commit()
    full_day(days)
    run(conn)
    assert days.day("lc-mlt-01", DAY)["status"] == "no_windows"


def test_a_board_override_replaces_the_site_window(conn: Conn, days: Days) -> None:
    conn.execute(
        "INSERT INTO broadcast_windows (board_id, part, starts_at, ends_at)"
        " VALUES ('lc-mlt-01', 'morning', '07:00', '10:00'),"
        " ('lc-mlt-01', 'afternoon', '14:00', '17:00')"
    )
    conn.commit()
    days.samples("lc-mlt-01", at(DAY, "06:30"), at(DAY, "10:30"))
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"))
    run(conn)
    day = days.day("lc-mlt-01", DAY)
    assert (day["morning"], day["morning_unknown"], day["status"]) == (180.0, 0.0, "compliant")
    assert day["afternoon_unknown"] == 0.0
    assert days.day("lc-mlt-02", DAY)["morning_unknown"] == 270.0  # still the site's window


def test_a_board_with_only_a_morning_window_of_its_own_has_no_afternoon(
    conn: Conn, days: Days
) -> None:
    conn.execute(
        "INSERT INTO broadcast_windows (board_id, part, starts_at, ends_at)"
        " VALUES ('lc-mlt-01', 'morning', '07:00', '10:00')"
    )
    conn.commit()
    full_day(days)
    run(conn)
    assert days.day("lc-mlt-01", DAY)["status"] == "no_windows"


def test_play_log_rows(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "07:10"), sha=SHA_A)
    days.samples("lc-mlt-01", at(DAY, "07:10"), at(DAY, "07:20"), sha=SHA_B, kind="advertising")
    # the same file again, a new play with its own start
    days.samples("lc-mlt-01", at(DAY, "07:20"), at(DAY, "07:30"), sha=SHA_A)
    run(conn)
    rows = conn.execute(
        "SELECT content_sha256, started_at, ended_at, content_kind FROM play_log"
        " WHERE device_id = 'lc-mlt-01' ORDER BY started_at"
    ).fetchall()
    assert [(r[0][0], r[1], r[2], r[3]) for r in rows] == [
        ("a", at(DAY, "07:00"), at(DAY, "07:10"), "propaganda"),
        ("b", at(DAY, "07:10"), at(DAY, "07:20"), "advertising"),
        ("a", at(DAY, "07:20"), at(DAY, "07:30"), "propaganda"),
    ]


def test_player_records_join_the_play_log_and_bad_ones_are_named(
    conn: Conn, days: Days, caplog: pytest.LogCaptureFixture
) -> None:
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "07:10"), sha=SHA_A)
    record = {
        "content_sha256": SHA_A,
        "content_id": "item-aaaa",
        "content_kind": "propaganda",
        "started_at": at(DAY, "07:00").isoformat(),
        "ended_at": at(DAY, "07:12").isoformat(),
    }
    bad = [
        {**record, "content_sha256": "zz"},
        {**record, "started_at": "yesterday"},
        {**record, "ended_at": at(DAY, "06:00").isoformat()},
        {**record, "content_kind": "music"},
    ]
    for seq, details in enumerate([record, *bad], start=1):
        conn.execute(
            "INSERT INTO board_events (device_id, boot, seq, measured_at, sent_at, received_at,"
            " replay, type, severity, message, details) VALUES ('lc-mlt-01', 1, %s, now(),"
            " now(), now(), false, 'content_played', 'info', 'played', %s)",
            (seq, Jsonb(details)),
        )
    conn.commit()
    with caplog.at_level(logging.WARNING, logger="fleet_server.compliance.job"):
        run(conn)
    rows = conn.execute(
        "SELECT started_at, ended_at, source FROM play_log WHERE device_id = 'lc-mlt-01'"
    ).fetchall()
    # the display-derived play and the player's record are one play, the
    # player's record kept when the day is measured again
    assert rows == [(at(DAY, "07:00"), at(DAY, "07:12"), "player")]
    skipped = [r.getMessage() for r in caplog.records]
    assert len(skipped) == 4
    assert "lc-mlt-01 event seq 2: content_sha256 is not 64 hex digits" in skipped[0]
    assert "not ISO 8601" in skipped[1]
    assert "ended_at is before started_at" in skipped[2]
    assert "content_kind 'music'" in skipped[3]
    assert conn.execute("SELECT count(*) FROM board_events").fetchone() == (5,)


def played(conn: Conn, seq: int, sha: str, start: datetime, end: datetime) -> None:
    conn.execute(
        "INSERT INTO board_events (device_id, boot, seq, measured_at, sent_at, received_at,"
        " replay, type, severity, message, details) VALUES ('lc-mlt-01', 1, %s, now(),"
        " now(), now(), false, 'content_played', 'info', 'played', %s)",
        (
            seq,
            Jsonb(
                {
                    "content_sha256": sha,
                    "started_at": start.isoformat(),
                    "ended_at": end.isoformat(),
                }
            ),
        ),
    )
    conn.commit()


def play_rows(conn: Conn) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT started_at, ended_at, source FROM play_log WHERE device_id = 'lc-mlt-01'"
        " ORDER BY started_at"
    ).fetchall()
    conn.commit()
    return rows


def test_a_player_record_with_another_start_replaces_the_display_play(
    conn: Conn, days: Days
) -> None:
    # samples without a reported start: the display-derived play starts at
    # the first sample, the player's record a moment earlier
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), started_at=None)
    conn.execute("UPDATE telemetry_display SET content_started_at = NULL")
    conn.commit()
    run(conn)
    assert [r[2] for r in play_rows(conn)] == ["display"]
    played(conn, 1, SHA_A, at(DAY, "07:00") - timedelta(microseconds=300), at(DAY, "10:00"))
    run(conn)
    assert play_rows(conn) == [
        (at(DAY, "07:00") - timedelta(microseconds=300), at(DAY, "10:00"), "player")
    ]
    # measured again (e.g. more late samples): still one row
    days.samples("lc-mlt-01", at(DAY, "10:00"), at(DAY, "10:01"), started_at=None)
    conn.execute("UPDATE telemetry_display SET content_started_at = NULL")
    conn.commit()
    run(conn)
    assert len(play_rows(conn)) == 1


def test_a_player_record_across_midnight_is_split_like_the_display_rows(
    conn: Conn, days: Days
) -> None:
    days.samples("lc-mlt-01", at(DAY, "23:00"), at(NEXT, "01:00"))
    played(conn, 1, SHA_A, at(DAY, "23:00"), at(NEXT, "01:00"))
    run(conn, day=NEXT + timedelta(days=1))
    assert play_rows(conn) == [
        (at(DAY, "23:00"), at(NEXT, "00:00"), "player"),
        (at(NEXT, "00:00"), at(NEXT, "01:00"), "player"),
    ]


def test_the_cursor_waits_for_an_open_ingest_transaction(conn: Conn, db_url: str) -> None:
    from fleet_server.compliance import storage  # noqa: PLC0415

    with psycopg.connect(db_url) as ingest:
        started = ingest.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        # still open: its rows will carry `started` as stored_at
        assert storage.settled_until(conn) == started
        conn.commit()
    conn.commit()
    assert storage.settled_until(conn) > started
