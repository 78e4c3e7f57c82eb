"""Overdue supplying units and their notice, queued by the engine's periodic
round with its clock, once per unit and period (Điều 10.1.b, 10.1.c).

Điều 10.1.c: "Định kỳ vào ngày 20 hàng tháng chủ động cung cấp tối thiểu 01
nội dung là chương trình truyền hình, video clip, hình ảnh, tin bài có nội dung
quảng bá về Lai Châu đã được sản xuất, xuất bản, phát sóng trên các ấn phẩm
của Báo Lai Châu và Đài Phát thanh - Truyền hình tỉnh về Sở Thông tin và
Truyền thông để đăng phát trên các Cụm Thông tin điện tử công cộng."

Điều 10.1.b: "Định kỳ ngày 20 tháng cuối quý, các sở, ban, ngành, Ủy ban nhân
dân các huyện, thành phố và Bộ Chỉ huy Bộ đội biên phòng tỉnh có các sản phẩm
truyền thông hoàn thiện … gửi dữ liệu về Sở Thông tin và Truyền thông …"
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg
import pytest

from fleet_server.content.service_suppliers import overdue, queue_overdue_notices
from fleet_server.engine.service import Engine
from fleet_server.localtime import LOCAL_TZ
from tests.server.engine.conftest import Conn
from tests.support.clock import Clock

#: 21 December 2026, 08:00 in Vietnam: the 20th is over
AFTER_DUE = datetime(2026, 12, 21, 8, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def conn(seeded: str) -> Iterator[Conn]:
    with psycopg.connect(seeded, autocommit=True) as c:
        yield c


def supplier(conn: Conn, name: str, obligation: str, *, since: str = "2026-01-01") -> int:
    contact = conn.execute(
        "INSERT INTO contacts (name, email) VALUES (%s, %s) RETURNING id",
        (f"Văn thư {name}", f"{obligation}@example.invalid"),
    ).fetchone()
    assert contact is not None
    row = conn.execute(
        "INSERT INTO content_suppliers (name, obligation, contact_id, obligation_from)"
        " VALUES (%s, %s, %s, %s) RETURNING id",
        (name, obligation, contact[0], since),
    ).fetchone()
    assert row is not None
    return int(row[0])


def submitted(conn: Conn, supplier_id: int, at: datetime) -> None:
    conn.execute(
        "INSERT INTO content_submissions (title, kind, language, sha256, supplier_id, state,"
        " submitted_by, submitted_at, updated_at) VALUES ('Tin bài', 'propaganda', 'vi',"
        " %s, %s, 'submitted', 'bao.lc', %s, %s)",
        ("ab" * 32, supplier_id, at, at),
    )


def notices(conn: Conn) -> list[tuple[str, str]]:
    return [
        (str(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT payload->'details'->>'period', subject FROM notification_outbox"
            " WHERE kind = 'content_overdue' ORDER BY id"
        )
    ]


def test_the_overdue_list_judges_the_last_period_due(conn: Conn) -> None:
    paper = supplier(conn, "Báo Lai Châu", "monthly")
    guard = supplier(conn, "Bộ Chỉ huy Bộ đội Biên phòng tỉnh", "quarterly")
    supplier(conn, "Sở Văn hóa", "none")
    supplier(conn, "Huyện mới", "quarterly", since="2026-12-21")  # not yet bound
    # the newspaper sent one item in its period (21/11 – 20/12), on the due day
    submitted(conn, paper, datetime(2026, 12, 20, 23, 0, tzinfo=LOCAL_TZ))
    found = overdue(conn, AFTER_DUE)
    assert [(o.supplier_id, o.period, o.article, o.submitted) for o in found] == [
        (guard, "2026-Q4", "Điều 10.1.b", 0)
    ]
    assert found[0].due.isoformat() == "2026-12-20"
    # on the 20th itself nothing of this quarter is judged yet
    assert [o.period for o in overdue(conn, AFTER_DUE - timedelta(days=1))] == [
        "2026-11",
        "2026-Q3",
    ]


def test_an_item_sent_after_the_due_day_counts_for_the_next_period(conn: Conn) -> None:
    paper = supplier(conn, "Báo Lai Châu", "monthly")
    # 21 December 00:30 local is after the 20th: it is January's item
    submitted(conn, paper, datetime(2026, 12, 21, 0, 30, tzinfo=LOCAL_TZ))
    assert [o.period for o in overdue(conn, AFTER_DUE)] == ["2026-12"]
    assert overdue(conn, datetime(2027, 1, 21, 8, 0, tzinfo=LOCAL_TZ)) == []


def test_the_notice_is_queued_once_per_unit_and_period(conn: Conn) -> None:
    supplier(conn, "Báo Lai Châu", "monthly")
    assert queue_overdue_notices(conn, AFTER_DUE) == 1
    assert queue_overdue_notices(conn, AFTER_DUE + timedelta(hours=1)) == 0
    [(period, subject)] = notices(conn)
    assert period == "2026-12"
    assert "Báo Lai Châu" in subject
    assert queue_overdue_notices(conn, datetime(2027, 1, 21, 8, 0, tzinfo=LOCAL_TZ)) == 1
    assert [p for p, _ in notices(conn)] == ["2026-12", "2027-01"]


def test_the_engine_queues_it_with_its_clock(seeded: str, engine_conn: Conn, conn: Conn) -> None:
    supplier(conn, "Bộ Chỉ huy Bộ đội Biên phòng tỉnh", "quarterly")
    clock = Clock(AFTER_DUE - timedelta(days=1))
    engine = Engine(seeded, clock=clock)
    engine.evaluate(engine_conn)
    assert [p for p, _ in notices(conn)] == ["2026-Q3"]
    clock.set(AFTER_DUE)
    engine.evaluate(engine_conn)
    clock.advance(timedelta(hours=6))
    engine.evaluate(engine_conn)
    assert [p for p, _ in notices(conn)] == ["2026-Q3", "2026-Q4"]
