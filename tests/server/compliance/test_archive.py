"""The inspection archive: what a board showed, advertising and compliance per
day, as CSV and XLSX with a manifest an inspector can check."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from fleet_server.cli import main
from fleet_server.compliance.job import ComplianceJob
from fleet_server.reports import archive, archive_pictures
from fleet_server.reports.figures import Period
from tests.server.compliance.conftest import DAY, SHA_A, SHA_B, SHA_X, Conn, Days, at

NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.fixture
def broadcast(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), sha=SHA_A)
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "14:30"), sha=SHA_B, kind="advertising")
    # SHA_X is not in the registry: a play of a file not approved when shown.
    days.samples("lc-mlt-01", at(DAY, "14:30"), at(DAY, "17:00"), sha=SHA_X, started_at=None)
    conn.execute(
        "UPDATE content_items SET title = '=HYPERLINK(\"x\")', valid_from = '2026-01-01',"
        " approved_by = 'so' WHERE sha256 = %s",
        (SHA_B,),
    )
    conn.commit()
    ComplianceJob().run(conn, at(DAY + timedelta(days=1), "08:00"))
    conn.commit()


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_archive_files_and_manifest(conn: Conn, broadcast: None, tmp_path: Path) -> None:
    files = archive.write(
        conn,
        archive.Scope(site="ma-lu-thang"),
        Period.days(DAY, DAY),
        tmp_path,
        generated_by="thanh.tra",
        now=NOW,
    )
    assert [f.name for f in files] == [
        "phat-song_plays.csv",
        "quang-cao_advertising.csv",
        "thoi-luong_compliance.csv",
        # the broadcast files shown, by hash (Điều 9.1; tests/server/content)
        "tep-phat_files.csv",
        "luu-tru_archive.xlsx",
        "manifest.json",
    ]
    plays = read_csv(tmp_path / "phat-song_plays.csv")
    assert plays[0][:3] == ["Bảng / Board", "Điểm đặt / Site", "Bắt đầu / Start"]
    assert [(r[2], r[3], r[7], r[10]) for r in plays[1:]] == [
        ("2026-11-20 07:00:00", "2026-11-20 10:00:00", "propaganda", "có / yes"),
        ("2026-11-20 14:00:00", "2026-11-20 14:30:00", "advertising", "có / yes"),
        ("2026-11-20 14:30:00", "2026-11-20 17:00:00", "propaganda", "không / no"),
    ]
    ads = read_csv(tmp_path / "quang-cao_advertising.csv")
    assert len(ads) == 2
    assert ads[1][6] == '\'=HYPERLINK("x")'  # a title is never a formula
    compliance = read_csv(tmp_path / "thoi-luong_compliance.csv")
    assert compliance[1][2:4] == ["2026-11-20", "180.0"]
    # Điều 8.1: the afternoon's advertising and unapproved file do not count.
    assert compliance[1][-1] == "non_compliant"
    assert [r[0] for r in compliance[1:]] == ["lc-mlt-01", "lc-mlt-02"]
    # Điều 8.3: 30 minutes of advertising in 360 on air, against the fleet's
    # 10 %; a board with nothing on air has no share (an empty cell)
    assert compliance[0][-3:-1] == [
        "Tỷ lệ quảng cáo (%) / Advertising share (%)",
        "Mức trần quảng cáo (%) / Advertising ceiling (%)",
    ]
    assert compliance[1][-3:-1] == ["8.33", "10.0"]
    assert compliance[2][-3:-1] == ["", "10.0"]
    book = load_workbook(tmp_path / "luu-tru_archive.xlsx")
    assert book.sheetnames == [
        "phat-song_plays",
        "quang-cao_advertising",
        "thoi-luong_compliance",
        "tep-phat_files",
    ]
    assert book["phat-song_plays"].max_row == 4
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["generated_by"] == "thanh.tra"
    assert manifest["scope"] == "ma-lu-thang"
    assert manifest["period"]["from"] == "2026-11-20T00:00:00+07:00"
    assert archive.verify(tmp_path) == []


def test_verify_finds_an_altered_or_missing_file(
    conn: Conn, broadcast: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive.write(conn, archive.Scope(), Period.days(DAY, DAY), tmp_path, generated_by="x", now=NOW)
    path = tmp_path / "thoi-luong_compliance.csv"
    path.write_text(path.read_text(encoding="utf-8-sig").replace("compliant", "non_compliant"))
    (tmp_path / "quang-cao_advertising.csv").unlink()
    assert archive.verify(tmp_path) == [
        "quang-cao_advertising.csv: missing",
        "thoi-luong_compliance.csv: SHA-256 differs from the manifest",
    ]
    assert main(["report", "verify", str(tmp_path)]) == 1
    assert "SHA-256 differs" in capsys.readouterr().out


def test_one_board_only(conn: Conn, broadcast: None, tmp_path: Path) -> None:
    archive.write(
        conn,
        archive.Scope(board="lc-mlt-02"),
        Period.days(DAY, DAY),
        tmp_path,
        generated_by="x",
        now=NOW,
    )
    assert len(read_csv(tmp_path / "phat-song_plays.csv")) == 1  # header only
    assert [r[0] for r in read_csv(tmp_path / "thoi-luong_compliance.csv")[1:]] == ["lc-mlt-02"]


@pytest.mark.parametrize(
    ("scope", "first", "last", "message"),
    [
        (archive.Scope(board="nope"), DAY, DAY, "no such board: 'nope'"),
        (archive.Scope(site="nope"), DAY, DAY, "no such site: 'nope'"),
        (archive.Scope(organisation="nope"), DAY, DAY, "no such organisation: 'nope'"),
        (archive.Scope(), DAY, DAY - timedelta(days=2), "the period ends before it starts"),
        (archive.Scope(), DAY - timedelta(days=2000), DAY, "retention"),
    ],
)
def test_rejections_name_the_problem(
    conn: Conn, tmp_path: Path, scope: archive.Scope, first: object, last: object, message: str
) -> None:
    with pytest.raises(archive.ArchiveError, match=message):
        archive.write(conn, scope, Period.days(first, last), tmp_path, generated_by="x", now=NOW)  # type: ignore[arg-type]


def test_the_command(
    db_url: str,
    broadcast: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    out = tmp_path / "a"
    code = main(
        [
            "report",
            "archive",
            "--from",
            "2026-11-20",
            "--to",
            "2026-11-20",
            "--org",
            "bqlkkt",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert str(out / "manifest.json") in capsys.readouterr().out
    assert main(["report", "verify", str(out)]) == 0
    assert (
        main(
            [
                "report",
                "archive",
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-20",
                "--site",
                "nope",
                "--out",
                str(out),
            ]
        )
        == 1
    )
    assert "no such site" in capsys.readouterr().err


def test_an_archive_too_large_is_refused_by_name(
    conn: Conn, broadcast: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "MAX_PLAYS", 2)
    with pytest.raises(archive.ArchiveError, match="the period holds 3 plays, more than the 2"):
        archive.write(
            conn, archive.Scope(), Period.days(DAY, DAY), tmp_path, generated_by="x", now=NOW
        )


def test_archive_files_are_0600_whatever_the_umask(
    conn: Conn, broadcast: None, tmp_path: Path
) -> None:
    """The archive names operators and what each board showed: only its owner reads it."""
    old_umask = os.umask(0o022)
    try:
        files = archive.write(
            conn,
            archive.Scope(site="ma-lu-thang"),
            Period.days(DAY, DAY),
            tmp_path / "archive",
            generated_by="thanh.tra",
            now=NOW,
        )
    finally:
        os.umask(old_umask)
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}
    assert (tmp_path / "archive").stat().st_mode & 0o777 == 0o700


def _picture(conn: Conn, board: str, seq: int, taken: datetime, *, camera: str = "") -> bytes:
    jpeg = b"\xff\xd8\xff" + bytes([seq]) * 40 + b"\xff\xd9"
    conn.execute(
        "INSERT INTO snapshots (device_id, boot, seq, measured_at, sent_at, received_at, replay,"
        " source, camera_id, reason, captured_at, width, height, phash, jpeg)"
        " VALUES (%s, 1, %s, %s, %s, %s, false, %s, %s, 'incident', %s, 480, 270,"
        " '0123456789abcdef', %s)",
        (board, seq, taken, taken, taken, "camera" if camera else "screen", camera, taken, jpeg),
    )
    return jpeg


def test_the_boards_own_pictures_of_their_screens_when_asked(
    conn: Conn, broadcast: None, tmp_path: Path
) -> None:
    """Screen proof in the archive: each picture of a screen taken in the
    period, as a JPEG listed with its hash; never a camera's picture, never
    another scope's or another day's."""
    shown = _picture(conn, "lc-mlt-01", 1, at(DAY, "08:15"))
    _picture(conn, "lc-mlt-01", 2, at(DAY, "08:16"), camera="cam1")  # the Border Guard's
    _picture(conn, "lc-mlt-01", 3, at(DAY + timedelta(days=1), "08:15"))  # another day
    _picture(conn, "lc-mlt-02", 4, at(DAY, "09:00"))  # not in the scope asked for
    conn.commit()
    without = archive.write(
        conn,
        archive.Scope(board="lc-mlt-01"),
        Period.days(DAY, DAY),
        tmp_path / "without",
        generated_by="x",
        now=NOW,
    )
    assert not any(archive_pictures.DIRECTORY in str(f) for f in without)
    files = archive.write(
        conn,
        archive.Scope(board="lc-mlt-01"),
        Period.days(DAY, DAY),
        tmp_path / "with",
        generated_by="x",
        now=NOW,
        pictures=True,
    )
    rows = read_csv(tmp_path / "with" / "anh-man-hinh_screens.csv")
    assert [r[:4] for r in rows[1:]] == [
        ["lc-mlt-01", rows[1][1], "2026-11-20 08:15:00", "khi có sự cố / when an incident opened"]
    ]
    picture = tmp_path / "with" / rows[1][5]
    assert picture.read_bytes() == shown
    assert picture in files
    assert archive.verify(tmp_path / "with") == []  # listed in the manifest, hash and all
