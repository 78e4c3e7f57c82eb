"""The inspection archive (Điều 9.1, 10.1.a): what a board, a site, an
organisation or the whole province broadcast over a period, the
advertising shown, and compliance per day — as CSV and XLSX files with a
manifest of their SHA-256 so an inspector can check nothing was altered.

The broadcast files themselves are in it by reference — one row per file
shown in the period, with its SHA-256, size, name, kind and first and last
play — and, when asked (``copy_files``), by copy under ``tep_files/<sha256>``
(each copy's hash checked while it is written, and listed in the manifest).

Times are local (Asia/Ho_Chi_Minh), as inspectors read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from fleet_server.content import storage_files
from fleet_server.content.files import FileStore, sha256_of_chunks
from fleet_server.errors import Invalid, NotFound
from fleet_server.localtime import LOCAL_TZ
from fleet_server.private_files import open_private, private_directory
from fleet_server.reports import archive_pictures, export
from fleet_server.reports.figures import Period
from fleet_server.telemetry.storage_upkeep import ROLLUP_DAYS
from fleet_server.users.audit_chain import GENESIS, head_as_of

Conn = psycopg.Connection[Any]

PLAY_HEADER = (
    "Bảng / Board",
    "Điểm đặt / Site",
    "Bắt đầu / Start",
    "Kết thúc / End",
    "Số phút / Minutes",
    "Mã nội dung / Content id",
    "Tiêu đề / Title",
    "Loại / Kind",
    "Ngôn ngữ / Language",
    "SHA-256",
    "Đã duyệt / Approved",
    "Nguồn / Source",
)
COMPLIANCE_HEADER = (
    "Bảng / Board",
    "Điểm đặt / Site",
    "Ngày / Day",
    "Phút tuyên truyền buổi sáng / Counted morning minutes",
    "Phút tuyên truyền buổi chiều / Counted afternoon minutes",
    "Tổng phút phát / Minutes on air",
    "Phút quảng cáo / Advertising minutes",
    "Phút khẩn cấp / Emergency minutes",
    "Sáng không rõ / Morning unknown",
    "Chiều không rõ / Afternoon unknown",
    "Phút tuyên truyền trong ngày / Counted minutes of the day",
    "Phút nội dung chưa duyệt / Unapproved minutes",
    "Phút không xác định nội dung / Unidentified minutes",
    "Tỷ lệ quảng cáo (%) / Advertising share (%)",
    "Mức trần quảng cáo (%) / Advertising ceiling (%)",
    "Kết quả / Result",
)

FILES_HEADER = (
    "SHA-256",
    "Dung lượng (byte) / Size (bytes)",
    "Tên tệp / File name",
    "Kiểu tệp / Media type",
    "Loại / Kind",
    "Mã nội dung / Content id",
    "Tiêu đề / Title",
    "Phát lần đầu / First played",
    "Phát lần cuối / Last played",
    "Số lần phát / Plays",
    "Có trong lưu trữ / Archived",
    "Bản sao / Copy",
)
#: Where copied broadcast files go inside the archive directory.
FILES_DIR = "tep_files"


class ArchiveError(Invalid):
    """A request the archive cannot answer (names the problem); to the API a
    bad request about the period asked for (field ``from``)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="from")


@dataclass(frozen=True, slots=True)
class Scope:
    """Exactly one of these, or none for the whole province."""

    board: str | None = None
    site: str | None = None
    organisation: str | None = None

    @property
    def label(self) -> str:
        return self.board or self.site or self.organisation or "toan-tinh"

    def site_ids(self, conn: Conn) -> list[int]:
        if sum(x is not None for x in (self.board, self.site, self.organisation)) > 1:
            raise ArchiveError("give one of board, site or organisation")
        if self.board:
            sql, arg = "SELECT site_id FROM boards WHERE id = %s", self.board
        elif self.site:
            sql, arg = "SELECT id FROM sites WHERE code = %s", self.site
        elif self.organisation:
            sql = "SELECT s.id FROM sites s JOIN organisations o ON o.id = s.organisation_id"
            sql += " WHERE o.code = %s"
            arg = self.organisation
        else:
            return [r[0] for r in conn.execute("SELECT id FROM sites").fetchall()]
        rows = conn.execute(sql, (arg,)).fetchall()
        if not rows and not self.organisation:
            raise ArchiveError(f"no such {'board' if self.board else 'site'}: {arg!r}")
        if not rows:
            known = conn.execute("SELECT 1 FROM organisations WHERE code = %s", (arg,)).fetchone()
            if known is None:
                raise ArchiveError(f"no such organisation: {arg!r}")
        return [r[0] for r in rows]


