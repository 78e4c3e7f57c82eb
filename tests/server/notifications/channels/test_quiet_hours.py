"""Per-person severities and quiet hours (Vietnam time): only critical
notices are delivered in quiet hours; the others wait for their end."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from fleet_server.localtime import LOCAL_TZ
from fleet_server.notifications import enqueue
from fleet_server.notifications.preferences import Preferences, quiet_end
from tests.server.notifications.channels.people import person
from tests.server.notifications.conftest import (
    Conn,
    Fleet,
    MakeWorker,
    SmtpSink,
    make_notice,
    outbox,
)
from tests.support.clock import Clock

NIGHT = datetime(2025, 5, 20, 16, 0, tzinfo=UTC)  # 23:00 in Lai Châu
MORNING = datetime(2025, 5, 20, 23, 0, tzinfo=UTC)  # 06:00 the next day


def prefs(start: str, end: str) -> Preferences:
    return Preferences(
        1, ("email",), frozenset({"critical"}), time.fromisoformat(start), time.fromisoformat(end)
    )


def local(hour: int, minute: int = 0, day: int = 20) -> datetime:
    return datetime(2025, 5, day, hour, minute, tzinfo=LOCAL_TZ)


def test_quiet_hours_across_midnight() -> None:
    night = prefs("22:00", "06:00")
    assert quiet_end(night, local(21, 59)) is None
    assert quiet_end(night, local(22, 0)) == local(6, day=21)
    assert quiet_end(night, local(23, 30)) == local(6, day=21)
    assert quiet_end(night, local(3, 0, day=21)) == local(6, day=21)
    assert quiet_end(night, local(6, 0, day=21)) is None


def test_quiet_hours_within_a_day() -> None:
    lunch = prefs("11:30", "13:30")
    assert quiet_end(lunch, local(11, 29)) is None
    assert quiet_end(lunch, local(12, 0)) == local(13, 30)
    assert quiet_end(lunch, local(13, 30)) is None
    assert quiet_end(lunch, NIGHT) is None


def test_only_critical_notices_come_in_quiet_hours(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    clock.set(NIGHT)
    person(db, fleet, chain=["email"], quiet=("22:00", "06:00"))
    [major] = enqueue(db, make_notice(fleet, clock(), severity="major", incident_id=1), now=clock())
    [critical] = enqueue(db, make_notice(fleet, clock(), incident_id=2), now=clock())
    worker = make_worker()
    worker.run_once()

    assert outbox(db, "id, state, available_at") == [
        (major, "pending", MORNING),
        (critical, "sent", NIGHT),
    ]
    clock.set(MORNING - timedelta(seconds=1))
    worker.run_once()
    assert len(smtp_server.messages) == 1
    clock.set(MORNING)
    worker.run_once()
    assert outbox(db, "id, state") == [(major, "sent"), (critical, "sent")]


def test_a_critical_notice_brings_its_incidents_held_ones_in_order(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    clock.set(NIGHT)
    person(db, fleet, chain=["email"], quiet=("22:00", "06:00"))
    opened = make_notice(fleet, clock(), severity="major", incident_id=7)
    [held] = enqueue(db, opened, now=clock())
    clock.advance(timedelta(minutes=5))
    worse = make_notice(
        fleet, clock(), kind="incident_escalated", escalation_level=1, incident_id=7
    )
    [escalated] = enqueue(db, worse, now=clock())
    make_worker().run_once()

    assert outbox(db, "id, state") == [(held, "sent"), (escalated, "sent")]
    [mail] = smtp_server.messages  # one message about the site, the held notice first
    ids = mail["X-Fleet-Outbox-Ids"]
    assert ids == f"{held},{escalated}"


def test_severities_the_person_does_not_want_are_not_queued(
    db: Conn, fleet: Fleet, clock: Clock
) -> None:
    person(db, fleet, chain=["email"], severities=["critical", "major"])
    assert enqueue(db, make_notice(fleet, clock(), severity="warning"), now=clock()) == []
    assert len(enqueue(db, make_notice(fleet, clock(), severity="major"), now=clock())) == 1


def test_security_notices_are_never_held_nor_filtered(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    """Điều 9.3: "… khi phát hiện có sự cố mất an toàn thông tin trên hệ thống
    thiết bị phải kịp thời báo cho Cơ quan quản lý, vận hành …" — a security
    notice reaches the person at night whatever its severity."""
    clock.set(NIGHT)
    person(db, fleet, chain=["email"], severities=["critical"], quiet=("22:00", "06:00"))
    notice = make_notice(
        fleet, clock(), severity="minor", incident_class="security",
        incident_kind="content_unapproved",
    )  # fmt: skip
    [row] = enqueue(db, notice, now=clock())
    make_worker().run_once()
    assert outbox(db, "id, state") == [(row, "sent")]
