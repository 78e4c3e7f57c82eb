"""Each site's camera count (``site_camera_counts``, migration 0054, the
cameras list's total) follows every change of cameras and boards: the
stored counts always equal a count of the cameras themselves."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

from tests.support import seed

ORG = "bql-kkt"
COUNTED = """
    SELECT b.site_id, count(*) FROM boards b JOIN cameras c ON c.board_id = b.id
    GROUP BY b.site_id ORDER BY 1
"""


def same(conn: Any) -> None:
    stored = conn.execute("SELECT site_id, cameras FROM site_camera_counts ORDER BY 1")
    assert stored.fetchall() == conn.execute(COUNTED).fetchall()


def add_cameras(conn: Any, board: str, *ids: str) -> None:
    conn.execute(
        "INSERT INTO cameras (board_id, camera_id, name)"
        " SELECT %s, id, 'Camera ' || id FROM unnest(%s::text[]) id",
        (board, list(ids)),
    )


def waiting_for_lock(conn: Any, pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
        if row.fetchone() == ("Lock",):
            return
        time.sleep(0.01)
    raise AssertionError("the second writer never waited")


def test_counts_follow_cameras_and_boards(db_conn: Any, db_owner: Any) -> None:
    same(db_conn)
    assert db_conn.execute("SELECT count(*) FROM site_camera_counts").fetchone()[0] > 0
    first, second = seed.site(db_conn, "counted-1", ORG), seed.site(db_conn, "counted-2", ORG)
    seed.board(db_conn, "lc-counted-a", first)
    seed.board(db_conn, "lc-counted-b", first)
    same(db_conn)  # boards without cameras: no row
    add_cameras(db_conn, "lc-counted-a", "c1", "c2", "c3")
    add_cameras(db_conn, "lc-counted-b", "c1")
    same(db_conn)
    db_conn.execute("DELETE FROM cameras WHERE board_id = 'lc-counted-a' AND camera_id = 'c2'")
    same(db_conn)
    db_conn.execute("UPDATE cameras SET name = 'renamed' WHERE board_id = 'lc-counted-b'")
    db_conn.execute("UPDATE boards SET site_id = %s WHERE id = 'lc-counted-b'", (second,))
    same(db_conn)
    db_conn.execute("UPDATE boards SET name = 'renamed' WHERE site_id = %s", (second,))
    same(db_conn)
    db_conn.execute("DELETE FROM boards WHERE id = 'lc-counted-a'")  # its cameras with it
    same(db_conn)
    db_conn.execute("DELETE FROM cameras WHERE board_id = 'lc-counted-b'")
    same(db_conn)
    rows = db_conn.execute(
        "SELECT count(*) FROM site_camera_counts WHERE site_id = ANY(%s)", ([first, second],)
    )
    assert rows.fetchone()[0] == 0
    db_owner.execute("TRUNCATE cameras")
    same(db_conn)
    assert db_conn.execute("SELECT count(*) FROM site_camera_counts").fetchone()[0] == 0


def test_writers_side_by_side_each_counted(db_conn: Any, db_url: str) -> None:
    """Two transactions adding cameras at one site: the second counts after
    the first commits, so neither's cameras are lost."""
    site = seed.site(db_conn, "counted-3", ORG)
    seed.board(db_conn, "lc-side-a", site)
    seed.board(db_conn, "lc-side-b", site)
    with psycopg.connect(db_url) as one, psycopg.connect(db_url) as other:
        add_cameras(one, "lc-side-a", "c1", "c2")  # counted, the site held until commit
        done = threading.Event()

        def second() -> None:
            add_cameras(other, "lc-side-b", "c1")
            other.commit()
            done.set()

        worker = threading.Thread(target=second)
        worker.start()
        waiting_for_lock(db_conn, other.info.backend_pid)  # the first writer's site
        assert not done.is_set()
        one.commit()
        worker.join(10)
        assert done.is_set()
    same(db_conn)
    row = db_conn.execute("SELECT cameras FROM site_camera_counts WHERE site_id = %s", (site,))
    assert row.fetchone()[0] == 3
