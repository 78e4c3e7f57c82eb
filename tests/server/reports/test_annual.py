"""The annual report (Điều 14) for a seeded year: the DOCX opens, follows
the annex outline heading by heading, and carries the right figures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from docx import Document

from fleet_server.cli import main
from fleet_server.reports import annual, figures
from fleet_server.reports.figures import Period
from tests.support import seed

Conn = psycopg.Connection[Any]
# a year wholly in the past: availability never counts time still to come
PERIOD = Period.annual(2025)
DEPT_SHA = "d" * 64
AD_SHA = "e" * 64
PROP_SHA = "f" * 64


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return PERIOD.start.replace(
        year=day.year, month=day.month, day=day.day, hour=hour, minute=minute
    )


@pytest.fixture
def year(db_url: str) -> Iterator[Conn]:
    """Two organisations; the Economic Zone Board's year is known in detail."""
    with psycopg.connect(db_url, autocommit=True) as c:
        bql = seed.organisation(c, "bqlkkt", "Ban Quản lý Khu kinh tế", kind="economic_zone_board")
        huyen = seed.organisation(
            c, "ubnd-phong-tho", "UBND huyện Phong Thổ", kind="district_committee"
        )
        gate = seed.site(c, "ma-lu-thang", bql, name="Cửa khẩu Ma Lù Thàng", kind="border_gate")
        town = seed.site(c, "phong-tho", huyen, name="Thị trấn Phong Thổ", kind="district_centre")
        for board, site, name in (
            ("lc-mlt-01", gate, "Bảng Ma Lù Thàng 1"),
            ("lc-mlt-02", gate, "Bảng Ma Lù Thàng 2"),
            ("lc-pt-01", town, "Bảng Phong Thổ"),
        ):
            seed.board(c, board, site, name=name, installed_on=date(2024, 5, 1))
        c.execute(
            "INSERT INTO cameras (board_id, camera_id, name) VALUES"
            " ('lc-mlt-01', 'cam1', 'Cổng'), ('lc-mlt-01', 'cam2', 'Bãi xe')"
        )
        before = PERIOD.start - timedelta(days=30)
        # lc-mlt-01 down for one whole day; the others online all year
        outage = local(date(2025, 3, 1))
        c.execute(
            "INSERT INTO board_status_history (board_id, at, state, previous) VALUES"
            " ('lc-mlt-01', %(b)s, 'online', 'unknown'), ('lc-mlt-01', %(o)s, 'lost', 'online'),"
            " ('lc-mlt-01', %(r)s, 'online', 'lost'), ('lc-mlt-02', %(b)s, 'online', 'unknown'),"
            " ('lc-pt-01', %(b)s, 'online', 'unknown')",
            {"b": before, "o": outage, "r": outage + timedelta(days=1)},
        )
        days = [PERIOD.first_day + timedelta(days=i) for i in range(365)]
        statuses = ["compliant"] * 300 + ["non_compliant"] * 20 + ["unknown"] * 45
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
                " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
                " afternoon_unknown, status, basis) VALUES ('lc-mlt-01', %s, 180, 180, 360, 0,"
                " 0, 0, 0, %s, '{}')",
                list(zip(days, statuses, strict=True)),
            )
            # outside the period: must not count
            cur.execute(
                "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
                " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
                " afternoon_unknown, status, basis) VALUES ('lc-mlt-01', %s, 0, 0, 0, 0, 0, 0, 0,"
                " 'non_compliant', '{}')",
                (PERIOD.first_day - timedelta(days=1),),
            )
        c.execute(
            "INSERT INTO content_items (title, kind, language, sha256, valid_from,"
            " from_department, approved_by) VALUES"
            " ('Bản tin biên giới', 'propaganda', 'vi', %s, '2025-01-01', true, 'so-tttt')",
            (DEPT_SHA,),
        )
        plays = [(PROP_SHA, "propaganda", 60, i) for i in range(10)]
        plays += [(AD_SHA, "advertising", 30, 20 + i) for i in range(2)]
        plays += [(DEPT_SHA, "propaganda", 120, 40 + i) for i in range(3)]
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO play_log (device_id, content_sha256, started_at, ended_at,"
                " content_kind, content_language, source)"
                " VALUES ('lc-mlt-01', %s, %s, %s, %s, 'vi', 'display')",
                [
                    (
                        sha,
                        local(date(2025, 4, 1)) + timedelta(days=d),
                        local(date(2025, 4, 1)) + timedelta(days=d, minutes=minutes),
                        kind,
                    )
                    for sha, kind, minutes, d in plays
                ],
            )
        opened = local(date(2025, 5, 5), 8)
        for key, klass, severity, ack, res in (
            ("a", "technical", "major", 10, 70),
            ("b", "technical", "major", 10, 30),
            ("c", "security", "critical", 2, 20),
        ):
            c.execute(
                "INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id,"
                " site_id, organisation_id, title, opened_at, acknowledged_at, resolved_at)"
                " VALUES (%s, 'test', %s, %s, 'resolved', 'lc-mlt-01', %s, %s, 't', %s, %s, %s)",
                (
                    key,
                    klass,
                    severity,
                    gate,
                    bql,
                    opened,
                    opened + timedelta(minutes=ack),
                    opened + timedelta(minutes=res),
                ),
            )
        ticket = c.execute(
            "INSERT INTO tickets (board_id, site_id, kind, priority, state, title, due_at,"
            " created_by, created_at, updated_at) VALUES ('lc-mlt-01', %s, 'corrective',"
            " 'high', 'closed', 'Thay nguồn', %s, 'op', %s, %s) RETURNING id",
            (gate, opened, opened, opened),
        ).fetchone()[0]  # type: ignore[index]
        c.execute(
            "INSERT INTO ticket_costs (ticket_id, category, description, quantity, amount_vnd,"
            " recorded_by, recorded_at) VALUES (%s, 'repair', 'Bộ nguồn', 1, 1500000, 'op', %s),"
            " (%s, 'internet', 'Cước 4G', 12, 200000, 'op', %s)",
            (ticket, opened, ticket, opened),
        )
        seed.user(c, "vanhanh.bql", "operator", organisation=bql, full_name="Nguyễn Văn A")
        yield c


