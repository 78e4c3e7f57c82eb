"""E-mail through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest

from fleet_server.notifications import enqueue
from tests.server.notifications.conftest import (
    START,
    Conn,
    Fleet,
    MakeWorker,
    SmtpSink,
    TlsFiles,
    add_contact,
    add_route,
    deliveries,
    make_notice,
    outbox,
)
from tests.support.clock import Clock


def header(raw: bytes, name: str) -> str:
    """A header decoded strictly by RFC 2047 (the modern parser inserts a space
    between adjacent encoded words of a display name; mail clients do not)."""
    value = message_from_bytes(raw)[name]  # compat32: the header as sent
    return str(make_header(decode_header(value)))


def test_vietnamese_and_english_mail_is_delivered(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker
) -> None:
    an = add_contact(db, "Nguyễn Văn An", email="an@bql.laichau.gov.vn")
    lee = add_contact(db, "Lee Expert", email="lee@vendor.example", language="en")
    for contact in (an, lee):
        add_route(db, contact, organisation_id=fleet.bql_kkt)
    ids = enqueue(db, make_notice(fleet, START), now=START)

    worker = make_worker()
    result = worker.run_once()

    assert result.messages_sent == 2
    by_recipient = {str(m["To"]): m for m in smtp_server.messages}
    vi = by_recipient["Nguyễn Văn An <an@bql.laichau.gov.vn>"]
    assert vi["Subject"] == (
        "[Khẩn cấp] Sự cố mới: Mất điện lưới, bảng tin chạy bằng UPS"
        " — Bảng tin cổng A (lc-mlt-01), Cửa khẩu quốc tế Ma Lù Thàng"
    )
    assert header(smtp_server.raw[0], "From") == (
        "Hệ thống bảng tin điện tử Lai Châu <canh-bao@bangtin.laichau.gov.vn>"
    )
    assert vi["Content-Language"] == "vi"
    assert vi["Auto-Submitted"] == "auto-generated"
    vi_body = vi.get_content()
    assert "Mức độ: Khẩn cấp" in vi_body
    assert "Bảng tin mất điện lưới, pin UPS còn 80%." in vi_body
    en = by_recipient["Lee Expert <lee@vendor.example>"]
    assert en["Subject"] == (
        "[Critical] New incident: Mains lost, board on UPS"
        " — Bảng tin cổng A (lc-mlt-01), Ma Lu Thang International Border Gate"
    )
    assert "The board lost mains power; UPS at 80%." in en.get_content()
    assert all(raw.isascii() for raw in smtp_server.raw)  # 7-bit safe on any relay

    rows = outbox(db, "id, state, attempts, message_id")
    assert [(r[1], r[2]) for r in rows] == [("sent", 1), ("sent", 1)]
    message_ids = {str(m["Message-ID"]) for m in smtp_server.messages}
    assert message_ids == {f"<{r[3]}>" for r in rows}
    for outbox_id in ids:
        assert deliveries(db, outbox_id) == [(True, None)]
    assert worker.run_once().rows_claimed == 0
    assert len(smtp_server.messages) == 2


def test_smtp_down_is_retried_and_delivered_exactly_once(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    contact = add_contact(db, "Nguyễn Văn An", email="an@bql.laichau.gov.vn")
    add_route(db, contact, organisation_id=fleet.bql_kkt)
    [outbox_id] = enqueue(db, make_notice(fleet, START), now=clock())
    worker = make_worker(retry_base_s=10.0, retry_cap_s=60.0)

    smtp_server.stop()
    assert worker.run_once().messages_failed == 1
    state, attempts, next_attempt = db.execute(
        "SELECT state, attempts, next_attempt_at FROM notification_outbox"
    ).fetchone() or (None, None, None)
    assert (state, attempts) == ("pending", 1)
    # First retry: full jitter up to the base (10 s), never sooner than 1 s.
    assert clock() + timedelta(seconds=1) <= next_attempt <= clock() + timedelta(seconds=10)
    assert worker.run_once().rows_claimed == 0  # not due before its backoff

    clock.advance(61)  # past the cap: due whatever the jitter drew
    assert worker.run_once().messages_failed == 1
    assert smtp_server.messages == []

    smtp_server.start()
    clock.advance(61)
    assert worker.run_once().messages_sent == 1
    clock.advance(3600)
    assert worker.run_once().rows_claimed == 0

    assert len(smtp_server.messages) == 1
    assert outbox(db) == [(outbox_id, "sent", 3)]
    attempts_log = deliveries(db, outbox_id)
    assert [ok for ok, _ in attempts_log] == [False, False, True]
    assert all("cannot connect" in (error or "") for _, error in attempts_log[:2])
    assert worker.counters.attempts_failed == 2
    assert worker.counters.rows_sent == 1
    # The retry carried the Message-ID every attempt was made with.
    recorded = {
        r[0]
        for r in db.execute(
            "SELECT message_id FROM notification_deliveries WHERE outbox_id = %s", (outbox_id,)
        )
    }
    assert recorded == {str(smtp_server.messages[0]["Message-ID"]).strip("<>")}


def test_a_message_the_server_does_not_accept_is_not_marked_sent(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    contact = add_contact(db, "Nguyễn Văn An", email="an@bql.laichau.gov.vn")
    add_route(db, contact, organisation_id=fleet.bql_kkt)
    [outbox_id] = enqueue(db, make_notice(fleet, START), now=clock())
    smtp_server.fail_next = 1  # "451 try again later" to the end of DATA
    worker = make_worker()

    assert worker.run_once().messages_failed == 1
    assert outbox(db, "state, attempts") == [("pending", 1)]
    [(ok, error)] = deliveries(db, outbox_id)
    assert not ok
    assert error is not None
    assert error.startswith("SMTP 451")
    clock.advance(61)
    assert worker.run_once().messages_sent == 1
    assert len(smtp_server.messages) == 1


def test_refused_recipient_fails_at_once(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker
) -> None:
    gone = add_contact(db, "Đã nghỉ việc", email="gone@bql.laichau.gov.vn")
    here = add_contact(db, "Còn làm", email="here@bql.laichau.gov.vn")
    for contact in (gone, here):
        add_route(db, contact)
    smtp_server.refuse.add("gone@bql.laichau.gov.vn")
    enqueue(db, make_notice(fleet, START), now=START)

    result = make_worker().run_once()

    assert (result.messages_sent, result.messages_failed) == (1, 1)
    rows = outbox(db, "contact_id, state, last_error")
    assert rows[0][:2] == (gone, "failed")
    assert "550" in rows[0][2]
    assert rows[1] == (here, "sent", None)
    assert smtp_server.envelopes == [
        ("canh-bao@bangtin.laichau.gov.vn", ["here@bql.laichau.gov.vn"])
    ]


@pytest.fixture(params=[("right-password", True), ("wrong", False)], ids=["right", "wrong"])
def login(request: pytest.FixtureRequest) -> tuple[str, bool]:
    """A password the worker uses, and whether the server accepts it."""
    password, accepted = request.param
    return str(password), bool(accepted)


@pytest.fixture
def smtp_with_auth() -> Iterator[SmtpSink]:
    sink = SmtpSink(credentials=("fleet", "right-password"))
    sink.start()
    yield sink
    sink.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login(
    db: Conn,
    fleet: Fleet,
    make_worker: MakeWorker,
    smtp_with_auth: SmtpSink,
    login: tuple[str, bool],
) -> None:
    password, delivered = login
    contact = add_contact(db, "An", email="an@bql.laichau.gov.vn")
    add_route(db, contact)
    [outbox_id] = enqueue(db, make_notice(fleet, START), now=START)
    smtp = {"port": smtp_with_auth.port, "username": "fleet", "password": password}
    make_worker(smtp=smtp).run_once()
    assert len(smtp_with_auth.messages) == (1 if delivered else 0)
    [(ok, error)] = deliveries(db, outbox_id)
    assert ok is delivered
    if not delivered:
        assert error is not None
        assert error.startswith("SMTP 535")
        assert outbox(db, "state") == [("pending",)]  # retried: the password may be fixed


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_a_private_ca(
    db: Conn, fleet: Fleet, make_worker: MakeWorker, tls_files: TlsFiles, security: str
) -> None:
    sink = SmtpSink(tls=tls_files.server_context(), implicit_tls=security == "ssl")
    sink.start()
    try:
        contact = add_contact(db, "An", email="an@bql.laichau.gov.vn")
        add_route(db, contact)
        enqueue(db, make_notice(fleet, START), now=START)
        smtp = {"port": sink.port, "security": security, "ca_file": str(tls_files.cert)}
        assert make_worker(smtp=smtp).run_once().messages_sent == 1
        untrusted = {"port": sink.port, "security": security}  # system CAs only
        enqueue(db, make_notice(fleet, START, incident_id=2), now=START)
        assert make_worker(smtp=untrusted).run_once().messages_failed == 1
    finally:
        sink.stop()
    assert len(sink.messages) == 1
    error = outbox(db, "last_error")[1][0]
    assert "CERTIFICATE_VERIFY_FAILED" in error
