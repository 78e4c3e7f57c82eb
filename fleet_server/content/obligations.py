"""What a supplying unit owes the Department, and when (Điều 10.1.b, 10.1.c).
Pure functions of dates: no SQL, no clock.

Điều 10.1.b: "Định kỳ ngày 20 tháng cuối quý, các sở, ban, ngành, Ủy ban nhân
dân các huyện, thành phố và Bộ Chỉ huy Bộ đội biên phòng tỉnh có các sản phẩm
truyền thông hoàn thiện về ngành, địa phương dưới dạng video, phóng sự truyền
hình gửi dữ liệu về Sở Thông tin và Truyền thông để tổng hợp, phổ biến tuyên
truyền rộng rãi trên các Cụm Thông tin điện tử công cộng." — due on the 20th of
the quarter's last month (20 March, 20 June, 20 September, 20 December).

Điều 10.1.c (Báo Lai Châu, Đài Phát thanh - Truyền hình tỉnh): "Định kỳ vào
ngày 20 hàng tháng chủ động cung cấp tối thiểu 01 nội dung …" — at least one
item, due on the 20th of every month.

A period runs from the day after the previous due date to its own due date,
both in Vietnam time, so every submission falls in exactly one period: an
item sent on 25 March counts for the quarter due on 20 June.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, get_args

from fleet_server.localtime import LOCAL_TZ

Obligation = Literal["quarterly", "monthly", "none"]
OBLIGATIONS: tuple[Obligation, ...] = get_args(Obligation)
#: The article each obligation comes from.
ARTICLES: dict[str, str] = {"quarterly": "Điều 10.1.b", "monthly": "Điều 10.1.c", "none": ""}
DUE_DAY = 20


@dataclass(frozen=True, slots=True)
class Period:
    """One obligation period: items sent from ``starts`` to ``due`` (local
    dates, both included) count for it."""

    key: str  # "2026-Q4" or "2026-12"
    starts: date
    due: date

    @property
    def start_at(self) -> datetime:
        """The first instant of the period (local midnight of ``starts``)."""
        return datetime.combine(self.starts, time(0), LOCAL_TZ)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (local midnight after ``due``)."""
        return datetime.combine(self.due + timedelta(days=1), time(0), LOCAL_TZ)


def _month_before(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) - months
    return index // 12, index % 12 + 1


def _due_months(obligation: Obligation) -> int:
    if obligation == "quarterly":
        return 3
    if obligation == "monthly":
        return 1
    raise ValueError(f"no periods for obligation {obligation!r}")


def _period_due_in(obligation: Obligation, year: int, month: int) -> Period:
    """The period whose due date falls in (year, month), which must be a due month."""
    step = _due_months(obligation)
    prev_year, prev_month = _month_before(year, month, step)
    starts = date(prev_year, prev_month, DUE_DAY) + timedelta(days=1)
    key = f"{year}-Q{month // 3}" if obligation == "quarterly" else f"{year}-{month:02d}"
    return Period(key, starts, date(year, month, DUE_DAY))


def period_of(obligation: Obligation, day: date) -> Period:
    """The period a submission made on local date ``day`` counts for."""
    step = _due_months(obligation)
    year, month = day.year, day.month
    # the next due month at or after this month (quarters end in 3, 6, 9, 12)
    while month % step:
        year, month = _month_before(year, month, -1)
    if day.year == year and day.month == month and day.day > DUE_DAY:
        year, month = _month_before(year, month, -step)
    return _period_due_in(obligation, year, month)


def last_due_period(obligation: Obligation, today: date) -> Period | None:
    """The latest period whose due date is before ``today`` (it can be
    judged: its last day is over). None for no obligation."""
    if obligation == "none":
        return None
    current = period_of(obligation, today)
    return period_of(obligation, current.starts - timedelta(days=1))


def next_due(obligation: Obligation, today: date) -> date | None:
    """The due date of the period ``today`` is in (today itself, on the 20th)."""
    if obligation == "none":
        return None
    return period_of(obligation, today).due


def local_date(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()