def texts(path: Path) -> tuple[list[str], str]:
    doc = Document(str(path))
    headings = [
        p.text for p in doc.paragraphs if p.style is not None and p.style.name.startswith("Heading")
    ]
    body = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            body.append(" | ".join(cell.text for cell in row.cells))
    return headings, "\n".join(body)


def test_the_period_is_15_december_to_14_december() -> None:
    period = Period.annual(2026)
    assert (period.first_day, period.last_day) == (date(2025, 12, 15), date(2026, 12, 14))
    assert (period.end - period.start) == timedelta(days=365)
    assert Period.annual(2028).end - Period.annual(2028).start == timedelta(days=366)


def test_organisation_report(year: Conn, tmp_path: Path) -> None:
    fig = figures.collect(year, 2025, "bqlkkt", now=datetime(2025, 12, 15, tzinfo=UTC))
    headings, body = texts(annual.write(fig, tmp_path / "bqlkkt.docx"))
    assert headings == [text for _level, text in annual.OUTLINE]
    assert "Hoạt động quản lý, vận hành cụm thông tin điện tử công cộng năm 2025" in body
    assert "từ ngày 15/12/2024 đến ngày 14/12/2025" in body
    assert "Số điểm đặt cụm thông tin điện tử công cộng: 1 (1 cửa khẩu)" in body
    assert "số bảng đang vận hành: 2; số camera giám sát: 2" in body
    # 364 of 365 days and 365 of 365 days
    assert "Bảng Ma Lù Thàng 1 | lc-mlt-01 | 8.736,0 | 24,0 | 0,0 | 0,00 % | 99,73 %" in body
    assert "Bảng Ma Lù Thàng 2 | lc-mlt-02 | 8.760,0 | 0,0 | 0,0 | 0,00 % | 100,00 %" in body
    assert "Cửa khẩu Ma Lù Thàng | ma-lu-thang | 17.496,0 | 24,0 | 0,0 | 0,00 % | 99,86 %" in body
    assert (
        "hoạt động 17.496,0 giờ, ngừng 24,0 giờ, không rõ trạng thái 0,0 giờ"
        " (0,00 % thời gian của kỳ, không tính vào tỷ lệ); tỷ lệ: 99,86 %." in body
    )
    assert "Đạt | 300" in body
    assert "Không đạt | 20" in body
    assert "Không đủ dữ liệu | 45" in body
    assert "Tuyên truyền | 13 | 16,0" in body
    assert "Quảng cáo | 2 | 1,0" in body
    assert "Tỷ lệ thời lượng quảng cáo: 5,88 %" in body
    assert (
        "do Sở Thông tin và Truyền thông cung cấp đã đăng tải: 1; tổng thời lượng: 6,0 giờ" in body
    )
    assert "Kỹ thuật | Lớn | 2 | 10,0 | 50,0" in body
    assert "An toàn thông tin | Nghiêm trọng | 1 | 2,0 | 20,0" in body
    assert "Sửa chữa | 1.500.000 | 0 | 1.500.000" in body
    assert "Đường truyền internet | 2.400.000 | 0 | 2.400.000" in body
    assert "Tổng cộng | 3.900.000 | 0 | 3.900.000" in body
    assert "vận hành: 1" in body
    assert "Bảng Phong Thổ" not in body  # another organisation's board
    assert body.count("[ĐƠN VỊ BÁO CÁO VIẾT NỘI DUNG") == 12


