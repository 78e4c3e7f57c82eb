"""Proof of play and compliance days are kept five years, like the rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fleet_server.telemetry import storage_upkeep as upkeep
from tests.server.compliance.conftest import SHA_A, Conn

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_derived_rows_are_kept_five_years_and_no_longer(conn: Conn) -> None:
    young, old = NOW - timedelta(days=1820), NOW - timedelta(days=1830)
    for at in (young, old):
        conn.execute(
            "INSERT INTO play_log (device_id, content_sha256, started_at, ended_at, source)"
            " VALUES ('lc-mlt-01', %s, %s, %s, 'display')",
            (SHA_A, at, at + timedelta(minutes=5)),
        )
        conn.execute(
            "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
            " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
            " afternoon_unknown, status, basis) VALUES ('lc-mlt-01', %s, 0, 0, 0, 0, 0, 0, 0,"
            " 'unknown', '{}')",
            (at.date(),),
        )
    deleted = upkeep.apply_derived_retention(conn, NOW)
    assert deleted == {
        "play_log": 1,
        "compliance_days": 1,
        "snapshots": 0,
        "log_bundles": 0,
        "board_data_usage": 0,
    }
    assert conn.execute("SELECT started_at FROM play_log").fetchall() == [(young,)]
    days = conn.execute("SELECT day FROM compliance_days").fetchall()
    assert days == [(young.date(),)]
