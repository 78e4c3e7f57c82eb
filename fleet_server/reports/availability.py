"""The monthly availability report (Điều 11: availability figures for the
operators and the budget): per board, per site and per organisation, as CSV
files and one XLSX workbook, with a manifest of SHA-256 sums.

Every figure comes from the SQL functions of migration 0016, the same the
API and the dashboards use (docs/availability.md). A month still running is
reported up to now and marked incomplete in the manifest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from fleet_server.availability import storage
from fleet_server.availability.models import (
    BoardAvailability,
    Figures,
    OrganisationAvailability,
    Period,
    SiteAvailability,
)
from fleet_server.availability.period import until
from fleet_server.localtime import LOCAL_TZ
from fleet_server.reports.export import Sheet, write_csv, write_manifest, write_xlsx

Conn = psycopg.Connection[Any]

FIGURES_HEADER = (
    "Thời gian tính (giờ) / Expected (h)",
    "Hoạt động (giờ) / Up (h)",
    "Gián đoạn (giờ) / Down (h)",
    "Không rõ (giờ) / Unknown (h)",
    "Bảo trì (giờ) / Maintenance (h)",
    "Tỷ lệ sẵn sàng (%) / Availability (%)",
)
ORGANISATION_HEADER = ("Mã đơn vị / Organisation code", "Đơn vị / Organisation")
BOARD_HEADER = (
    "Mã bảng / Board ID",
    "Bảng / Board",
    "Mã điểm / Site code",
    "Điểm đặt / Site",
    *ORGANISATION_HEADER,
    *FIGURES_HEADER,
)
SITE_HEADER = (
    "Mã điểm / Site code",
    "Điểm đặt / Site",
    *ORGANISATION_HEADER,
    "Số bảng / Boards",
    *FIGURES_HEADER,
)
ORGANISATIONS_HEADER = (
    *ORGANISATION_HEADER,
    "Số điểm / Sites",
    "Số bảng / Boards",
    *FIGURES_HEADER,
)
DEFINITION = (
    "Tỷ lệ sẵn sàng = thời gian hoạt động / (hoạt động + gián đoạn); gián đoạn: mất kết nối,"
    " mất tín hiệu, ngừng gửi nhịp; không tính thời gian không rõ trạng thái"
    " / Availability = up / (up + down); down: offline, lost, stale; unknown time not counted"
)


@dataclass(frozen=True, slots=True)
class Organisation:
    id: int
    code: str


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _figures(f: Figures, *, percent: bool) -> list[Any]:
    """Hours to 0.01 h; availability as 0–100 (CSV) or a 0–1 fraction that
    the workbook formats as a percentage. Empty when nothing was known."""
    ratio: float | None = None
    if f.availability is not None:
        ratio = round(f.availability * 100, 2) if percent else f.availability
    return [
        _hours(f.expected_s),
        _hours(f.up_s),
        _hours(f.down_s),
        _hours(f.unknown_s),
        _hours(f.maintenance_s),
        ratio,
    ]


@dataclass(frozen=True, slots=True)
class _Figures:
    boards: list[BoardAvailability]
    sites: list[SiteAvailability]
    organisations: list[OrganisationAvailability]

    def tables(self, *, percent: bool) -> tuple[list[list[Any]], ...]:
        boards = [
            [
                b.board_id,
                b.board_name,
                b.site_code,
                b.site_name,
                b.organisation_code,
                b.organisation_name,
                *_figures(b.figures, percent=percent),
            ]
            for b in self.boards
        ]
        sites = [
            [
                s.site_code,
                s.site_name,
                s.organisation_code,
                s.organisation_name,
                s.boards,
                *_figures(s.figures, percent=percent),
            ]
            for s in self.sites
        ]
        organisations = [
            [
                o.organisation_code,
                o.organisation_name,
                o.sites,
                o.boards,
                *_figures(o.figures, percent=percent),
            ]
            for o in self.organisations
        ]
        return boards, sites, organisations


def _collect(
    conn: Conn, period: Period, organisation: Organisation | None, exclude: bool
) -> _Figures:
    if period.end <= period.start:
        return _Figures([], [], [])
    args: dict[str, Any] = {
        "exclude_maintenance": exclude,
        "organisation_id": organisation.id if organisation else None,
    }
    return _Figures(
        storage.board_availability(conn, period, **args),
        storage.site_availability(conn, period, **args),
        storage.organisation_availability(conn, period, **args),
    )


def _formats(header: Sequence[str]) -> dict[int, str]:
    start = len(header) - len(FIGURES_HEADER)
    formats = {start + i: "0.00" for i in range(len(FIGURES_HEADER) - 1)}
    formats[len(header) - 1] = "0.00%"
    return formats


def write_report(
    conn: Conn,
    month: str,
    period: Period,
    out: Path,
    *,
    organisation: Organisation | None,
    exclude_maintenance: bool,
    generated_by: str,
    now: datetime,
) -> list[Path]:
    """Write the report for ``period`` (the month ``month``, e.g. 2026-11)
    into ``out``; return the files written, the manifest last."""
    out.mkdir(parents=True, exist_ok=True)
    measured = until(period, now)
    stem = f"availability-{month}" + (f"-{organisation.code}" if organisation else "")
    files: list[Path] = []
    figures = _collect(conn, measured, organisation, exclude_maintenance)
    csv_tables = figures.tables(percent=True)
    xlsx_tables = figures.tables(percent=False)
    headers = (BOARD_HEADER, SITE_HEADER, ORGANISATIONS_HEADER)
    for suffix, header, rows in zip(
        ("boards", "sites", "organisations"), headers, csv_tables, strict=True
    ):
        files.append(write_csv(out / f"{stem}-{suffix}.csv", header, rows))
    about = [
        ["Tháng / Month", month],
        ["Từ / From", measured.start.astimezone(LOCAL_TZ).isoformat()],
        ["Đến / To", measured.end.astimezone(LOCAL_TZ).isoformat()],
        ["Đơn vị / Organisation", organisation.code if organisation else "toàn tỉnh / province"],
        [
            "Trừ thời gian bảo trì / Maintenance excluded",
            "có / yes" if exclude_maintenance else "không / no",
        ],
        ["Định nghĩa / Definition", DEFINITION],
        ["Lập lúc / Generated at", now.astimezone(LOCAL_TZ).isoformat()],
    ]
    sheets = [
        Sheet("Bảng - Boards", BOARD_HEADER, xlsx_tables[0], _formats(BOARD_HEADER)),
        Sheet("Điểm đặt - Sites", SITE_HEADER, xlsx_tables[1], _formats(SITE_HEADER)),
        Sheet(
            "Đơn vị - Organisations",
            ORGANISATIONS_HEADER,
            xlsx_tables[2],
            _formats(ORGANISATIONS_HEADER),
        ),
        Sheet("Thông tin - About", ("Mục / Item", "Giá trị / Value"), about),
    ]
    files.append(write_xlsx(out / f"{stem}.xlsx", sheets))
    manifest = write_manifest(
        out,
        files,
        (period.start, period.end),
        generated_by,
        generated_at=now,
        extra={
            "report": "availability",
            "month": month,
            "organisation": organisation.code if organisation else None,
            "exclude_maintenance": exclude_maintenance,
            # the figures cover [period.from, measured_until): less when the
            # month is still running
            "measured_until": measured.end.isoformat(),
            "complete": measured.end >= period.end,
        },
    )
    return [*files, manifest]
