"""The one pass stores exactly what the two passes stored (two_pass.py):
the same compliance_days rows and the same play log, on varied days —
gaps and missing samples, plays across local midnight, samples reported
twice under another boot, clock skew in the reported start, files whose
approval starts or ends mid-play, screens off, no hash, emergency orders,
a board's own windows and a board without windows, the player's own
records, days measured before, and batches that split a board's days."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest

from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.models import ComplianceSettings
from tests.server.compliance.conftest import DAY, SHA_A, SHA_B, SHA_E, SHA_X, Conn, at
from tests.server.compliance.two_pass import compute_two_pass
from tests.support import seed

NEXT = DAY + timedelta(days=1)
BEFORE = DAY - timedelta(days=1)
#: approved only from 08:00 to 15:00 on DAY
SHA_V = "c" * 64
SHAS = (SHA_A, SHA_A, SHA_B, SHA_E, SHA_X, SHA_V, None)
#: lc-mlt-01/02: the site's windows; 03: windows of its own; 04: only a
#: morning window of its own (no_windows); 05: a site without windows
BOARDS = ("lc-mlt-01", "lc-mlt-02", "lc-mlt-03", "lc-mlt-04", "lc-xx-05")
COLUMNS = (
    "device_id, boot, seq, measured_at, sent_at, received_at, replay, screen_on,"
    " player_running, content_id, content_kind, content_sha256, content_language,"
    " content_started_at"
)


def _fleet(conn: Conn) -> None:
    for board in ("lc-mlt-03", "lc-mlt-04"):
        seed.board(conn, board, "ma-lu-thang", installed_on=DAY)
    seed.site(conn, "xx", "bqlkkt", name="Không có khung giờ")
    seed.board(conn, "lc-xx-05", "xx", installed_on=DAY)
    conn.execute(
        "INSERT INTO broadcast_windows (board_id, part, starts_at, ends_at) VALUES"
        " ('lc-mlt-03', 'morning', '00:00', '09:00'),"
        " ('lc-mlt-03', 'afternoon', '17:00', '23:59:59'),"
        " ('lc-mlt-04', 'morning', '07:00', '10:00')"
    )
    seed.content_item(
        conn, SHA_V, "propaganda", valid_from=at(DAY, "08:00"), valid_to=at(DAY, "15:00")
    )
    orders: tuple[tuple[datetime, datetime, bool, str | None, str | None], ...] = (
        (at(DAY, "06:00"), at(DAY, "12:00"), True, None, None),  # all sites, DAY morning
        (at(NEXT, "13:00"), at(NEXT, "19:00"), False, "lc-mlt-02", None),
        (at(NEXT, "06:00"), at(NEXT, "12:00"), False, None, "ma-lu-thang"),
        (at(BEFORE, "00:00"), at(NEXT, "23:00"), True, None, None),  # revoked below
    )
    for starts, ends, all_sites, on_board, on_site in orders:
        row = conn.execute(
            "INSERT INTO emergency_orders (authority, document_number, document_date,"
            " starts_at, ends_at, all_sites, created_by) VALUES ('UBND tỉnh', '1/QĐ', %s,"
            " %s, %s, %s, 'quan.tri') RETURNING id",
            (DAY, starts, ends, all_sites),
        ).fetchone()
        assert row is not None
        if on_board:
            conn.execute("INSERT INTO emergency_order_boards VALUES (%s, %s)", (row[0], on_board))
        if on_site:
            conn.execute(
                "INSERT INTO emergency_order_sites SELECT %s, id FROM sites WHERE code = %s",
                (row[0], on_site),
            )
    conn.execute(
        "UPDATE emergency_orders SET revoked_at = now(), revoked_by = 'quan.tri'"
        " WHERE starts_at = %s",
        (at(BEFORE, "00:00"),),
    )


def _samples(rnd: random.Random, board: str) -> list[tuple[Any, ...]]:
    """Segments of samples from the evening before DAY to the end of NEXT."""
    rows: list[tuple[Any, ...]] = []
    seq = 0
    t = at(BEFORE, "20:00") + timedelta(seconds=rnd.randrange(600))
    end = at(NEXT + timedelta(days=1), "00:30")
    while t < end:
        length = timedelta(minutes=rnd.choice((1, 5, 20, 45, 90, 180)))
        every = rnd.choice((5, 30, 30, 30, 60, 119, 121, 150, 600))
        on = rnd.random() < 0.8
        screen = rnd.choice((True, True, True, None, False))
        sha = rnd.choice(SHAS)
        kind = rnd.choice(("propaganda", "advertising", "emergency", None))
        cstart = rnd.choice((None, t, t - timedelta(minutes=5), t + timedelta(seconds=40)))
        cstart = cstart if rnd.random() > 0.05 else at(BEFORE, "12:00")
        stop = min(t + length, end)
        while t < stop:
            seq += 1
            shown = sha if on else None
            language = rnd.choice(("vi", None))
            row = (board, 1, seq, t, t, t, False, screen, on, shown and f"item-{shown[:4]}")
            rows.append((*row, kind if on else None, shown, language, cstart and shown and cstart))
            if rnd.random() < 0.03:  # the same instant again, after a reboot
                other = rnd.choice(SHAS)
                rows.append((board, 2, seq, t, t, t, True, True, True, None, None, other, "en", t))
            t += timedelta(seconds=every, milliseconds=rnd.choice((0, 0, 0, 250, -250)))
        # a gap (missing samples) or none
        t += timedelta(seconds=rnd.choice((0, 0, 0, 10, 90, 300, 3600)))
    return rows


def _write(conn: Conn, rnd: random.Random) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY telemetry_display ({COLUMNS}) FROM STDIN") as copy:
        for board in BOARDS:
            for row in _samples(rnd, board):
                copy.write_row(row)
    # the player's own records of two plays (the display-derived play yields)
    conn.execute(
        "INSERT INTO play_log (device_id, content_sha256, started_at, ended_at, source)"
        " VALUES ('lc-mlt-01', %s, %s, %s, 'player'), ('lc-mlt-02', %s, %s, %s, 'player')",
        (SHA_A, at(DAY, "07:00"), at(DAY, "09:00"), SHA_B, at(NEXT, "14:00"), at(NEXT, "15:00")),
    )


def _stored(conn: Conn) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    days = conn.execute(
        "SELECT board_id, day, morning_minutes, afternoon_minutes, total_minutes,"
        " advertising_minutes, emergency_minutes, morning_unknown, afternoon_unknown, status,"
        " basis, counted_minutes, unapproved_minutes, unidentified_minutes, exempt_order_id,"
        " advertising_share_percent, advertising_ceiling_percent, advertising_ceiling_from"
        " FROM compliance_days ORDER BY board_id, day"
    ).fetchall()
    plays = conn.execute(
        "SELECT device_id, content_sha256, started_at, ended_at, content_id, content_kind,"
        " content_language, source FROM play_log ORDER BY device_id, started_at, content_sha256"
    ).fetchall()
    return days, plays


@pytest.mark.parametrize(("seed_value", "gap_s"), [(1, 120.0), (2, 120.0), (3, 600.0)])
def test_one_pass_stores_what_two_passes_stored(conn: Conn, seed_value: int, gap_s: float) -> None:
    rnd = random.Random(seed_value)
    _fleet(conn)
    _write(conn, rnd)
    settings = ComplianceSettings(batch=4, sample_gap_s=gap_s)
    job = ComplianceJob(settings)
    # some days measured before (their display plays are replaced)
    job.compute(conn, [(b, DAY) for b in BOARDS[:3]], at(NEXT, "12:00"))
    conn.commit()
    pairs = [(b, d) for b in BOARDS for d in (BEFORE, DAY, NEXT)]
    rnd.shuffle(pairs)  # a board's days in different batches
    for now in (at(NEXT, "12:00"), at(NEXT + timedelta(days=1), "08:00")):
        compute_two_pass(conn, pairs, now, settings)
        before = _stored(conn)
        conn.rollback()
        job.compute(conn, pairs, now)
        after = _stored(conn)
        # measured again (a killed run run again): the same rows
        job.compute(conn, pairs, now)
        again = _stored(conn)
        conn.rollback()
        assert len(before[0]) == len(pairs)
        assert len(before[1]) > 100
        assert after[0] == before[0]
        assert after[1] == before[1]
        assert again == after


def test_the_data_is_varied(conn: Conn) -> None:
    """The comparison above is only worth its data: every verdict and kind
    of time it should see, it sees."""
    _fleet(conn)
    _write(conn, random.Random(1))
    compute_two_pass(
        conn,
        [(b, d) for b in BOARDS for d in (BEFORE, DAY, NEXT)],
        at(NEXT + timedelta(days=1), "08:00"),
        ComplianceSettings(),
    )
    row = conn.execute(
        "SELECT array_agg(DISTINCT status ORDER BY status), max(unapproved_minutes),"
        " max(unidentified_minutes), count(exempt_order_id), max(advertising_minutes)"
        " FROM compliance_days WHERE day <> %s",
        (BEFORE,),
    ).fetchone()
    assert row is not None
    statuses, unapproved, unidentified, exempt, advertising = row
    assert {"exempt", "no_windows"} <= set(statuses)
    assert {"non_compliant", "unknown"} & set(statuses)
    assert (unapproved > 0, unidentified > 0, exempt > 0, advertising > 0) == (True,) * 4
    [(crossing,)] = conn.execute(
        "SELECT count(*) FROM play_log WHERE started_at = %s", (at(NEXT, "00:00"),)
    ).fetchall()
    assert crossing > 0  # plays cut at local midnight
