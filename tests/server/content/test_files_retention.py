"""How long broadcast files are kept, and the inspection archive's list of
them. Điều 9.1: "thực hiện việc sao lưu dữ liệu (thông tin tuyên truyền,
thông tin quảng cáo, thời gian đăng phát) phục vụ công tác thanh tra, kiểm
tra" — a file stays while a play of it, a registry item naming it or its
upload is within the retention (at least the play log's, itself above the
six months of Điều 10.1.a); only files nothing needs any more leave."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fleet_server.content.files import LocalStore
from fleet_server.content.service_files import apply_file_retention, store_upload
from fleet_server.errors import Invalid
from fleet_server.reports import archive
from fleet_server.reports.figures import Period
from fleet_server.telemetry.storage_upkeep import ROLLUP_DAYS
from tests.support import seed

Conn = psycopg.Connection[Any]
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
KEEP = ROLLUP_DAYS
LONG_AGO = NOW - timedelta(days=KEEP + 30)


def upload(conn: Conn, store: LocalStore, data: bytes, at: datetime, name: str = "a.mp4") -> str:
    stored = store_upload(
        conn,
        store,
        io.BytesIO(data),
        filename=name,
        media_type="video/mp4",
        actor="so-tttt",
        now=at,
    )
    return stored.sha256


def play(conn: Conn, board: str, sha: str, at: datetime, minutes: int = 5) -> None:
    conn.execute(
        "INSERT INTO play_log (device_id, content_sha256, started_at, ended_at, source)"
        " VALUES (%s, %s, %s, %s, 'player')",
        (board, sha, at, at + timedelta(minutes=minutes)),
    )


def test_only_files_nothing_needs_are_deleted(db: Conn, tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    orphan = upload(db, store, b"orphan", LONG_AGO)
    recent = upload(db, store, b"uploaded last month", NOW - timedelta(days=30))
    played = upload(db, store, b"played within retention", LONG_AGO)
    play(db, "lc-000", played, NOW - timedelta(days=KEEP - 1))
    played_long_ago = upload(db, store, b"played before the retention", LONG_AGO)
    play(db, "lc-000", played_long_ago, LONG_AGO)
    registered = upload(db, store, b"a current registry item", LONG_AGO)
    seed.content_item(db, registered, valid_from=LONG_AGO)
    retired = upload(db, store, b"retired long ago", LONG_AGO)
    seed.content_item(db, retired, valid_from=LONG_AGO, valid_to=LONG_AGO + timedelta(days=1))

    dry = apply_file_retention(db, store, NOW, KEEP, dry_run=True)
    assert {f.sha256 for f in dry.deleted} == {orphan, played_long_ago, retired}
    assert all(store.size(f.sha256) for f in dry.deleted)  # a dry run deletes nothing
    assert db.execute("SELECT count(*) FROM content_files").fetchone() == (6,)

    done = apply_file_retention(db, store, NOW, KEEP)
    assert {f.sha256 for f in done.deleted} == {orphan, played_long_ago, retired}
    assert done.bytes_freed == len(b"orphan") + len(b"played before the retention") + len(
        b"retired long ago"
    )
    left = {r[0] for r in db.execute("SELECT sha256 FROM content_files").fetchall()}
    assert left == {recent, played, registered}
    for sha in (orphan, played_long_ago, retired):
        assert store.size(sha) is None
    for sha in left:
        assert store.size(sha) is not None
    audit = db.execute(
        "SELECT actor, count(*) FROM audit_log WHERE action = 'content_file.delete' GROUP BY actor"
    ).fetchall()
    assert audit == [("system", 3)]
    assert apply_file_retention(db, store, NOW, KEEP).deleted == []


def test_a_recent_display_sample_keeps_a_file(db: Conn, tmp_path: Path) -> None:
    """A board showing the file now, before the proof-of-play job has put it
    in play_log, keeps it too."""
    store = LocalStore(tmp_path)
    sha = upload(db, store, b"on air right now", LONG_AGO)
    db.execute(
        "INSERT INTO telemetry_display (device_id, boot, seq, measured_at, sent_at, received_at,"
        " stored_at, replay, screen_on, player_running, content_sha256)"
        " VALUES ('lc-000', 1, 1, %s, %s, %s, %s, false, true, true, %s)",
        (NOW, NOW, NOW, NOW, sha),
    )
    assert apply_file_retention(db, store, NOW, KEEP).deleted == []


def test_the_retention_is_never_shorter_than_the_play_log(db: Conn, tmp_path: Path) -> None:
    for days in (0, 190, KEEP - 1):
        with pytest.raises(Invalid, match=f"at least as long as the play log \\({KEEP} days\\)"):
            apply_file_retention(db, LocalStore(tmp_path), NOW, days)


def test_the_setting_is_validated_too() -> None:
    from fleet_server.settings import Settings  # noqa: PLC0415

    with pytest.raises(ValueError, match="FLEET_CONTENT_FILES_KEEP_DAYS"):
        Settings(content_files_keep_days=183)
    assert Settings(content_files_keep_days=KEEP + 365).content_files_keep_days == KEEP + 365


def test_the_inspection_archive_lists_and_copies_the_files(db: Conn, tmp_path: Path) -> None:
    seed.demo_fleet(db, 2)
    board = db.execute("SELECT id FROM boards ORDER BY id LIMIT 1").fetchone()
    assert board is not None
    store = LocalStore(tmp_path / "store")
    clip = b"Phong chong chay rung" * 1000
    sha = upload(db, store, clip, NOW - timedelta(days=10), name="chay-rung.mp4")
    seed.content_item(db, sha, "propaganda", title="Phòng chống cháy rừng")
    unarchived = hashlib.sha256(b"never uploaded").hexdigest()
    day = date(2026, 11, 25)
    morning = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 08:00 Vietnam time
    play(db, board[0], sha, morning)
    play(db, board[0], sha, morning + timedelta(hours=3))
    play(db, board[0], unarchived, morning + timedelta(hours=1))

    out = tmp_path / "by-reference"
    archive.write(db, archive.Scope(), Period.days(day, day), out, generated_by="x", now=NOW)
    with (out / "tep-phat_files.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "SHA-256"
    by_sha = {r[0]: r for r in rows[1:]}
    assert by_sha[sha][1:5] == [str(len(clip)), "chay-rung.mp4", "video/mp4", "propaganda"]
    assert by_sha[sha][6:12] == [
        "Phòng chống cháy rừng",
        "2026-11-25 08:00:00",
        "2026-11-25 11:05:00",
        "2",
        "có / yes",
        "",
    ]
    assert by_sha[unarchived][10] == "không / no"
    assert not (out / archive.FILES_DIR).exists()

    copied = tmp_path / "with-copies"
    written = archive.write(
        db,
        archive.Scope(),
        Period.days(day, day),
        copied,
        generated_by="x",
        now=NOW,
        copy_files=store,
    )
    assert (copied / archive.FILES_DIR / sha).read_bytes() == clip
    manifest = json.loads((copied / "manifest.json").read_text())
    entry = next(e for e in manifest["files"] if e["name"] == f"{archive.FILES_DIR}/{sha}")
    assert entry["sha256"] == sha  # an inspector checks the file against its own name
    assert copied / archive.FILES_DIR / sha in written
    assert archive.verify(copied) == []
    (copied / archive.FILES_DIR / sha).write_bytes(b"altered")
    assert archive.verify(copied) == [
        f"{archive.FILES_DIR}/{sha}: SHA-256 differs from the manifest"
    ]


def test_a_corrupted_stored_file_is_not_copied(db: Conn, tmp_path: Path) -> None:
    seed.demo_fleet(db, 1)
    board = db.execute("SELECT id FROM boards LIMIT 1").fetchone()
    assert board is not None
    store = LocalStore(tmp_path / "store")
    sha = upload(db, store, b"original bytes", NOW - timedelta(days=10))
    play(db, board[0], sha, datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    path = store.path_of(sha)
    path.chmod(0o600)
    path.write_bytes(b"bit rot")
    day = date(2026, 11, 25)
    with pytest.raises(archive.ArchiveError, match="does not match its hash"):
        archive.write(
            db,
            archive.Scope(),
            Period.days(day, day),
            tmp_path / "out",
            generated_by="x",
            now=NOW,
            copy_files=store,
        )


def test_the_engine_runs_the_retention_with_the_play_logs(
    db: Conn, db_url: str, tmp_path: Path
) -> None:
    """Where the other retention runs: the engine's daily storage upkeep."""
    from fleet_server.engine.service import Engine, EngineSettings  # noqa: PLC0415

    store = LocalStore(tmp_path)
    orphan = upload(db, store, b"orphan", LONG_AGO)
    kept = upload(db, store, b"kept", NOW - timedelta(days=1))
    engine = Engine(db_url, EngineSettings(content_files=store, content_files_keep_days=KEEP))
    engine._storage_upkeep(db, NOW)  # the daily step, without the loop
    assert store.size(orphan) is None
    assert store.size(kept) is not None