@dataclass(frozen=True, slots=True)
class Selection:
    """A scope resolved once: the sites it covers, and the board if one."""

    site_ids: list[int]
    board: str | None

    @classmethod
    def of(cls, conn: Conn, scope: Scope) -> Selection:
        return cls(scope.site_ids(conn), scope.board)


def check_period(period: Period, now: datetime) -> None:
    if period.end <= period.start:
        raise ArchiveError("the period ends before it starts")
    if period.start < now - timedelta(days=ROLLUP_DAYS):
        raise ArchiveError(
            f"the period starts before the archive's retention ({ROLLUP_DAYS} days): "
            "older broadcasts are no longer kept"
        )


def _local(value: datetime) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


#: Plays one archive holds at most: an XLSX worksheet holds 1,048,575 rows,
#: and the archive is built in memory.
MAX_PLAYS = 500_000


def play_count(conn: Conn, scope: Selection, period: Period) -> int:
    row = conn.execute(
        "SELECT count(*) FROM play_log p JOIN boards b ON b.id = p.device_id"
        " WHERE p.started_at >= %(start)s AND p.started_at < %(end)s"
        "   AND b.site_id = ANY(%(sites)s) AND (%(board)s::text IS NULL OR b.id = %(board)s)",
        {
            "start": period.start,
            "end": period.end,
            "sites": scope.site_ids,
            "board": scope.board,
        },
    ).fetchone()
    return int(row[0]) if row else 0


def plays(conn: Conn, scope: Selection, period: Period) -> list[list[Any]]:
    rows = conn.execute(
        "SELECT p.device_id, s.code, p.started_at, p.ended_at,"
        "       round((extract(epoch FROM p.ended_at - p.started_at) / 60)::numeric, 2),"
        "       p.content_id, ci.title, COALESCE(p.content_kind, ci.kind), "
        "       COALESCE(p.content_language, ci.language), p.content_sha256,"
        "       ci.id IS NOT NULL AND p.started_at >= ci.valid_from"
        "         AND (ci.valid_to IS NULL OR p.started_at < ci.valid_to), p.source"
        "  FROM play_log p JOIN boards b ON b.id = p.device_id JOIN sites s ON s.id = b.site_id"
        "  LEFT JOIN content_items ci ON ci.sha256 = p.content_sha256"
        " WHERE p.started_at >= %(start)s AND p.started_at < %(end)s"
        "   AND b.site_id = ANY(%(sites)s) AND (%(board)s::text IS NULL OR b.id = %(board)s)"
        " ORDER BY p.device_id, p.started_at",
        {
            "start": period.start,
            "end": period.end,
            "sites": scope.site_ids,
            "board": scope.board,
        },
    ).fetchall()
    out = []
    for row in rows:
        board, site, start, end, minutes, content_id, title, kind_, language, sha, ok, src = row
        out.append(
            [
                board,
                site,
                _local(start),
                _local(end),
                float(minutes),
                content_id or "",
                title or "",
                kind_ or "",
                language or "",
                sha,
                "có / yes" if ok else "không / no",
                src,
            ]
        )
    return out


def compliance(conn: Conn, scope: Selection, period: Period) -> list[list[Any]]:
    rows = conn.execute(
        "SELECT c.board_id, s.code, c.day, c.morning_minutes, c.afternoon_minutes,"
        "       c.total_minutes, c.advertising_minutes, c.emergency_minutes,"
        "       c.morning_unknown, c.afternoon_unknown, c.counted_minutes,"
        "       c.unapproved_minutes, c.unidentified_minutes, c.advertising_share_percent,"
        "       c.advertising_ceiling_percent, c.status"
        "  FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        "  JOIN sites s ON s.id = b.site_id"
        " WHERE c.day BETWEEN %(first)s AND %(last)s AND b.site_id = ANY(%(sites)s)"
        "   AND (%(board)s::text IS NULL OR b.id = %(board)s)"
        " ORDER BY c.board_id, c.day",
        {
            "first": period.first_day,
            "last": period.last_day,
            "sites": scope.site_ids,
            "board": scope.board,
        },
    ).fetchall()
    return [
        [
            board,
            site,
            day.isoformat(),
            *(round(float(v), 1) for v in minutes),
            # empty when nothing was on air, or judged before Điều 8.3 was
            *("" if v is None else round(float(v), 2) for v in (share, ceiling)),
            status,
        ]
        for board, site, day, *minutes, share, ceiling, status in rows
    ]