def test_province_report_covers_every_organisation(year: Conn, tmp_path: Path) -> None:
    fig = figures.collect(year, 2025, None, now=datetime(2025, 12, 15, tzinfo=UTC))
    headings, body = texts(annual.write(fig, tmp_path / "tinh.docx"))
    assert headings == [text for _level, text in annual.OUTLINE]
    assert "(tổng hợp toàn tỉnh)" in body
    assert "số bảng đang vận hành: 3" in body
    assert "Ban Quản lý Khu kinh tế | 1 | 2" in body
    assert "UBND huyện Phong Thổ | 1 | 1" in body
    assert "Bảng Phong Thổ | lc-pt-01" in body


def test_the_command_writes_the_docx_and_shows_progress(
    year: Conn,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    out = tmp_path / "r.docx"
    assert main(["report", "annual", "--year", "2025", "--org", "bqlkkt", "--out", str(out)]) == 0
    headings, _ = texts(out)
    assert headings[0] == "I. ĐẶC ĐIỂM TÌNH HÌNH"
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert "7/7 xong / done" in captured.err
    assert "availability" in captured.err


def test_an_unknown_organisation_is_a_clear_error(
    year: Conn, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    assert main(["report", "annual", "--year", "2026", "--org", "nope"]) == 1
    assert "no organisation with code 'nope'" in capsys.readouterr().err


def test_control_characters_in_names_do_not_break_the_docx(year: Conn, tmp_path: Path) -> None:
    year.execute("UPDATE boards SET name = 'Bảng\x0bhai' WHERE id = 'lc-mlt-02'")
    year.execute("UPDATE organisations SET name = 'Ban\x01 Quản lý' WHERE code = 'bqlkkt'")
    fig = figures.collect(year, 2025, "bqlkkt", now=datetime(2025, 12, 15, tzinfo=UTC))
    _, body = texts(annual.write(fig, tmp_path / "r.docx"))
    assert "Bảnghai | lc-mlt-02" in body
    assert "BAN QUẢN LÝ" in body


def test_the_report_file_is_0600_whatever_the_umask(year: Conn, tmp_path: Path) -> None:
    fig = figures.collect(year, 2025, "bqlkkt", now=datetime(2025, 12, 15, tzinfo=UTC))
    out = tmp_path / "bqlkkt.docx"
    out.write_bytes(b"an older, world-readable copy")
    old_umask = os.umask(0o022)
    try:
        annual.write(fig, out)
    finally:
        os.umask(old_umask)
    assert out.stat().st_mode & 0o777 == 0o600
    assert texts(out)[0] == [text for _level, text in annual.OUTLINE]
