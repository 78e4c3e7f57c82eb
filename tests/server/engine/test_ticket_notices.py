"""Tickets' deadline notices, queued by the engine with its clock: due soon
(N hours before), overdue (once), and escalated to the escalation routes M
hours after — each once however often the engine looks, and none while a
maintenance window covers the ticket's site (planned work). Điều 11.1.a:
"… xây dựng phương án dự phòng khắc phục sự cố, bảo đảm an ninh thông tin tại
các Cụm Thông tin điện tử công cộng khu vực biên giới hoạt động ổn định, liên
tục." — a repair that is late is somebody's to hear about."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from fleet_server.engine.alerts import AlertSettings
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.tickets import storage as tickets
from fleet_server.tickets.notices import TicketNoticeSettings, queue_assigned
from tests.server.engine.conftest import Conn
from tests.server.notifications.conftest import add_contact, add_route
from tests.support import seed
from tests.support.clock import Clock

BOARD = "lc-ma-lu-thang-01"


@pytest.fixture
def people(admin: Conn) -> dict[str, int]:
    """The technician the ticket is given to (their own contact), the
    technicians' desk (every technical notice) and the director (escalations)."""
    seed.user(admin, "tech.an", "technician", organisation="bql-kkt")
    technician = seed.own_contact(admin, "tech.an", "an@example.vn")
    desk = add_contact(admin, "Tổ kỹ thuật", email="kythuat@example.vn")
    add_route(admin, desk, incident_class="technical")
    director = add_contact(admin, "Giám đốc", email="giamdoc@example.vn")
    add_route(admin, director, escalation_level=1)
    return {"technician": technician, "desk": desk, "director": director}


def _ticket(conn: Conn, now: datetime, priority: str = "normal") -> tuple[int, datetime]:
    site = seed.site_of_board(conn, BOARD)
    with conn.transaction():
        ticket, _ = tickets.create(
            conn,
            site_id=site,
            board_id=BOARD,
            kind="corrective",
            priority=priority,
            title="Thay UPS / Replace the UPS",
            actor="van.hanh",
            now=now,
        )
        tickets.assign(conn, ticket.id, "tech.an", actor="van.hanh", now=now)
    return ticket.id, ticket.due_at