def broadcast_files(
    conn: Conn,
    scope: Selection,
    period: Period,
    out_dir: Path,
    store: FileStore | None,
) -> tuple[list[list[Any]], list[Path]]:
    """One row per file shown in the period (by reference); with a ``store``,
    a copy of each archived file too, checked against its hash."""
    rows, copies = [], []
    for f in storage_files.played_files(
        conn, scope.site_ids, scope.board, period.start, period.end
    ):
        copy = ""
        if store is not None and f["size_bytes"] is not None:
            copies.append(_copy(store, f["sha256"], out_dir))
            copy = f"{FILES_DIR}/{f['sha256']}"
        rows.append(
            [
                f["sha256"],
                f["size_bytes"] if f["size_bytes"] is not None else "",
                f["filename"] or "",
                f["media_type"] or "",
                f["kind"] or "",
                f["content_id"] or "",
                f["title"] or "",
                _local(f["first_played"]),
                _local(f["last_played"]),
                f["plays"],
                "có / yes" if f["size_bytes"] is not None else "không / no",
                copy,
            ]
        )
    return rows, copies


def _copy(store: FileStore, sha256: str, out_dir: Path) -> Path:
    """Copy a stored file into the archive, refusing one whose bytes no
    longer match its hash."""
    target = private_directory(out_dir / FILES_DIR) / sha256
    try:
        chunks = store.read(sha256)
    except NotFound:
        raise ArchiveError(
            f"broadcast file {sha256} is recorded but missing from the store"
        ) from None

    def written() -> Any:
        with open_private(target, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                yield chunk

    actual, _size = sha256_of_chunks(written())
    if actual != sha256:
        target.unlink()
        raise ArchiveError(f"broadcast file {sha256} in the store does not match its hash")
    return target


def write(
    conn: Conn,
    scope: Scope,
    period: Period,
    out_dir: Path,
    *,
    generated_by: str,
    now: datetime,
    copy_files: FileStore | None = None,
    pictures: bool = False,
) -> list[Path]:
    """Write the archive into ``out_dir``; the manifest is the last path.
    ``copy_files``: the file store to copy the broadcast files from (else
    they are listed by reference only); ``pictures``: the boards' own
    pictures of their screens too (screen proof)."""
    check_period(period, now)
    selection = Selection.of(conn, scope)
    count = play_count(conn, selection, period)
    if count > MAX_PLAYS:
        raise ArchiveError(
            f"the period holds {count:,} plays, more than the {MAX_PLAYS:,} one archive"
            " holds: ask for a shorter period, or one site or board"
        )
    every_play = plays(conn, selection, period)
    tables = {
        "phat-song_plays": (PLAY_HEADER, every_play),
        "quang-cao_advertising": (PLAY_HEADER, [r for r in every_play if r[7] == "advertising"]),
        "thoi-luong_compliance": (COMPLIANCE_HEADER, compliance(conn, selection, period)),
    }
    private_directory(out_dir)
    file_rows, copies = broadcast_files(conn, selection, period, out_dir, copy_files)
    tables["tep-phat_files"] = (FILES_HEADER, file_rows)
    picture_files: list[Path] = []
    if pictures:
        picture_rows, picture_files = archive_pictures.screen_pictures(
            conn, selection.site_ids, selection.board, period, out_dir
        )
        tables["anh-man-hinh_screens"] = (archive_pictures.HEADER, picture_rows)
    files = [
        export.write_csv(out_dir / f"{name}.csv", header, rows)
        for name, (header, rows) in tables.items()
    ]
    files.append(
        export.write_xlsx(
            out_dir / "luu-tru_archive.xlsx",
            [export.Sheet(name[:31], header, rows) for name, (header, rows) in tables.items()],
        )
    )
    files += copies + picture_files
    manifest = export.write_manifest(
        out_dir,
        files,
        (period.start, period.end),
        generated_by,
        generated_at=now,
        extra={
            "scope": scope.label,
            "kind": "inspection archive (Điều 9.1, 10.1.a)",
            "audit_chain": audit_chain_entry(conn, period.end),
        },
    )
    return [*files, manifest]


def audit_chain_entry(conn: Conn, end: datetime) -> dict[str, Any]:
    """The audit log's chain head as of ``end``: the last row recorded before
    it, whose hash certifies every row before it (docs/api.md "Audit log");
    ``fleet-server audit verify`` on the database checks the chain up to it."""
    head = head_as_of(conn, end)
    return {
        "as_of": end.isoformat(),
        "chain_seq": None if head is None else head.chain_seq,
        "row_id": None if head is None else head.row_id,
        "row_hash": GENESIS if head is None else head.row_hash,
    }


def verify(directory: Path) -> list[str]:
    """What does not match the manifest in ``directory`` (empty: all intact)."""
    manifest = json.loads((directory / export.MANIFEST).read_text("utf-8"))
    problems = []
    for entry in manifest["files"]:
        path = directory / entry["name"]
        if not path.is_file():
            problems.append(f"{entry['name']}: missing")
        elif export.sha256_of(path) != entry["sha256"]:
            problems.append(f"{entry['name']}: SHA-256 differs from the manifest")
    return problems
