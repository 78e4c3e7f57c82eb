"""Screen and camera proof through the real ingest: picture checks on display
and camera readings, snapshots (a JPEG up to 44,000 bytes, larger than any
other message) stored once, receipted, and a refused one dead-lettered
without its picture."""

from __future__ import annotations

import base64
import json
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

import fleet_protocol as fp
from fleet_server.settings import Settings
from fleet_server.telemetry import storage_upkeep as upkeep
from tests.server.ingest.conftest import count, running
from tests.server.ingest.test_faults import _ingest_process
from tests.server.ingest.test_receipts import covered, receipts_of
from tests.support import messages as m
from tests.support import seed
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.subscriber import Subscriber
from tests.support.wait import wait_for

Conn = psycopg.Connection[tuple[Any, ...]]
BOARD = "lc-mlt-01"
T0 = m.T0


def jpeg(size: int, fill: int = 7) -> bytes:
    """Bytes that start and end like a JPEG (the protocol checks the size only)."""
    body = bytes((fill + i * 31) % 256 for i in range(size - 5))
    return b"\xff\xd8\xff" + body + b"\xff\xd9"


def snapshot(
    device: str = BOARD,
    boot: int = 1,
    seq: int = 1,
    *,
    picture: bytes,
    source: str = "screen",
    camera_id: str | None = None,
    reason: str = "command",
    request_id: str | None = "cmd-1",
) -> tuple[str, bytes]:
    at = T0 + timedelta(seconds=seq)
    message = fp.SnapshotMessage(
        schema_version=1,
        device_id=device,
        boot=boot,
        seq=seq,
        measured_at=at,
        sent_at=at,
        data=fp.SnapshotData(
            source=source,  # type: ignore[arg-type]
            camera_id=camera_id,
            reason=reason,  # type: ignore[arg-type]
            request_id=request_id,
            captured_at=at,
            width=480,
            height=270,
            phash="00ff00ff00ff00ff",
            jpeg=base64.b64encode(picture),
        ),
    )
    return fp.snapshot_topic(device), fp.encode(message)


def display_with_screen(seq: int) -> tuple[str, bytes]:
    at = T0 + timedelta(seconds=seq)
    message = fp.DisplayMessage(
        schema_version=1,
        device_id=BOARD,
        boot=1,
        seq=seq,
        measured_at=at,
        sent_at=at,
        data=fp.DisplayData(
            screen_on=True,
            player_running=True,
            content_id="item-1",
            screen=fp.ScreenCheck(
                captured_at=at,
                phash="0123456789abcdef",
                luma_mean=4.5,
                luma_stddev=1.25,
                black=True,
                frozen=False,
                same_count=3,
                reference_distance=30,
                source="x11",
                wrong_content=True,
            ),
        ),
    )
    return fp.telemetry_topic(BOARD, "display"), fp.encode(message)


def camera_with_pictures(seq: int) -> tuple[str, bytes]:
    at = T0 + timedelta(seconds=seq)
    cameras = [
        fp.CameraStatus(
            camera_id="gate",
            reachable=True,
            rtsp_answered=True,
            status="ok",
            picture=fp.CameraPicture(
                captured_at=at,
                phash="ffffffff00000000",
                luma_mean=120.0,
                luma_stddev=2.0,
                black=False,
                frozen=False,
                covered=True,
                moved=False,
                reference_distance=3,
            ),
            firmware="V5.5.0 build 170725",
            default_credentials=False,
        ),
        fp.CameraStatus(
            camera_id="road",
            reachable=False,
            rtsp_answered=False,
            status="timeout",
            picture_error="no frame within 10 s",
            default_credentials=None,
        ),
    ]
    message = fp.CameraMessage(
        schema_version=1,
        device_id=BOARD,
        boot=1,
        seq=seq,
        measured_at=at,
        sent_at=at,
        data=fp.CameraData(cameras=cameras),
    )
    return fp.telemetry_topic(BOARD, "camera"), fp.encode(message)


