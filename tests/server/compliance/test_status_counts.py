"""The reports page's status counts per organisation (migration 0052): the
counts the triggers keep equal those of the board-days joined to their
boards, through writes, board and site moves and deletions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import psycopg

from fleet_server.access.scope import Scope
from fleet_server.compliance import storage_reads
from tests.support import seed

Conn = psycopg.Connection[Any]

FIRST = date(2026, 11, 1)
LAST = FIRST + timedelta(days=29)
STATUSES = ("compliant", "non_compliant", "unknown", "exempt", "no_windows", "pending")


def _day(conn: Conn, board: str, day: date, status: str, share: float | None) -> None:
    conn.execute(
        "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
        " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
        " afternoon_unknown, status, basis, advertising_share_percent,"
        " advertising_ceiling_percent) VALUES (%s, %s, 0, 0, 0, 0, 0, 0, 0, %s, '{}', %s, 20)",
        (board, day, status, share),
    )


def _fleet(conn: Conn) -> tuple[int, int]:
    a = seed.organisation(conn, "org-a")
    b = seed.organisation(conn, "org-b")
    seed.site(conn, "a-1", "org-a")
    seed.site(conn, "a-2", "org-a")
    seed.site(conn, "b-1", "org-b")
    for i, site in enumerate(("a-1", "a-1", "a-2", "b-1", "b-1")):
        board = seed.board(conn, f"bd-{i}", site)
        for d in range(-2, 32):  # some days outside the month on either side
            share = None if d % 5 == 0 else float((i * 7 + d * 3) % 40)
            _day(conn, board, FIRST + timedelta(days=d), STATUSES[(i + d) % 6], share)
    return a, b


def _joined(conn: Conn, organisation: int) -> tuple[dict[str, int], int]:
    """The figures through the joined path: the organisation's sites given
    one by one (a scope the counts do not serve)."""
    sites = tuple(
        int(r[0])
        for r in conn.execute("SELECT id FROM sites WHERE organisation_id = %s", (organisation,))
    )
    scope = Scope(site_ids=sites or (-1,))
    return (
        storage_reads.status_counts(conn, scope, FIRST, LAST),
        storage_reads.advertising_over(conn, scope, FIRST, LAST),
    )


def _counted(conn: Conn, organisation: int) -> tuple[dict[str, int], int]:
    scope = Scope(organisation_id=organisation)
    return (
        storage_reads.status_counts(conn, scope, FIRST, LAST),
        storage_reads.advertising_over(conn, scope, FIRST, LAST),
    )


def _check(conn: Conn, *organisations: int) -> None:
    for organisation in organisations:
        assert _counted(conn, organisation) == _joined(conn, organisation)
    everything = Scope.everything()
    whole = conn.execute(
        "SELECT c.status, count(*) FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        " WHERE c.day BETWEEN %s AND %s GROUP BY 1",
        (FIRST, LAST),
    ).fetchall()
    assert storage_reads.status_counts(conn, everything, FIRST, LAST) == dict(whole)
    over = conn.execute(
        "SELECT count(*) FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        " WHERE c.day BETWEEN %s AND %s"
        " AND c.advertising_share_percent > c.advertising_ceiling_percent",
        (FIRST, LAST),
    ).fetchone()
    assert over is not None
    assert storage_reads.advertising_over(conn, everything, FIRST, LAST) == over[0]


def test_counts_follow_every_write(db: Conn) -> None:
    a, b = _fleet(db)
    counts, over = _counted(db, a)
    assert sum(counts.values()) == 3 * 30
    assert 0 < over < 90
    _check(db, a, b)

    # The compliance job's upsert changing a verdict and the advertising share.
    db.execute(
        "UPDATE compliance_days SET status = 'non_compliant', advertising_share_percent = 90"
        " WHERE board_id = 'bd-0' AND day BETWEEN %s AND %s",
        (FIRST, FIRST + timedelta(days=9)),
    )
    db.execute(
        "UPDATE compliance_days SET morning_minutes = 5 WHERE board_id = 'bd-1'"
    )  # no counted column: nothing moves
    _check(db, a, b)

    db.execute("DELETE FROM compliance_days WHERE board_id = 'bd-2' AND day > %s", (FIRST,))
    _check(db, a, b)

    # A board moved to another organisation's site takes its days along.
    db.execute("UPDATE boards SET site_id = %s WHERE id = 'bd-1'", (seed.site_id(db, "b-1"),))
    _check(db, a, b)

    # A site handed to the other organisation takes its boards' days along.
    db.execute("UPDATE sites SET organisation_id = %s WHERE code = 'a-2'", (b,))
    _check(db, a, b)

    # Days stored before their board existed count once it does; a deleted
    # board's days no longer count.
    for d in range(3):
        _day(db, "bd-late", FIRST + timedelta(days=d), "compliant", 50.0)
    _check(db, a, b)
    seed.board(db, "bd-late", "a-1")
    _check(db, a, b)
    db.execute("DELETE FROM boards WHERE id = 'bd-late'")
    _check(db, a, b)


def test_counts_kept_across_a_transaction_rolled_back(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        a, b = _fleet(conn)
        conn.commit()
        conn.execute("UPDATE compliance_days SET status = 'exempt' WHERE board_id = 'bd-3'")
        conn.rollback()
        _check(conn, a, b)
        assert conn.execute("SELECT count(*) FROM compliance_status_counts").fetchone() != (0,)


def test_mixed_scopes_count_the_joined_days(db: Conn) -> None:
    """A reader with sites of their own beside their organisation's, or a
    team, is not served by the per-organisation counts."""
    a, _ = _fleet(db)
    extra = seed.site_id(db, "b-1")
    scope = Scope(organisation_id=a, site_ids=(extra,))
    counts = storage_reads.status_counts(db, scope, FIRST, LAST)
    assert sum(counts.values()) == 5 * 30


def test_counts_follow_statements_of_many_rows(db: Conn) -> None:
    """The counts are kept per statement (migration 0058): a statement
    writing many board-days — the job's batches, an upsert that inserts some
    days and changes others, a bulk delete — moves each count once, to the
    same figures as row by row."""
    a, b = _fleet(db)
    db.execute(
        "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
        " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
        " afternoon_unknown, status, basis, advertising_share_percent,"
        " advertising_ceiling_percent)"
        " SELECT b.id, d::date, 0, 0, 0, 0, 0, 0, 0,"
        "   (ARRAY['compliant', 'non_compliant', 'unknown'])[1 + (extract(day FROM d)::int %% 3)],"
        "   '{}', (extract(day FROM d)::int * 3) %% 40, 20"
        " FROM boards b, generate_series(%s::timestamp, %s::timestamp, '1 day') d"
        " ON CONFLICT (board_id, day) DO UPDATE SET status = EXCLUDED.status,"
        "   advertising_share_percent = EXCLUDED.advertising_share_percent",
        (LAST - timedelta(days=5), LAST + timedelta(days=10)),
    )  # six days changed, ten new, for every board
    _check(db, a, b)
    db.execute(
        "UPDATE compliance_days SET status = 'exempt' WHERE day <= %s", (FIRST + timedelta(days=3),)
    )
    _check(db, a, b)
    db.execute(
        "DELETE FROM compliance_days WHERE day BETWEEN %s AND %s",
        (FIRST, FIRST + timedelta(days=20)),
    )
    _check(db, a, b)
    db.execute("UPDATE compliance_days SET status = status")  # every row, nothing counted moves
    _check(db, a, b)
    db.execute("DELETE FROM compliance_days")
    assert db.execute("SELECT count(*) FROM compliance_status_counts").fetchone() == (0,)