def test_the_retention_sweeps_killed_uploads(db: Conn, tmp_path: Path) -> None:
    """A temporary file a killed upload left, older than a day, goes with the
    pass; a younger one may be an upload in progress and stays."""
    store = LocalStore(tmp_path)
    old = store.spool(io.BytesIO(b"killed"))
    young = store.spool(io.BytesIO(b"in progress"))
    stamp = old.path.stat().st_mtime - 2 * 86_400
    os.utime(old.path, (stamp, stamp))
    apply_file_retention(db, store, NOW, KEEP, dry_run=True)
    assert old.path.exists()
    apply_file_retention(db, store, NOW, KEEP)
    assert not old.path.exists()
    assert young.path.exists()


def test_an_open_submission_keeps_its_file(db: Conn, tmp_path: Path) -> None:
    """A file submitted for appraisal (Điều 10.1) and not decided on stays,
    however long ago it came; once approved and retired long ago, it goes."""
    store = LocalStore(tmp_path)
    waiting = upload(db, store, b"under appraisal for years", LONG_AGO)
    decided = upload(db, store, b"retired long ago", LONG_AGO)
    for sha, state in ((waiting, "under_appraisal"), (decided, "retired")):
        db.execute(
            "INSERT INTO content_submissions (title, kind, language, sha256, state,"
            " submitted_by, submitted_at, updated_at)"
            " VALUES ('x', 'propaganda', 'vi', %s, %s, 'don-vi', %s, %s)",
            (sha, state, LONG_AGO, LONG_AGO),
        )
    assert [f.sha256 for f in apply_file_retention(db, store, NOW, KEEP).deleted] == [decided]
