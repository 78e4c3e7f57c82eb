"""Hand-built broadcast days: one site with its windows, boards, and display
samples written straight into telemetry_display (ingest has its own tests)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg
import pytest

from fleet_server.localtime import LOCAL_TZ
from tests.support import seed

Conn = psycopg.Connection[Any]

DAY = date(2026, 11, 20)
SHA_A = "a" * 64
SHA_B = "b" * 64
#: Registered as emergency information; SHA_A is propaganda, SHA_B advertising,
#: SHA_X is not in the registry.
SHA_E = "e" * 64
SHA_X = "f" * 64


def at(day: date, hhmm: str) -> datetime:
    """Local wall-clock time on ``day`` (Asia/Ho_Chi_Minh)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


class Days:
    """Writes display samples the way a board reports them."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self._seq = itertools.count(1)

    def samples(
        self,
        board: str,
        start: datetime,
        end: datetime,
        *,
        every_s: int = 30,
        on: bool = True,
        kind: str | None = "propaganda",
        sha: str | None = SHA_A,
        started_at: datetime | None = None,
        stored_at: datetime | None = None,
        screen_on: bool | None = True,
    ) -> int:
        """One sample every ``every_s`` in [start, end); returns how many."""
        times: list[datetime] = []
        t = start
        while t < end:
            times.append(t)
            t += timedelta(seconds=every_s)
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO telemetry_display (device_id, boot, seq, measured_at, sent_at,"
                " received_at, stored_at, replay, screen_on, player_running, content_id,"
                " content_kind, content_sha256, content_language, content_started_at)"
                " VALUES (%s, 1, %s, %s, %s, %s, COALESCE(%s, now()), %s, %s, %s, %s, %s, %s,"
                " 'vi', %s)",
                [
                    (
                        board,
                        next(self._seq),
                        t,
                        t,
                        t,
                        stored_at,
                        stored_at is not None,
                        screen_on,
                        on,
                        f"item-{sha[:4]}" if sha and on else None,
                        kind if on else None,
                        sha if on else None,
                        (started_at or start) if on and sha else None,
                    )
                    for t in times
                ],
            )
        self.conn.commit()
        return len(times)

    def day(self, board: str, day: date) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT status, morning_minutes, afternoon_minutes, total_minutes,"
            " advertising_minutes, emergency_minutes, morning_unknown, afternoon_unknown,"
            " counted_minutes, unapproved_minutes, unidentified_minutes"
            " FROM compliance_days WHERE board_id = %s AND day = %s",
            (board, day),
        ).fetchone()
        self.conn.commit()
        assert row is not None, f"no compliance row for {board} on {day}"
        keys = (
            "status",
            "morning",
            "afternoon",
            "total",
            "advertising",
            "emergency",
            "morning_unknown",
            "afternoon_unknown",
            "counted",
            "unapproved",
            "unidentified",
        )
        return dict(zip(keys, (row[0], *(round(float(v), 2) for v in row[1:])), strict=True))


@pytest.fixture
def conn(db_url: str) -> Iterator[Conn]:
    with psycopg.connect(db_url) as c:
        seed.organisation(c, "bqlkkt", "BQL KKT", kind="economic_zone_board")
        site = seed.site(
            c, "ma-lu-thang", "bqlkkt", name="Cửa khẩu Ma Lù Thàng", kind="border_gate"
        )
        c.execute(
            "INSERT INTO broadcast_windows (site_id, part, starts_at, ends_at) VALUES"
            " (%s, 'morning', '06:30', '11:00'), (%s, 'afternoon', '13:30', '18:00')",
            (site, site),
        )
        seed.content_item(c, SHA_A, "propaganda")
        seed.content_item(c, SHA_B, "advertising")
        seed.content_item(c, SHA_E, "emergency")
        for board, name in (("lc-mlt-01", "Bảng 1"), ("lc-mlt-02", "Bảng 2")):
            seed.board(c, board, site, name=name, installed_on=date(2026, 1, 1))
        c.commit()
        yield c


@pytest.fixture
def days(conn: Conn) -> Days:
    return Days(conn)
