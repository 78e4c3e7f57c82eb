"""The cameras without a reading (``camera_gaps``, migration 0054, half of
the unknown cameras the list reads) follow the readings and the cameras:
after every change they are exactly the cameras with no camera_health row,
and two writers of one board, side by side, leave none out."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tests.server.api.test_camera_health import cam, reading
from tests.server.api.test_site_camera_counts import waiting_for_lock
from tests.support.clock import Clock

WITHOUT_READING = """
    SELECT c.board_id, c.camera_id FROM cameras c
     WHERE NOT EXISTS (SELECT 1 FROM camera_health h
                        WHERE h.board_id = c.board_id AND h.camera_id = c.camera_id)
     ORDER BY 1, 2
"""


def same(conn: Any) -> list[tuple[str, str]]:
    stored = conn.execute("SELECT board_id, camera_id FROM camera_gaps ORDER BY 1, 2").fetchall()
    assert stored == conn.execute(WITHOUT_READING).fetchall()
    return [(str(b), str(c)) for b, c in stored]


def add_camera(conn: Any, board: str, camera: str) -> None:
    conn.execute(
        "INSERT INTO cameras (board_id, camera_id, name) VALUES (%s, %s, 'Camera')",
        (board, camera),
    )


def test_gaps_follow_readings_and_cameras(db_conn: Any, db_owner: Any, clock: Clock) -> None:
    boards = [str(r[0]) for r in db_conn.execute("SELECT id FROM boards ORDER BY id LIMIT 3")]
    board, other, third = boards
    assert len(same(db_conn)) > 0  # the seeded cameras have no reading yet
    reading(db_conn, board, clock.now, cam("cam1", "ok"), cam("cam2", "timeout"))
    reading(db_conn, other, clock.now, cam("cam1", "ok"), cam("ghost", "ok"))  # not a camera
    assert (board, "cam1") not in same(db_conn)
    add_camera(db_conn, board, "cam9")  # no reading yet
    assert (board, "cam9") in same(db_conn)
    reading(db_conn, board, clock.now, cam("cam9", "ok"))  # cam1 and cam2 left the reading
    gaps = same(db_conn)
    assert (board, "cam9") not in gaps
    assert (board, "cam1") in gaps
    db_conn.execute("UPDATE cameras SET name = 'renamed' WHERE board_id = %s", (board,))
    db_conn.execute(
        "UPDATE cameras SET camera_id = 'cam8' WHERE board_id = %s AND camera_id = 'cam9'",
        (board,),
    )
    assert (board, "cam8") in same(db_conn)
    db_conn.execute("DELETE FROM cameras WHERE board_id = %s AND camera_id = 'cam8'", (board,))
    same(db_conn)
    later = clock.now + timedelta(minutes=30)  # stale readings are not gaps
    reading(db_conn, third, later - timedelta(hours=2), cam("cam1", "ok"))
    assert (third, "cam1") not in same(db_conn)
    db_conn.execute("DELETE FROM board_latest WHERE device_id = %s", (other,))
    assert (other, "cam1") in same(db_conn)
    db_owner.execute("TRUNCATE board_latest")  # camera_health emptied row by row
    assert len(same(db_conn)) == db_conn.execute("SELECT count(*) FROM cameras").fetchone()[0]
    reading(db_conn, board, clock.now, cam("cam1", "ok"))
    db_owner.execute("TRUNCATE camera_health")
    same(db_conn)
    db_owner.execute("DELETE FROM boards WHERE id = %s", (other,))
    same(db_conn)
    db_owner.execute("TRUNCATE cameras")
    assert same(db_conn) == []


@pytest.mark.parametrize("provisioned_first", [True, False])
def test_a_camera_added_while_its_first_reading_is_written(
    db_conn: Any, db_url: str, clock: Clock, provisioned_first: bool
) -> None:
    """A camera provisioned while ingest writes the board's reading that
    names it: whoever comes second sees the other's commit, so the camera is
    a gap only while it has no reading."""
    board = str(db_conn.execute("SELECT id FROM boards ORDER BY id LIMIT 1").fetchone()[0])
    with psycopg.connect(db_url) as provisioning, psycopg.connect(db_url) as ingest:

        def write(conn: Any) -> None:
            if conn is provisioning:
                add_camera(conn, board, "new")
            else:
                reading(conn, board, clock.now, cam("new", "ok"))

        first, second = (provisioning, ingest) if provisioned_first else (ingest, provisioning)
        write(first)
        done = threading.Event()

        def then() -> None:
            write(second)
            second.commit()
            done.set()

        worker = threading.Thread(target=then)
        worker.start()
        waiting_for_lock(db_conn, second.info.backend_pid)
        assert not done.is_set()
        first.commit()
        worker.join(10)
        assert done.is_set()
    assert (board, "new") not in same(db_conn)
