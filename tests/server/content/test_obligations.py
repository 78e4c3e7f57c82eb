"""Due dates of the supplying units (Điều 10.1.b, 10.1.c), as pure functions
of local dates, year ends included.

Điều 10.1.b: "Định kỳ ngày 20 tháng cuối quý, các sở, ban, ngành, Ủy ban nhân
dân các huyện, thành phố và Bộ Chỉ huy Bộ đội biên phòng tỉnh có các sản phẩm
truyền thông hoàn thiện về ngành, địa phương dưới dạng video, phóng sự truyền
hình gửi dữ liệu về Sở Thông tin và Truyền thông để tổng hợp, phổ biến tuyên
truyền rộng rãi trên các Cụm Thông tin điện tử công cộng."

Điều 10.1.c: "Định kỳ vào ngày 20 hàng tháng chủ động cung cấp tối thiểu 01
nội dung là chương trình truyền hình, video clip, hình ảnh, tin bài có nội dung
quảng bá về Lai Châu …"
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fleet_server.content.obligations import (
    Period,
    last_due_period,
    local_date,
    next_due,
    period_of,
)


@pytest.mark.parametrize(
    ("day", "key", "starts", "due"),
    [
        (date(2026, 1, 1), "2026-Q1", date(2025, 12, 21), date(2026, 3, 20)),
        (date(2026, 3, 20), "2026-Q1", date(2025, 12, 21), date(2026, 3, 20)),
        (date(2026, 3, 21), "2026-Q2", date(2026, 3, 21), date(2026, 6, 20)),
        (date(2026, 6, 30), "2026-Q3", date(2026, 6, 21), date(2026, 9, 20)),
        (date(2026, 11, 5), "2026-Q4", date(2026, 9, 21), date(2026, 12, 20)),
        (date(2026, 12, 20), "2026-Q4", date(2026, 9, 21), date(2026, 12, 20)),
        # after the 20th of December: the next year's first quarter
        (date(2026, 12, 21), "2027-Q1", date(2026, 12, 21), date(2027, 3, 20)),
        (date(2026, 12, 31), "2027-Q1", date(2026, 12, 21), date(2027, 3, 20)),
    ],
)
def test_quarterly_is_due_on_the_20th_of_the_quarters_last_month(
    day: date, key: str, starts: date, due: date
) -> None:
    """10.1.b: "Định kỳ ngày 20 tháng cuối quý" — 20/3, 20/6, 20/9, 20/12; an
    item sent after the 20th counts for the next quarter."""
    assert period_of("quarterly", day) == Period(key, starts, due)


@pytest.mark.parametrize(
    ("day", "key", "starts", "due"),
    [
        (date(2026, 1, 20), "2026-01", date(2025, 12, 21), date(2026, 1, 20)),
        (date(2026, 1, 21), "2026-02", date(2026, 1, 21), date(2026, 2, 20)),
        (date(2026, 2, 28), "2026-03", date(2026, 2, 21), date(2026, 3, 20)),
        (date(2028, 2, 29), "2028-03", date(2028, 2, 21), date(2028, 3, 20)),  # leap year
        (date(2026, 12, 25), "2027-01", date(2026, 12, 21), date(2027, 1, 20)),
        (date(2027, 1, 1), "2027-01", date(2026, 12, 21), date(2027, 1, 20)),
    ],
)
def test_monthly_is_due_on_the_20th_of_every_month(
    day: date, key: str, starts: date, due: date
) -> None:
    """10.1.c: "Định kỳ vào ngày 20 hàng tháng" — at least one item a month."""
    assert period_of("monthly", day) == Period(key, starts, due)


def test_periods_follow_each_other_without_gap_or_overlap() -> None:
    for obligation in ("monthly", "quarterly"):
        period = period_of(obligation, date(2025, 1, 1))
        for _ in range(30):
            following = period_of(obligation, period.due.replace(day=21))
            assert (following.starts - period.due).days == 1
            assert following.end_at > following.start_at == period.end_at
            period = following


@pytest.mark.parametrize(
    ("obligation", "today", "key"),
    [
        ("quarterly", date(2026, 12, 20), "2026-Q3"),  # the due day is not over yet
        ("quarterly", date(2026, 12, 21), "2026-Q4"),
        ("quarterly", date(2027, 1, 5), "2026-Q4"),
        ("quarterly", date(2027, 3, 21), "2027-Q1"),
        ("monthly", date(2027, 1, 1), "2026-12"),
        ("monthly", date(2027, 1, 21), "2027-01"),
    ],
)
def test_the_last_period_due_is_the_one_whose_day_is_over(
    obligation: str, today: date, key: str
) -> None:
    found = last_due_period(obligation, today)  # type: ignore[arg-type]
    assert found is not None
    assert found.key == key
    assert found.due < today


def test_no_obligation_has_no_period() -> None:
    assert last_due_period("none", date(2026, 12, 21)) is None
    assert next_due("none", date(2026, 12, 21)) is None
    with pytest.raises(ValueError, match="no periods"):
        period_of("none", date(2026, 12, 21))


def test_next_due_and_the_local_date() -> None:
    assert next_due("quarterly", date(2026, 12, 6)) == date(2026, 12, 20)
    assert next_due("monthly", date(2026, 12, 21)) == date(2027, 1, 20)
    # 20 December 17:30 UTC is already 21 December in Vietnam
    assert local_date(datetime(2026, 12, 20, 17, 30, tzinfo=UTC)) == date(2026, 12, 21)
    period = period_of("monthly", date(2026, 12, 20))
    assert period.end_at == datetime(2026, 12, 20, 17, 0, tzinfo=UTC)
    assert period.start_at == datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
