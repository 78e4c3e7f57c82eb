"""Section I of the annual report: the availability line always shows its
up, down and unknown hours and how the ratio is computed, and never a figure
that its own tables contradict.

Điều 14.1: "Các cơ quan, đơn vị, địa phương được giao nhiệm vụ quản lý, vận
hành Cụm Thông tin điện tử công cộng gửi báo cáo định kỳ theo Đề cương gợi ý
kèm theo Quy chế (trước ngày 15/12 năm báo cáo) về Sở Thông tin và Truyền
thông để tổng hợp; …"
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fleet_server.reports import annual, figures
from fleet_server.reports.figures import Period
from fleet_server.reports.uptime import Uptime
from fleet_server.reports.wording import availability_line, ratio_cell
from tests.server.reports.test_annual import texts, year  # noqa: F401 (fixture)
from tests.support import seed

Conn = psycopg.Connection[Any]
H = 3600.0


def test_a_known_ratio_is_shown_with_its_hours_and_unknown_share() -> None:
    """Điều 14.1: the report follows the annex outline; its figures must hold."""
    line = availability_line(Uptime(90 * H, 10 * H, 100 * H))
    assert "hoạt động 90,0 giờ, ngừng 10,0 giờ, không rõ trạng thái 100,0 giờ" in line
    assert "(50,00 % thời gian của kỳ, không tính vào tỷ lệ)" in line
    assert line.endswith("tỷ lệ: 90,00 %.")


def test_when_unknown_dominates_the_ratio_is_not_meaningful() -> None:
    """The case of the issue: 0.0 h up, 8,555.8 h unknown printed "100,00 %".
    Now the line says the figure is not meaningful and prints no ratio; the
    table cell says so too."""
    u = Uptime(10 * H, 0.0, 90 * H)
    line = availability_line(u)
    assert "tỷ lệ: không có ý nghĩa" in line
    assert "không rõ trạng thái 90,0 giờ (90,00 % thời gian của kỳ" in line
    assert "100,00 %" not in line
    assert ratio_cell(u) == "không có ý nghĩa"
    assert not u.meaningful
    assert u.shown is None
    issue = Uptime(0.04 * H, 0.0, 8555.8 * H)
    assert "tỷ lệ: không có ý nghĩa" in availability_line(issue)
    assert ratio_cell(issue) == "không có ý nghĩa"


def test_nothing_known_gives_no_ratio() -> None:
    line = availability_line(Uptime(0.0, 0.0, 24 * H))
    assert "tỷ lệ: không tính được" in line
    assert ratio_cell(Uptime(0.0, 0.0, 24 * H)) == "—"


def test_exactly_half_known_is_still_meaningful() -> None:
    assert Uptime(5 * H, 5 * H, 10 * H).meaningful
    assert not Uptime(5 * H, 4 * H, 11 * H).meaningful


_NUMBER = r"([\d.]+,\d)"


def _hours(text: str) -> float:
    return float(text.replace(".", "").replace(",", "."))


def _consistent(body: str) -> tuple[float, float, float]:
    """Checks that the line agrees with the board table: returns its hours."""
    m = re.search(
        rf"hoạt động {_NUMBER} giờ, ngừng {_NUMBER} giờ, không rõ trạng thái {_NUMBER} giờ"
        r" \(([\d,]+) % thời gian của kỳ.*?; tỷ lệ: ([^.]+(?:\.\d+)?)",
        body,
    )
    assert m, "no availability line"
    up, down, unknown = (_hours(m[i]) for i in (1, 2, 3))
    header = (
        "Bảng | Mã | Giờ hoạt động | Giờ ngừng | Giờ không rõ | Không rõ (% kỳ) | Tỷ lệ hoạt động"
    )
    rows = body.split(header, 1)[1].split("\n")[1:]
    board_rows = [r.split(" | ") for r in rows if re.match(r".+ \| lc-", r)]
    assert board_rows
    assert sum(_hours(r[2]) for r in board_rows) == pytest.approx(up, abs=0.05 * len(board_rows))
    assert sum(_hours(r[3]) for r in board_rows) == pytest.approx(down, abs=0.05 * len(board_rows))
    assert sum(_hours(r[4]) for r in board_rows) == pytest.approx(
        unknown, abs=0.05 * len(board_rows)
    )
    share = unknown / (up + down + unknown) if up + down + unknown else 0
    if up + down and share <= 0.5:
        expected = f"{up / (up + down) * 100:.2f}".replace(".", ",")
        assert m[5].startswith(expected[:-1]), (m[5], expected)  # within rounding of hours
    else:
        assert not m[5].strip()[0].isdigit(), m[5]
    total = rows[len(board_rows)].split(" | ")
    assert total[0] == "Tổng cộng"
    assert [_hours(x) for x in total[2:5]] == [up, down, unknown]  # the line, exactly
    for r in board_rows:  # a row whose hours are mostly unknown shows no ratio
        if _hours(r[4]) > _hours(r[2]) + _hours(r[3]):
            assert "%" not in r[6], r
    return up, down, unknown


def test_the_report_of_a_seeded_year_agrees_with_its_tables(
    year: Conn,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Điều 14.1 (the report "theo Đề cương gợi ý kèm theo Quy chế"): the
    availability line of section I is the sum of its board table."""
    fig = figures.collect(year, 2025, None, now=datetime(2025, 12, 15, tzinfo=UTC))
    _, body = texts(annual.write(fig, tmp_path / "r.docx"))
    up, down, _unknown = _consistent(body)
    assert (up, down) == (8736.0 + 8760.0 + 8760.0, 24.0)


def test_a_board_heard_for_minutes_is_not_100_percent(
    year: Conn,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A board installed but silent nearly all year: the line and its row say
    "không có ý nghĩa", never 100 %."""
    gate = year.execute("SELECT id FROM sites WHERE code = 'ma-lu-thang'").fetchone()
    assert gate is not None
    seed.board(year, "lc-mlt-09", gate[0], name="Bảng im lặng", installed_on=date(2024, 5, 1))
    heard = Period.annual(2025).end - timedelta(minutes=3)
    year.execute(
        "INSERT INTO board_status_history (board_id, at, state, previous)"
        " VALUES ('lc-mlt-09', %s, 'online', 'unknown')",
        (heard,),
    )
    fig = figures.collect(year, 2025, "bqlkkt", now=datetime(2025, 12, 15, tzinfo=UTC))
    _, body = texts(annual.write(fig, tmp_path / "r.docx"))
    row = next(r for r in body.split("\n") if r.startswith("Bảng im lặng | lc-mlt-09"))
    cells = row.split(" | ")
    assert cells[2:] == ["0,1", "0,0", "8.760,0", "100,00 %", "không có ý nghĩa"], row
    _consistent(body)
