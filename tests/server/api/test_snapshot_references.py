"""POST /api/v1/snapshots/{id}/reference: a camera picture becomes that
camera's reference view on its board (proof.camera_references), a screen
picture a reference frame of the approved item on air, sent to every board
in the caller's scope that played it (proof.screen_references) — each as a
new desired configuration version, audited as board.config."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg

import fleet_protocol as fp
from tests.server.api.test_snapshots import jpeg
from tests.server.api.test_snapshots import upload as shared_upload
from tests.server.engine.conftest import Store
from tests.support import seed
from tests.support.clock import Clock

Conn = psycopg.Connection[Any]
AsFactory = Any

BOARD = "lc-ma-lu-thang-01"  # bql-kkt
SAME_ITEM = "lc-mu-ca-01"  # bql-kkt, plays the same item
DISTRICT = "lc-phong-tho-01"  # ubnd-phong-tho, plays it too: not the operator's
ITEM = "a" * 64
UNAPPROVED = "b" * 64


def upload(
    store: Store, board: str, *, source: str, phash: str, camera_id: str | None = None
) -> None:
    shared_upload(
        store, board, jpeg(5), source=source, camera_id=camera_id, reason="command", phash=phash
    )


def on_air(store: Store, board: str, sha256: str) -> None:
    store.reading(
        board,
        fp.TelemetryKind.DISPLAY,
        fp.DisplayData(screen_on=True, player_running=True, content_sha256=sha256),
    )


def snapshot_id(conn: Conn, board: str, source: str) -> int:
    row = conn.execute(
        "SELECT max(id) FROM snapshots WHERE device_id = %s AND source = %s", (board, source)
    ).fetchone()
    assert row is not None
    assert row[0] is not None
    return int(row[0])


def desired_proof(conn: Conn, board: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT config->'proof' FROM board_config_desired WHERE board_id = %s"
        " ORDER BY version DESC LIMIT 1",
        (board,),
    ).fetchone()
    return None if row is None else row[0]


def test_a_camera_picture_becomes_that_cameras_reference(
    as_: AsFactory, store: Store, db_conn: Conn
) -> None:
    upload(store, BOARD, source="camera", camera_id="cam1", phash="00ff00ff00ff00ff")
    picture = snapshot_id(db_conn, BOARD, "camera")
    url = f"/api/v1/snapshots/{picture}/reference"
    for role in ("viewer", "technician", "guard", "province"):
        assert as_(role).post(url).status_code in (403, 404), role
    assert as_("district").post(url).status_code == 404
    done = as_("operator").post(url)
    assert done.status_code == 200, done.text
    assert done.json()["boards"] == [BOARD]
    assert desired_proof(db_conn, BOARD) == {"camera_references": {"cam1": "00ff00ff00ff00ff"}}
    # a second camera keeps the first one's reference
    upload(store, BOARD, source="camera", camera_id="cam2", phash="1111111111111111")
    assert (
        as_("operator")
        .post(f"/api/v1/snapshots/{snapshot_id(db_conn, BOARD, 'camera')}/reference")
        .status_code
        == 200
    )
    assert desired_proof(db_conn, BOARD) == {
        "camera_references": {"cam1": "00ff00ff00ff00ff", "cam2": "1111111111111111"}
    }
    audited = db_conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'board.config' AND target_id = %s", (BOARD,)
    ).fetchone()
    assert audited == (2,)


def test_a_screen_picture_becomes_a_frame_of_the_item_on_air_for_every_board_showing_it(
    as_: AsFactory, store: Store, db_conn: Conn, clock: Clock
) -> None:
    seed.content_item(db_conn, ITEM)
    db_conn.commit()
    for board in (SAME_ITEM, DISTRICT):
        db_conn.execute(
            "INSERT INTO play_log (device_id, content_sha256, started_at, ended_at, source)"
            " VALUES (%s, %s, %s, %s, 'display')",
            (board, ITEM, clock.now - timedelta(days=1), clock.now - timedelta(days=1, hours=-1)),
        )
    db_conn.commit()
    on_air(store, BOARD, ITEM)
    clock.advance(5)
    upload(store, BOARD, source="screen", phash="0123456789abcdef")
    done = as_("operator").post(
        f"/api/v1/snapshots/{snapshot_id(db_conn, BOARD, 'screen')}/reference"
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["sha256"], body["phash"]) == (ITEM, "0123456789abcdef")
    assert body["boards"] == [BOARD, SAME_ITEM]  # never another organisation's board
    for board in (BOARD, SAME_ITEM):
        assert desired_proof(db_conn, board) == {"screen_references": {ITEM: ["0123456789abcdef"]}}
    assert desired_proof(db_conn, DISTRICT) is None
    assert db_conn.execute("SELECT sha256, phash FROM content_reference_frames").fetchall() == [
        (ITEM, "0123456789abcdef")
    ]


def test_a_screen_picture_without_an_approved_item_on_air_is_refused_by_name(
    as_: AsFactory, store: Store, db_conn: Conn, clock: Clock
) -> None:
    upload(store, BOARD, source="screen", phash="0123456789abcdef")
    nothing = as_("operator").post(
        f"/api/v1/snapshots/{snapshot_id(db_conn, BOARD, 'screen')}/reference"
    )
    assert nothing.status_code == 400
    assert "no item on air" in nothing.text
    on_air(store, BOARD, UNAPPROVED)
    clock.advance(5)
    upload(store, BOARD, source="screen", phash="0123456789abcdef")
    unapproved = as_("operator").post(
        f"/api/v1/snapshots/{snapshot_id(db_conn, BOARD, 'screen')}/reference"
    )
    assert unapproved.status_code == 400
    assert "not in the approved registry" in unapproved.text
    assert desired_proof(db_conn, BOARD) is None
