"""The boards' own pictures of their screens in the inspection archive
(``report archive --with-pictures``): screen proof of what was really on
air, one JPEG each, listed with its hash. Camera pictures never go in: they
are the Border Guard's, not broadcast."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import psycopg

from fleet_server.errors import Invalid
from fleet_server.localtime import LOCAL_TZ
from fleet_server.private_files import open_private, private_directory
from fleet_server.reports.figures import Period

Conn = psycopg.Connection[Any]

#: Where the boards' pictures of their screens go (``pictures``).
DIRECTORY = "anh_man_hinh"
#: Most screen pictures one archive holds (at the defaults a board keeps
#: four a day plus those of incidents and requests: a month of one site).
MAX = 5_000
HEADER = (
    "Bảng / Board",
    "Điểm đặt / Site",
    "Chụp lúc / Taken at",
    "Lý do / Reason",
    "Dấu vân hình / Perceptual hash",
    "Tệp / File",
    "SHA-256",
)
_REASONS = {
    "interval": "định kỳ / on schedule",
    "command": "theo yêu cầu / on request",
    "incident": "khi có sự cố / when an incident opened",
}


def _local(value: Any) -> str:
    return str(value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"))


def screen_pictures(
    conn: Conn, site_ids: list[int], board: str | None, period: Period, out_dir: Path
) -> tuple[list[list[Any]], list[Path]]:
    """The boards' own pictures of their screens taken in the period (screen
    proof: what was really on air), one row and one JPEG each. Camera
    pictures stay out: they are the Border Guard's, not broadcast."""
    params = {
        "sites": site_ids,
        "start": period.start,
        "end": period.end,
        "board": board,
    }
    row = conn.execute(
        "SELECT count(*) FROM snapshots s JOIN boards b ON b.id = s.device_id"
        " WHERE b.site_id = ANY(%(sites)s) AND s.source = 'screen'"
        " AND s.captured_at >= %(start)s AND s.captured_at < %(end)s"
        " AND (%(board)s::text IS NULL OR s.device_id = %(board)s)",
        params,
    ).fetchone()
    if row is not None and row[0] > MAX:
        raise Invalid(
            f"the period holds {row[0]:,} screen pictures, more than the {MAX:,} one"
            " archive holds: ask for a shorter period, or one site or board",
            field="from",
        )
    rows: list[list[Any]] = []
    written: list[Path] = []
    directory = private_directory(out_dir / DIRECTORY)
    with conn.cursor(name="archive_pictures") as cur:
        cur.execute(
            "SELECT s.id, s.device_id, si.name, s.captured_at, s.reason, s.phash, s.jpeg"
            "  FROM snapshots s JOIN boards b ON b.id = s.device_id"
            "  JOIN sites si ON si.id = b.site_id"
            " WHERE b.site_id = ANY(%(sites)s) AND s.source = 'screen'"
            " AND s.captured_at >= %(start)s AND s.captured_at < %(end)s"
            " AND (%(board)s::text IS NULL OR s.device_id = %(board)s)"
            " ORDER BY s.device_id, s.captured_at, s.id",
            params,
        )
        for snapshot_id, shown_on, site, taken, reason, phash, jpeg in cur:
            local = taken.astimezone(LOCAL_TZ).strftime("%Y%m%d-%H%M%S")
            target = directory / f"{shown_on}-{local}-{snapshot_id}.jpg"
            data = bytes(jpeg)
            with open_private(target, "wb") as out:
                out.write(data)
            written.append(target)
            rows.append(
                [
                    shown_on,
                    site,
                    _local(taken),
                    _REASONS.get(reason, reason),
                    phash,
                    f"{DIRECTORY}/{target.name}",
                    hashlib.sha256(data).hexdigest(),
                ]
            )
    return rows, written
