"""The outbox: enqueue in the caller's transaction, routes from the database,
idempotency, holds, cancellation."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from fleet_server.notifications import Text, cancel_for_incident, enqueue, release_held
from tests.server.notifications.conftest import (
    START,
    Conn,
    Fleet,
    add_contact,
    add_route,
    make_notice,
    outbox,
)


@pytest.fixture
def technician(db: Conn, fleet: Fleet) -> int:
    contact = add_contact(db, "Nguyễn Văn An", email="an@bql.laichau.gov.vn")
    add_route(db, contact, organisation_id=fleet.bql_kkt)
    return contact


def test_enqueue_resolves_routes_from_the_database(db: Conn, fleet: Fleet) -> None:
    department = add_contact(
        db, "Trực ban Sở TT&TT", email="truc-ban@stttt.laichau.gov.vn", kind="duty_desk"
    )
    guard = add_contact(
        db,
        "Trực ban Biên phòng",
        webhook_url="https://bdbp.example/hook",
        webhook_secret="s" * 32,
        organisation_id=fleet.bdbp,
        kind="duty_desk",
    )
    engineer = add_contact(db, "Kỹ thuật viên", email="kt@bql.laichau.gov.vn", language="en")
    add_route(db, department, incident_class="security")
    add_route(
        db, guard, channel="webhook", organisation_id=fleet.bql_kkt, incident_kinds=["camera*"]
    )
    add_route(db, engineer, site_id=fleet.ma_lu_thang, min_severity="major")
    add_route(db, engineer, site_id=fleet.ma_lu_thang, escalation_level=1)  # duplicate contact

    camera = make_notice(fleet, START, incident_kind="camera_unreachable", severity="minor")
    ids = enqueue(db, camera, now=START)
    assert len(ids) == 1
    assert outbox(db, "contact_id, channel, language, group_key, state") == [
        (guard, "webhook", "vi", f"site:{fleet.ma_lu_thang}", "pending")
    ]

    security = make_notice(
        fleet, START, incident_id=43, incident_class="security", incident_kind="tampering"
    )
    ids = enqueue(db, security, now=START)
    rows = db.execute(
        "SELECT contact_id, language, group_key, subject FROM notification_outbox"
        " WHERE id = ANY(%s) ORDER BY contact_id",
        (ids,),
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(department, "vi", None), (engineer, "en", None)]
    assert rows[0][3].startswith("[Khẩn cấp] Sự cố mới:")
    assert rows[1][3].startswith("[Critical] New incident:")


def test_enqueue_is_part_of_the_callers_transaction(
    db_url: str, db: Conn, fleet: Fleet, technician: int
) -> None:
    with psycopg.connect(db_url) as conn:  # not autocommit: the engine's style
        ids = enqueue(conn, make_notice(fleet, START), now=START)
        assert len(ids) == 1
        conn.execute("UPDATE sites SET name = name || ' (sửa)' WHERE id = %s", (fleet.sin_ho,))
        conn.rollback()
    assert outbox(db) == []

    def change_incident_and_fail() -> None:
        with db.transaction():
            enqueue(db, make_notice(fleet, START), now=START)
            raise RuntimeError("incident change failed")

    with pytest.raises(RuntimeError, match="incident change failed"):
        change_incident_and_fail()
    assert outbox(db) == []

    with psycopg.connect(db_url) as conn:
        ids = enqueue(conn, make_notice(fleet, START), now=START)
        conn.commit()
    assert outbox(db) == [(ids[0], "pending", 0)]


def test_the_same_event_is_queued_once(db: Conn, fleet: Fleet, technician: int) -> None:
    notice = make_notice(fleet, START)
    assert len(enqueue(db, notice, now=START)) == 1
    assert enqueue(db, notice, now=START + timedelta(seconds=5)) == []
    reminder = make_notice(fleet, START, kind="incident_reminder", dedup_key="incident:42:r1")
    assert len(enqueue(db, reminder, now=START)) == 1
    assert enqueue(db, reminder, now=START) == []
    assert len(outbox(db)) == 2


def test_direct_contacts_get_every_channel_they_have(db: Conn, fleet: Fleet) -> None:
    both = add_contact(
        db,
        "Trần Thị Bình",
        email="binh@example.org",
        webhook_url="http://127.0.0.1:9/hook",
        webhook_secret="k" * 20,
    )
    ticket = make_notice(
        fleet,
        START,
        kind="ticket_assigned",
        severity="minor",
        ticket_id=7,
        title=Text("Thay bộ nguồn bảng tin", "Replace the board's power supply"),
        contact_ids=(both,),
    )
    enqueue(db, ticket, now=START)
    assert outbox(db, "contact_id, channel, kind") == [
        (both, "email", "ticket_assigned"),
        (both, "webhook", "ticket_assigned"),
    ]


def test_no_route_queues_nothing(db: Conn, fleet: Fleet, technician: int) -> None:
    district = make_notice(fleet, START, organisation_id=fleet.ubnd_sin_ho, site_id=fleet.sin_ho)
    assert enqueue(db, district, now=START) == []


def test_hold_release_and_cancel(db: Conn, fleet: Fleet, technician: int) -> None:
    until = START + timedelta(hours=2)
    held = enqueue(db, make_notice(fleet, START), hold_until=until, now=START)
    other = enqueue(db, make_notice(fleet, START, incident_id=50), hold_until=until, now=START)
    assert outbox(db, "available_at, next_attempt_at")[0] == (until, until)

    assert release_held(db, now=START + timedelta(minutes=5), incident_id=50) == 1
    assert db.execute(
        "SELECT available_at FROM notification_outbox WHERE id = %s", (other[0],)
    ).fetchone() == (START + timedelta(minutes=5),)

    assert cancel_for_incident(db, 42, kinds=["incident_reminder"]) == 0
    assert cancel_for_incident(db, 42, reason="resolved during maintenance") == 1
    assert db.execute(
        "SELECT state, last_error FROM notification_outbox WHERE id = %s", (held[0],)
    ).fetchone() == ("cancelled", "resolved during maintenance")