def test_picture_checks_are_stored_with_their_readings(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    stream = [display_with_screen(1), camera_with_pictures(2), m.camera(BOARD, seq=3)]
    with running(make_settings()) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
    screen = db.execute(
        "SELECT screen_phash, screen_luma_mean, screen_luma_stddev, screen_black, screen_frozen,"
        " screen_same_count, screen_reference_distance, screen_source, screen_wrong_content,"
        " screen_error, screen_captured_at FROM telemetry_display"
    ).fetchone()
    assert screen == (
        "0123456789abcdef",
        4.5,
        1.25,
        True,
        False,
        3,
        30,
        "x11",
        True,
        None,
        T0 + timedelta(seconds=1),
    )
    rows = db.execute(
        "SELECT seq, camera_id, picture_phash, picture_black, picture_covered, picture_moved,"
        " picture_reference_distance, picture_error, firmware, default_credentials"
        " FROM telemetry_camera ORDER BY seq, camera_id"
    ).fetchall()
    assert rows == [
        (2, "gate", "ffffffff00000000", False, True, False, 3, None, "V5.5.0 build 170725", False),
        (
            2,
            "road",
            None,
            None,
            None,
            None,
            None,
            "no frame within 10 s",
            None,
            None,
        ),
        # an agent without camera proof: nothing of it
        (3, "cam1", None, None, None, None, None, None, None, None),
        (3, "cam2", None, None, None, None, None, None, None, None),
    ]
    latest = db.execute(
        "SELECT data->'screen'->>'phash' FROM board_latest WHERE kind = 'display'"
    ).fetchone()
    assert latest == ("0123456789abcdef",)


def test_a_snapshot_is_stored_once_with_its_picture_and_receipted(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    screen = jpeg(44_000)  # the largest: over the 16 KiB of every other message
    gate = jpeg(9_000, fill=3)
    stream = [
        snapshot(seq=5, picture=screen),
        snapshot(seq=6, picture=gate, source="camera", camera_id="gate", reason="incident"),
        snapshot(seq=5, picture=screen),  # redelivered
    ]
    assert len(stream[0][1]) > 16 * 1024
    sub = Subscriber(mosquitto.port, "fleet/v1/+/receipt", client_id="snapshot-receipts")
    with running(make_settings()) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
        wait_for(lambda: covered(receipts_of(sub)) == {(BOARD, 1): {5, 6}}, what="the receipts")
    sub.close()
    rows = db.execute(
        "SELECT seq, source, camera_id, reason, request_id, width, height, phash, jpeg"
        " FROM snapshots ORDER BY seq"
    ).fetchall()
    assert [r[:8] for r in rows] == [
        (5, "screen", "", "command", "cmd-1", 480, 270, "00ff00ff00ff00ff"),
        (6, "camera", "gate", "incident", "cmd-1", 480, 270, "00ff00ff00ff00ff"),
    ]
    assert bytes(rows[0][8]) == screen
    assert bytes(rows[1][8]) == gate
    assert service.stats.duplicate_rows == 1
    assert count(db, "dead_letters") == 0
    # not a reading: board_latest does not carry pictures
    assert count(db, "board_latest") == 0


def test_a_refused_snapshot_is_a_dead_letter_without_its_picture(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    topic, good = snapshot(seq=8, picture=jpeg(30_000))
    doc = json.loads(good)
    doc["data"]["width"] = 4000  # larger than any screen the protocol knows
    refused = json.dumps(doc).encode()
    too_big = snapshot(seq=9, picture=jpeg(44_000))[1].replace(b'"jpeg":"', b'"jpeg":"' + b"A" * 40)
    oversize = b'{"boot": 1, "seq": 10, "pad": "' + b"x" * (65_200 - 33) + b'"}'
    stream = [
        (topic, refused),
        (topic, too_big),
        (topic, oversize),
        snapshot(seq=11, picture=jpeg(100)),
    ]
    keep = 1024
    sub = Subscriber(mosquitto.port, "fleet/v1/+/receipt", client_id="snapshot-refused")
    with running(make_settings(ingest_dead_letter_keep_bytes=keep)) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
        # refused, but kept as dead letters: the board need not send them again;
        # a payload beyond the snapshot limit is not even read for its seq
        wait_for(lambda: covered(receipts_of(sub)) == {(BOARD, 1): {8, 9, 11}}, what="the receipts")
    sub.close()
    letters = db.execute(
        "SELECT reason, length(payload), payload_size FROM dead_letters ORDER BY id"
    ).fetchall()
    assert sorted(r[0] for r in letters) == ["invalid_payload", "invalid_payload", "oversize"]
    for _, kept, size in letters:
        assert kept <= keep < size  # a bounded prefix, never the whole picture
    assert count(db, "snapshots") == 1


def test_ingest_killed_with_a_snapshot_uncommitted_loses_nothing(
    db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    log = tmp_path / "ingest.log"
    pictures = [jpeg(40_000, fill=i) for i in range(3)]
    with psycopg.connect(db_url) as blocker, psycopg.connect(db_url, autocommit=True) as db:
        blocker.execute("LOCK TABLE snapshots IN ACCESS EXCLUSIVE MODE")
        proc = _ingest_process(db_url, mosquitto.url, "ingest-snapshot-kill", log)
        pub = Publisher(mosquitto.port)
        try:
            wait_for(lambda: "ingest connected" in log.read_text(), what="ingest subscribed")
            pub.publish_all(
                [snapshot(seq=1, picture=pictures[0]), snapshot(seq=2, picture=pictures[1])]
            )
            wait_for(
                lambda: (
                    db.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = 'fleet-ingest' AND wait_event_type = 'Lock'"
                    ).fetchone()
                    == (1,)
                ),
                what="ingest blocked inside its transaction",
            )
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        blocker.rollback()
        assert count(db, "snapshots") == 0
        proc = _ingest_process(db_url, mosquitto.url, "ingest-snapshot-kill", log)
        try:
            wait_for(lambda: count(db, "snapshots") == 2, what="redelivered pictures stored")
            pub.publish_all([snapshot(seq=3, picture=pictures[2])])
            wait_for(lambda: count(db, "snapshots") == 3, what="a new picture")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0, log.read_text()
            pub.close()
        stored = db.execute("SELECT seq, jpeg FROM snapshots ORDER BY seq").fetchall()
        assert [(r[0], bytes(r[1])) for r in stored] == [
            (seq, picture) for seq, picture in zip((1, 2, 3), pictures, strict=True)
        ]


def test_snapshot_retention_keeps_each_sources_newest(db: Conn) -> None:
    seed.demo_fleet(db, 1)
    board = db.execute("SELECT id FROM boards").fetchone()[0]  # type: ignore[index]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [
        # (board, source, camera, days old)
        (board, "screen", "", 40),
        (board, "screen", "", 35),  # the screen's newest but one
        (board, "camera", "gate", 50),
        (board, "camera", "gate", 2),
        (board, "camera", "road", 31),  # road's only one: kept though old
        (board, "screen", "", 0),
        ("lc-gone-01", "screen", "", 31),  # a removed board keeps nothing old
        ("lc-gone-01", "screen", "", 1),
    ]
    for seq, (device, source, camera, days) in enumerate(rows):
        at = now - timedelta(days=days)
        db.execute(
            "INSERT INTO snapshots (device_id, boot, seq, measured_at, sent_at, received_at,"
            " replay, source, camera_id, reason, captured_at, width, height, phash, jpeg)"
            " VALUES (%s, 1, %s, %s, %s, %s, false, %s, %s, 'interval', %s, 64, 36,"
            " '0000000000000000', '\\xffd8ffd9')",
            (device, seq, at, at, at, source, camera, at),
        )
    deleted = upkeep.apply_derived_retention(db, now, snapshot_keep_days=30)
    assert deleted["snapshots"] == 4
    kept = [r[0] for r in db.execute("SELECT seq FROM snapshots ORDER BY seq")]
    assert kept == [3, 4, 5, 7]
    assert upkeep.snapshot_retention(db, now + timedelta(days=365), 30) == 1
    # years on: the newest of each source of a known board, nothing else
    assert [r[0] for r in db.execute("SELECT seq FROM snapshots ORDER BY seq")] == [3, 4, 5]
