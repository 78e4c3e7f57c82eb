"""Reminders before the report deadlines of Điều 14, queued by the engine.

Điều 14.1: "Các cơ quan, đơn vị, địa phương được giao nhiệm vụ quản lý, vận
hành Cụm Thông tin điện tử công cộng gửi báo cáo định kỳ theo Đề cương gợi ý
kèm theo Quy chế (trước ngày 15/12 năm báo cáo) về Sở Thông tin và Truyền
thông để tổng hợp; thời gian chốt số liệu báo cáo định kỳ hằng năm tính từ
ngày 15 tháng 12 năm trước kỳ báo cáo đến ngày 14 tháng 12 của kỳ báo cáo."

Điều 14.2: "Sở Thông tin và Truyền thông có trách nhiệm tổng hợp kết quả
hoạt động của các Cụm Thông tin điện tử công cộng (trước ngày 20/12 hằng năm)
báo cáo Ủy ban nhân dân tỉnh, Bộ Thông tin và Truyền thông."

``days_before`` days before each deadline (local time), one ``report_deadline``
notice per organisation that must act: every organisation operating a board
(14.1), the provincial department (14.2). The notice carries the
organisation, so the routes of that organisation (and province-wide routes
without an incident class) deliver it; ``incident_kind`` is
``report_deadline_14_1`` / ``report_deadline_14_2`` for routes that want only
these (``incident_kinds = {report_deadline*}``). Each is queued once per
year, deadline and organisation (``report_reminders``), in the engine's
transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from fleet_server.localtime import local_day
from fleet_server.notifications import Notice, Text, enqueue
from fleet_server.reports import storage_budget as storage
from fleet_server.reports.storage_budget import Conn

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Deadline:
    article: str  # "14.1"
    month: int
    day: int
    #: what is due, (vi, en)
    what: tuple[str, str]
    quote: str

    def on(self, year: int) -> date:
        return date(year, self.month, self.day)


ARTICLE_14_1 = (
    "Các cơ quan, đơn vị, địa phương được giao nhiệm vụ quản lý, vận hành Cụm Thông tin điện tử"
    " công cộng gửi báo cáo định kỳ theo Đề cương gợi ý kèm theo Quy chế (trước ngày 15/12 năm"
    " báo cáo) về Sở Thông tin và Truyền thông để tổng hợp; thời gian chốt số liệu báo cáo định"
    " kỳ hằng năm tính từ ngày 15 tháng 12 năm trước kỳ báo cáo đến ngày 14 tháng 12 của kỳ báo"
    " cáo."
)
ARTICLE_14_2 = (
    "Sở Thông tin và Truyền thông có trách nhiệm tổng hợp kết quả hoạt động của các Cụm Thông"
    " tin điện tử công cộng (trước ngày 20/12 hằng năm) báo cáo Ủy ban nhân dân tỉnh, Bộ Thông"
    " tin và Truyền thông."
)
DEADLINES = (
    Deadline(
        "14.1",
        12,
        15,
        ("gửi báo cáo năm về Sở Thông tin và Truyền thông", "send the annual report to Sở TT&TT"),
        ARTICLE_14_1,
    ),
    Deadline(
        "14.2",
        12,
        20,
        (
            "tổng hợp báo cáo gửi UBND tỉnh và Bộ Thông tin và Truyền thông",
            "send the compiled report to the Provincial People's Committee and the Ministry",
        ),
        ARTICLE_14_2,
    ),
)


def due(today: date, days_before: int) -> list[Deadline]:
    """The deadlines whose reminder window covers ``today``: from
    ``days_before`` days before the deadline until the day before it ("trước
    ngày 15/12": the report must be in before that day). None when 0."""
    if days_before <= 0:
        return []
    return [d for d in DEADLINES if 0 < (d.on(today.year) - today).days <= days_before]


def queue(conn: Conn, now: datetime, days_before: int) -> int:
    """Queue the reminders due at ``now`` not queued before; returns how many
    organisations were reminded. Cheap outside the windows (no query)."""
    today = local_day(now)
    reminded = 0
    for deadline in due(today, days_before):
        orgs = (
            storage.operating_organisations(conn)
            if deadline.article == "14.1"
            else storage.departments(conn)
        )
        targets: list[tuple[int | None, str]] = [(o[0], o[2]) for o in orgs]
        if deadline.article == "14.2" and not targets:
            targets = [(None, "Sở Thông tin và Truyền thông")]
        for organisation_id, name in targets:
            if not storage.mark_reminder(conn, today.year, deadline.article, organisation_id, now):
                continue
            ids = enqueue(conn, notice(deadline, today, organisation_id, name, now), now=now)
            storage.set_recipients(conn, today.year, deadline.article, organisation_id, len(ids))
            reminded += 1
    return reminded


def notice(
    deadline: Deadline, today: date, organisation_id: int | None, name: str, now: datetime
) -> Notice:
    year = today.year
    on = deadline.on(year)
    left = (on - today).days
    period = f"15/12/{year - 1} – 14/12/{year}"
    vi_title = (
        f"Còn {left} ngày: {name} {deadline.what[0]} trước ngày {on:%d/%m/%Y}"
        f" (Điều {deadline.article})"
    )
    en_title = (
        f"{left} days left: {name} must {deadline.what[1]} before {on:%Y-%m-%d}"
        f" (Article {deadline.article})"
    )
    how_vi = (
        "Lập báo cáo: trang Báo cáo của bảng điều khiển, hoặc"
        f" `fleet-server report annual --year {year}`."
    )
    how_en = (
        f"To make it: the console's Reports page, or `fleet-server report annual --year {year}`."
    )
    return Notice(
        kind="report_deadline",
        severity="warning",
        title=Text(vi_title, en_title),
        occurred_at=now,
        organisation_id=organisation_id,
        incident_kind=f"report_deadline_{deadline.article.replace('.', '_')}",
        summary=Text(
            f'Điều {deadline.article}: "{deadline.quote}"\n\nKỳ số liệu: {period}. {how_vi}',
            f'Article {deadline.article} (Vietnamese): "{deadline.quote}"\n\n'
            f"Data period: {period}. {how_en}",
        ),
        details={"deadline": f"{on:%Y-%m-%d}", "article": deadline.article, "year": year},
        dedup_key=f"report-deadline:{year}:{deadline.article}:org{organisation_id or 0}",
    )
