"""Reminders before the report deadlines, queued by the engine through the
notification outbox, once per year, deadline and organisation.

Điều 14.1: "Các cơ quan, đơn vị, địa phương được giao nhiệm vụ quản lý, vận
hành Cụm Thông tin điện tử công cộng gửi báo cáo định kỳ theo Đề cương gợi ý
kèm theo Quy chế (trước ngày 15/12 năm báo cáo) về Sở Thông tin và Truyền
thông để tổng hợp; thời gian chốt số liệu báo cáo định kỳ hằng năm tính từ
ngày 15 tháng 12 năm trước kỳ báo cáo đến ngày 14 tháng 12 của kỳ báo cáo."

Điều 14.2: "Sở Thông tin và Truyền thông có trách nhiệm tổng hợp kết quả
hoạt động của các Cụm Thông tin điện tử công cộng (trước ngày 20/12 hằng năm)
báo cáo Ủy ban nhân dân tỉnh, Bộ Thông tin và Truyền thông."
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.reports import reminders
from tests.support import seed
from tests.support.clock import Clock

Conn = psycopg.Connection[Any]


def articles(today: date, days: int = 7) -> list[str]:
    return [d.article for d in reminders.due(today, days)]


def test_the_windows_before_15_and_20_december() -> None:
    """Điều 14.1 "trước ngày 15/12", Điều 14.2 "trước ngày 20/12": reminded
    from N days before until the day before."""
    assert articles(date(2026, 12, 7)) == []
    assert articles(date(2026, 12, 8)) == ["14.1"]
    assert articles(date(2026, 12, 13)) == ["14.1", "14.2"]
    assert articles(date(2026, 12, 14)) == ["14.1", "14.2"]
    assert articles(date(2026, 12, 15)) == ["14.2"]
    assert articles(date(2026, 12, 19)) == ["14.2"]
    assert articles(date(2026, 12, 20)) == []
    assert articles(date(2026, 6, 1), 60) == []
    assert articles(date(2026, 12, 14), 0) == []  # 0: never


@dataclass
class World:
    conn: Conn
    orgs: dict[str, int]
    contacts: dict[str, int]


def contact(conn: Conn, name: str, org: int | None, language: str = "vi", **route: Any) -> int:
    row = conn.execute(
        "INSERT INTO contacts (organisation_id, name, email, language) VALUES (%s, %s, %s, %s)"
        " RETURNING id",
        (org, name, f"{name}@example.vn", language),
    ).fetchone()
    assert row is not None
    conn.execute(
        "INSERT INTO notification_routes (organisation_id, incident_class, incident_kinds,"
        " min_severity, channel, contact_id) VALUES (%s, %s, %s, %s, 'email', %s)",
        (
            route.get("organisation_id"),
            route.get("incident_class"),
            route.get("incident_kinds"),
            route.get("min_severity", "warning"),
            row[0],
        ),
    )
    return int(row[0])


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """Two operating organisations, one whose only board is disabled, the
    department (no boards), and contacts routed in different ways."""
    with psycopg.connect(db_url, autocommit=True) as c:
        orgs = {
            "bql": seed.organisation(c, "bqlkkt", "Ban Quản lý Khu kinh tế"),
            "pt": seed.organisation(c, "ubnd-phong-tho", "UBND huyện Phong Thổ"),
            "off": seed.organisation(c, "ubnd-off", "UBND huyện Tắt"),
            "so": seed.organisation(c, "so-tttt", "Sở TT&TT", kind="provincial_department"),
        }
        for code, org, enabled in (("mlt", "bql", True), ("pt", "pt", True), ("off", "off", False)):
            site = seed.site(c, code, orgs[org])
            seed.board(c, f"lc-{code}-01", site, enabled=enabled)
        contacts = {
            "bql": contact(c, "bql", orgs["bql"], organisation_id=orgs["bql"]),
            "pt": contact(c, "pt", orgs["pt"], "en", organisation_id=orgs["pt"]),
            "so": contact(c, "so", orgs["so"], incident_kinds=["report_deadline*"]),
            "tech": contact(c, "tech", None, incident_class="technical"),
            "major": contact(c, "major", None, min_severity="major"),
        }
        yield World(c, orgs, contacts)


def outbox(conn: Conn) -> list[tuple[str, str, str]]:
    """(contact name, article, subject) of the queued report reminders."""
    rows = conn.execute(
        "SELECT c.name, o.payload->'details'->>'article', o.subject FROM notification_outbox o"
        " JOIN contacts c ON c.id = o.contact_id WHERE o.kind = 'report_deadline'"
        " ORDER BY o.id"
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_each_organisation_that_reports_is_reminded_once(world: World) -> None:
    conn = world.conn
    # 23:59 on 7 December in Vietnam: not yet
    assert reminders.queue(conn, datetime(2026, 12, 7, 16, 59, tzinfo=UTC), 7) == 0
    # 00:00 on 8 December in Vietnam: 14.1 for the two operating organisations
    first = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    assert reminders.queue(conn, first, 7) == 2
    queued = outbox(conn)
    assert sorted((name, article) for name, article, _ in queued) == [
        ("bql", "14.1"),
        ("pt", "14.1"),
        ("so", "14.1"),
        ("so", "14.1"),
    ]
    subjects = {name: subject for name, _, subject in queued}
    assert subjects["bql"] == (
        "[Cảnh báo] Sắp đến hạn báo cáo định kỳ: Còn 7 ngày: Ban Quản lý Khu kinh tế gửi báo"
        " cáo năm về Sở Thông tin và Truyền thông trước ngày 15/12/2026 (Điều 14.1)"
    )
    assert subjects["pt"].startswith("[Warning] Periodic report due soon: 7 days left:")
    body = conn.execute(
        "SELECT body_text FROM notification_outbox o JOIN contacts c ON c.id = o.contact_id"
        " WHERE c.name = 'bql'"
    ).fetchone()
    assert body is not None
    assert reminders.ARTICLE_14_1 in body[0]
    assert "Kỳ số liệu: 15/12/2025 – 14/12/2026" in body[0]
    # the engine looks again and again: nothing more
    assert reminders.queue(conn, first, 7) == 0
    assert reminders.queue(conn, datetime(2026, 12, 10, tzinfo=UTC), 7) == 0
    assert len(outbox(conn)) == 4


def test_the_department_is_reminded_before_20_december(world: World) -> None:
    conn = world.conn
    assert reminders.queue(conn, datetime(2026, 12, 13, 1, tzinfo=UTC), 7) == 3
    compiled = [(n, a) for n, a, _ in outbox(conn) if a == "14.2"]
    assert compiled == [("so", "14.2")]  # the department's route; not bql's, pt's
    row = conn.execute(
        "SELECT recipients FROM report_reminders WHERE deadline = '14.2' AND year = 2026"
    ).fetchone()
    assert row == (1,)


def test_a_new_year_brings_new_reminders(world: World) -> None:
    conn = world.conn
    assert reminders.queue(conn, datetime(2026, 12, 8, 1, tzinfo=UTC), 7) == 2
    assert reminders.queue(conn, datetime(2027, 12, 8, 1, tzinfo=UTC), 7) == 2
    rows = conn.execute(
        "SELECT payload->'details'->>'deadline', count(*) FROM notification_outbox"
        " GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("2026-12-15", 4), ("2027-12-15", 4)]


def test_nobody_routed_is_still_marked_once(world: World) -> None:
    """With no route that matches, the reminder is marked (recipients 0) and
    the engine does not try again every pass."""
    conn = world.conn
    conn.execute("DELETE FROM notification_routes")
    assert reminders.queue(conn, datetime(2026, 12, 8, 1, tzinfo=UTC), 7) == 2
    assert reminders.queue(conn, datetime(2026, 12, 8, 2, tzinfo=UTC), 7) == 0
    rows = conn.execute("SELECT recipients FROM report_reminders").fetchall()
    assert rows == [(0,), (0,)]


def test_the_engine_queues_them_on_its_clock(world: World, db_url: str) -> None:
    clock = Clock(datetime(2026, 11, 30, 1, tzinfo=UTC))
    engine = Engine(db_url, EngineSettings(report_reminder_days=7), clock=clock)
    with psycopg.connect(db_url, autocommit=True) as conn:
        engine.evaluate(conn)
        assert outbox(conn) == []
        clock.set(datetime(2026, 12, 8, 1, tzinfo=UTC))
        engine.evaluate(conn)
        assert len(outbox(conn)) == 4
        engine.evaluate(conn)
        assert len(outbox(conn)) == 4