def _rows(conn: Conn, ticket_id: int) -> list[tuple[str, int]]:
    return [
        (str(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT kind, contact_id FROM notification_outbox WHERE ticket_id = %s ORDER BY id",
            (ticket_id,),
        )
    ]


def test_due_soon_overdue_and_escalated_each_once(
    seeded: str, clock: Clock, engine_conn: Conn, admin: Conn, people: dict[str, int]
) -> None:
    engine = Engine(seeded, clock=clock)
    ticket_id, due = _ticket(admin, clock())
    assert due == clock() + timedelta(hours=72)  # a normal ticket's SLA
    engine.evaluate(engine_conn)
    assert _rows(admin, ticket_id) == []  # not due for three days

    clock.set(due - timedelta(hours=4) + timedelta(minutes=1))
    for _ in range(3):  # however often the engine looks
        engine.evaluate(engine_conn)
        clock.advance(20)
    tech, desk, director = people["technician"], people["desk"], people["director"]
    assert sorted(_rows(admin, ticket_id)) == sorted([("ticket_due", tech), ("ticket_due", desk)])

    clock.set(due + timedelta(minutes=1))
    for _ in range(3):
        engine.evaluate(engine_conn)
        clock.advance(20)
    overdue = [r for r in _rows(admin, ticket_id) if r[0] == "ticket_overdue"]
    assert sorted(overdue) == sorted([("ticket_overdue", tech), ("ticket_overdue", desk)])

    clock.set(due + timedelta(hours=24, minutes=1))
    for _ in range(3):
        engine.evaluate(engine_conn)
        clock.advance(20)
    escalated = [r for r in _rows(admin, ticket_id) if r[0] == "ticket_escalated"]
    # the escalation list hears of it, and so do the assignee and the desk
    assert sorted(c for _, c in escalated) == sorted([tech, desk, director])
    assert len(_rows(admin, ticket_id)) == 7
    marks = admin.execute(
        "SELECT stage FROM ticket_notices WHERE ticket_id = %s ORDER BY queued_at", (ticket_id,)
    ).fetchall()
    assert [m[0] for m in marks] == ["due", "overdue", "escalated"]


def test_the_notices_say_which_ticket_where_and_by_when(
    seeded: str, clock: Clock, engine_conn: Conn, admin: Conn, people: dict[str, int]
) -> None:
    engine = Engine(seeded, clock=clock)
    ticket_id, due = _ticket(admin, clock(), priority="urgent")
    clock.set(due + timedelta(minutes=5))
    engine.evaluate(engine_conn)
    site = admin.execute(
        "SELECT s.name FROM sites s JOIN boards b ON b.site_id = s.id WHERE b.id = %s", (BOARD,)
    ).fetchone()
    assert site is not None
    subject, body = admin.execute(
        "SELECT subject, body_text FROM notification_outbox"
        " WHERE ticket_id = %s AND kind = 'ticket_overdue' AND contact_id = %s",
        (ticket_id, people["technician"]),
    ).fetchone() or ("", "")
    assert subject.startswith("[Khẩn cấp] Phiếu bảo trì quá hạn: Thay UPS —")
    assert site[0] in subject
    assert subject.count(BOARD) == 1
    assert f"Mã phiếu: #{ticket_id}" in body
    assert "- Người được giao: tech.an" in body
    assert "- Độ ưu tiên: Khẩn" in body
    assert "- Quá hạn: 5 phút" in body
    assert "- Hạn xử lý: " in body


def test_no_deadline_notice_during_maintenance_but_after_it(
    seeded: str, clock: Clock, engine_conn: Conn, admin: Conn, people: dict[str, int]
) -> None:
    settings = EngineSettings(
        alerts=AlertSettings(
            tickets=TicketNoticeSettings(due_soon_s=2 * 3600, escalate_after_s=48 * 3600)
        )
    )
    engine = Engine(seeded, settings, clock=clock)
    ticket_id, due = _ticket(admin, clock())
    admin.execute(
        "INSERT INTO maintenance_windows (board_id, starts_at, ends_at, reason, created_by)"
        " VALUES (%s, %s, %s, 'thay UPS', 'van.hanh')",
        (BOARD, due - timedelta(hours=3), due + timedelta(hours=1)),
    )
    clock.set(due - timedelta(hours=1))  # due soon (2 h setting), inside the window
    engine.evaluate(engine_conn)
    clock.set(due + timedelta(minutes=30))  # overdue, still inside the window
    engine.evaluate(engine_conn)
    assert _rows(admin, ticket_id) == []
    clock.set(due + timedelta(hours=1, minutes=1))  # the window is over
    engine.evaluate(engine_conn)
    engine.evaluate(engine_conn)
    kinds = sorted({kind for kind, _ in _rows(admin, ticket_id)})
    assert kinds == ["ticket_overdue"]  # "due soon" has no point any more


def test_a_finished_ticket_hears_nothing(
    seeded: str, clock: Clock, engine_conn: Conn, admin: Conn, people: dict[str, int]
) -> None:
    engine = Engine(seeded, clock=clock)
    ticket_id, due = _ticket(admin, clock())
    for target in ("in_progress", "resolved"):
        tickets.transition(admin, ticket_id, target, actor="tech.an", now=clock())
    clock.set(due + timedelta(hours=30))
    engine.evaluate(engine_conn)
    assert _rows(admin, ticket_id) == []


def test_assigned_is_queued_once_for_the_assignee_and_the_routes(
    seeded: str, clock: Clock, admin: Conn, people: dict[str, int]
) -> None:
    ticket_id, _ = _ticket(admin, clock())
    with admin.transaction():
        first = queue_assigned(admin, ticket_id, clock())
        again = queue_assigned(admin, ticket_id, clock())
    assert len(first) == 2
    assert again == []  # the same assignment: the same idempotency keys
    assert sorted(_rows(admin, ticket_id)) == sorted(
        [("ticket_assigned", people["technician"]), ("ticket_assigned", people["desk"])]
    )
    body = admin.execute(
        "SELECT body_text FROM notification_outbox WHERE contact_id = %s",
        (people["technician"],),
    ).fetchone()
    assert body is not None
    assert "Phiếu bảo trì được giao: Thay UPS" in body[0]


def test_an_urgent_ticket_is_due_soon_halfway_not_when_it_opens(
    seeded: str, clock: Clock, engine_conn: Conn, admin: Conn, people: dict[str, int]
) -> None:
    """Four hours to fix it (urgent) and a four-hour warning would say "due
    soon" the moment it opens: it says so halfway instead."""
    engine = Engine(seeded, clock=clock)
    ticket_id, due = _ticket(admin, clock(), priority="urgent")
    assert due == clock() + timedelta(hours=4)
    engine.evaluate(engine_conn)
    clock.set(due - timedelta(hours=2, minutes=1))
    engine.evaluate(engine_conn)
    assert _rows(admin, ticket_id) == []
    clock.set(due - timedelta(hours=1, minutes=59))
    engine.evaluate(engine_conn)
    assert {kind for kind, _ in _rows(admin, ticket_id)} == {"ticket_due"}
