"""The fleet health version (migration 0045) moves on every change the
overview and the sites' health show, once a transaction, at its commit, and
not on heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from fleet_server.organisations.health_cache import fleet_version
from tests.support import seed

Conn = psycopg.Connection[Any]
NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


def version(conn: Conn) -> int:
    return fleet_version(conn).number


def fleet(conn: Conn) -> None:
    seed.organisation(conn, "org-a")
    seed.site(conn, "site-1", "org-a", latitude=22.4, longitude=103.4)
    seed.board(conn, "lc-0001", "site-1")
    conn.execute(
        "INSERT INTO board_status (board_id, state, since, last_seen_at)"
        " VALUES ('lc-0001', 'online', %s, %s)",
        (NOW, NOW),
    )


def test_a_state_change_moves_the_version_a_heartbeat_does_not(db: Conn) -> None:
    fleet(db)
    before = version(db)
    db.execute("UPDATE board_status SET last_seen_at = %s", (NOW,))
    db.execute("UPDATE board_status SET state = 'online', reason = 'same state'")
    assert version(db) == before
    db.execute("UPDATE board_status SET state = 'offline'")
    assert version(db) == before + 1


def test_the_version_moves_once_a_transaction_at_its_commit(db: Conn) -> None:
    fleet(db)
    before = version(db)
    with psycopg.connect(db.info.dsn) as writer:
        writer.execute("UPDATE board_status SET state = 'lost'")
        writer.execute("UPDATE boards SET enabled = false")
        writer.execute(
            "INSERT INTO board_status_history (board_id, at, state)"
            " VALUES ('lc-0001', now(), 'lost')"
        )
        assert version(db) == before  # not before the commit
        writer.commit()
    assert version(db) == before + 1
    with psycopg.connect(db.info.dsn) as writer:
        writer.execute("UPDATE board_status SET state = 'online'")
        writer.rollback()
    assert version(db) == before + 1


def test_incidents_boards_sites_and_teams_move_the_version(db: Conn) -> None:
    fleet(db)
    site = seed.site_id(db, "site-1")
    org = seed.organisation_id(db, "org-a")
    changes = [
        f"""INSERT INTO incidents (dedupe_key, rule, class, severity, state, title,
                                  board_id, site_id, organisation_id, opened_at, updated_at)
            VALUES ('k', 'board_offline', 'technical', 'major', 'open', 't', 'lc-0001',
                    {site}, {org}, now(), now())""",
        "UPDATE incidents SET severity = 'critical'",
        "UPDATE incidents SET state = 'resolved'",
        "UPDATE boards SET site_id = site_id, enabled = NOT enabled",
        "UPDATE sites SET name = 'Điểm mới'",
        f"INSERT INTO site_teams (site_id, team) VALUES ({site}, 'to-1')",
        "DELETE FROM board_status",
    ]
    for change in changes:
        before = version(db)
        db.execute(change)
        assert version(db) > before, change
    before = version(db)
    db.execute("UPDATE incidents SET title = 'another title'")
    db.execute("UPDATE boards SET name = 'another name'")
    assert version(db) == before
