"""Ad hoc reports (Điều 14.3: "Thực hiện báo cáo đột xuất theo yêu cầu của cơ
quan có thẩm quyền.") in the annual report's outline over any period, from
the command line and the API; the dates are checked and every rejection
names its date. And the report's times are Vietnam time."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from docx import Document

from fleet_server.cli import main
from fleet_server.errors import Invalid
from fleet_server.reports import annual, figures
from fleet_server.reports.service import MAX_PERIOD_DAYS, check_period
from tests.server.reports.conftest import NOW
from tests.server.reports.test_annual import texts, year  # noqa: F401 (fixture)

Conn = psycopg.Connection[Any]
TODAY = date(2026, 12, 6)  # NOW in Vietnam


@pytest.mark.parametrize(
    ("first", "last", "field", "message"),
    [
        (date(2026, 3, 31), date(2026, 3, 1), "from", "`from` 2026-03-31 is after `to` 2026-03-01"),
        (date(2026, 12, 1), date(2026, 12, 7), "to", "`to` 2026-12-07 is after today (2026-12-06"),
        (date(2019, 12, 31), date(2020, 1, 31), "from", "is before 2020-01-01"),
        (date(2024, 1, 1), date(2026, 1, 1), "to", "the period is 732 days; an ad hoc report"),
    ],
    ids=["reversed", "not-ended", "too-early", "too-long"],
)
def test_bad_periods_are_refused_naming_the_date(
    first: date, last: date, field: str, message: str
) -> None:
    with pytest.raises(Invalid) as caught:
        check_period(first, last, NOW)
    assert caught.value.field == field
    assert message in caught.value.detail


def test_good_periods_pass() -> None:
    check_period(TODAY, TODAY, NOW)  # one day, today
    check_period(date(2024, 12, 6), date(2026, 12, 6), NOW)  # 731 days
    assert MAX_PERIOD_DAYS == 731


def test_the_command_writes_a_report_for_the_period(
    year: Conn,  # noqa: F811
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    out = tmp_path / "r.docx"
    argv = ["report", "period", "--from", "2025-03-01", "--to", "2025-03-31", "--org", "bqlkkt"]
    assert main([*argv, "--out", str(out)]) == 0
    headings, body = texts(out)
    assert headings == [text for _level, text in annual.OUTLINE]
    assert "từ ngày 01/03/2025 đến ngày 31/03/2025" in body
    assert "Báo cáo đột xuất theo yêu cầu của cơ quan có thẩm quyền (Điều 14.3)" in body
    # March: 744 h; lc-mlt-01 lost for the whole of 1 March
    assert "Bảng Ma Lù Thàng 1 | lc-mlt-01 | 720,0 | 24,0 | 0,0 | 0,00 % | 96,77 %" in body
    assert "hoạt động 1.464,0 giờ, ngừng 24,0 giờ" in body
    assert "Đạt | 31" in body  # compliance days of March only
    assert "chi phí của kỳ 31 ngày quy đổi ra 365 ngày" in body
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert "7/7 xong / done" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-03-31", "--to", "2025-03-01"], "`from` 2025-03-31 is after `to`"),
        (["--from", "2019-01-01", "--to", "2019-02-01"], "is before 2020-01-01"),
        (["--from", "2020-01-01", "--to", "2025-01-01"], "an ad hoc report covers at most 731"),
        (["--from", "2025-03-01", "--to", "2099-01-01"], "the period has not ended"),
    ],
    ids=["reversed", "too-early", "too-long", "not-ended"],
)
def test_the_command_refuses_bad_periods(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before any connection: no database is needed to say why."""
    assert main(["report", "period", *args, "--province"]) == 2
    assert message in capsys.readouterr().err


def test_the_command_refuses_a_date_that_is_not_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["report", "period", "--from", "1/3/2025", "--to", "2025-03-31", "--province"])
    assert caught.value.code == 2
    assert "'1/3/2025' is not a day: write YYYY-MM-DD" in capsys.readouterr().err


def test_the_generation_time_is_vietnam_time(year: Conn, tmp_path: Path) -> None:  # noqa: F811
    """Local time everywhere in the report (fleet_server.localtime)."""
    fig = figures.collect(year, 2025, "bqlkkt", now=datetime(2025, 12, 15, 2, 30, tzinfo=UTC))
    _, body = texts(annual.write(fig, tmp_path / "r.docx"))
    assert "tổng hợp lúc 09:30 ngày 15/12/2025 (giờ Việt Nam, UTC+7)" in body
    assert "kỳ chưa kết thúc" not in body
    early = figures.collect(year, 2025, "bqlkkt", now=datetime(2025, 12, 10, 2, 30, tzinfo=UTC))
    _, body = texts(annual.write(early, tmp_path / "early.docx"))
    assert "đến ngày 14/12/2025 (kỳ chưa kết thúc: số liệu tính đến 09:30 ngày 10/12/2025)" in body
    assert "UTC)" not in body
    assert "giờ UTC" not in body


def docx_text(content: bytes) -> str:
    doc = Document(io.BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [" | ".join(c.text for c in row.cells) for row in table.rows]
    return "\n".join(parts)


def test_the_api_gives_the_period_report_and_audits_it(as_: Any, api_db: str) -> None:
    response = as_("operator").get(
        "/api/v1/reports/period", params={"from": "2026-11-01", "to": "2026-11-30"}
    )
    assert response.status_code == 200, response.text
    assert (
        "bao-cao-dot-xuat-2026-11-01-2026-11-30-bql-kkt.docx"
        in response.headers["content-disposition"]
    )
    text = docx_text(response.content)
    assert "từ ngày 01/11/2026 đến ngày 30/11/2026" in text
    assert "II. KẾT QUẢ THỰC HIỆN" in text
    with psycopg.connect(api_db) as conn:
        row = conn.execute(
            "SELECT actor, target_id, after FROM audit_log WHERE action = 'report.period.download'"
        ).fetchone()
    assert row is not None
    assert (row[0], row[1], row[2]["from"], row[2]["to"]) == (
        "van.hanh",
        "bql-kkt",
        "2026-11-01",
        "2026-11-30",
    )


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, 400, "is after `to`"),
        ({"from": "2026-12-01", "to": "2026-12-07"}, 400, "the period has not ended"),
        ({"from": "2019-01-01", "to": "2019-12-31"}, 400, "is before 2020-01-01"),
        ({"from": "2021-01-01", "to": "2026-11-30"}, 400, "at most 731"),
        ({"from": "30/11/2026", "to": "2026-11-30"}, 422, None),
        ({"to": "2026-11-30"}, 422, None),
    ],
    ids=["reversed", "not-ended", "too-early", "too-long", "not-a-date", "missing"],
)
def test_the_api_refuses_bad_periods(
    as_: Any, params: dict[str, str], status: int, message: str | None
) -> None:
    response = as_("operator").get("/api/v1/reports/period", params=params)
    assert response.status_code == status, response.text
    if message:
        assert message in response.json()["detail"]


def test_the_api_period_report_is_for_report_readers_only(as_: Any) -> None:
    params = {"from": "2026-11-01", "to": "2026-11-30"}
    assert as_("technician").get("/api/v1/reports/period", params=params).status_code == 403
    assert as_("guard").get("/api/v1/reports/period", params=params).status_code == 403
