"""What people read when the engine tells them of an incident, through the
real engine, outbox, worker and an SMTP server: the site's and board's names,
the cause in words, the readings the boards last sent (UPS battery and
runtime, mobile signal, last contact), the time in Vietnam time and the link
to the incident's console page — in the contact's language."""

from __future__ import annotations

import pytest

import fleet_protocol as fp
from fleet_server.engine.service import Engine
from fleet_server.localtime import LOCAL_TZ
from tests.server.engine.conftest import Conn, Store, mail_to, notice_worker
from tests.server.notifications.conftest import SmtpSink, add_contact, add_route
from tests.support.clock import Clock

A, B = "lc-ma-lu-thang-01", "lc-ma-lu-thang-02"
C = "lc-sin-ho-01"
CONSOLE = "https://bangtin.example.vn"
WORKER = "notices"


@pytest.fixture
def desks(admin: Conn) -> None:
    """A Vietnamese and an English desk, both hearing every technical incident."""
    for name, email, language in (
        ("Tổ kỹ thuật", "kythuat@example.vn", "vi"),
        ("Adviser", "adviser@example.org", "en"),
    ):
        add_route(
            admin,
            add_contact(admin, name, email=email, language=language),
            incident_class="technical",
        )


def _site_goes_dark(store: Store, engine: Engine, conn: Conn, clock: Clock) -> None:
    """Both boards of Ma Lù Thàng report mains lost on UPS, then go silent."""
    for board in (A, B):
        store.state(board, "online")
        store.reading(
            board,
            fp.TelemetryKind.POWER,
            fp.PowerData(
                source="ups",
                mains_present=False,
                on_battery=True,
                battery_percent=45,
                runtime_s=195,
            ),
        )
        store.reading(
            board,
            fp.TelemetryKind.NETWORK,
            fp.NetworkData(link_up=True, rtt_ms=80, lte=fp.LteData(signal_percent=61)),
        )
    engine.evaluate(conn)
    for board in (A, B):
        store.state(board, "lost")
    engine.evaluate(conn)
    clock.advance(121)
    engine.evaluate(conn)


def test_a_site_outage_notice_says_where_why_what_and_links_its_page(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
    admin: Conn,
    desks: None,
    smtp: SmtpSink,
) -> None:
    engine = Engine(seeded, clock=clock)
    _site_goes_dark(store, engine, engine_conn, clock)
    with notice_worker(seeded, smtp, clock, worker_id=WORKER, console_base_url=CONSOLE) as worker:
        worker.run_once()
    [(incident_id, opened_at)] = admin.execute(
        "SELECT id, opened_at FROM incidents WHERE rule = 'site_outage'"
    ).fetchall()
    site, site_en = admin.execute(
        "SELECT name, name_en FROM sites WHERE code = 'ma-lu-thang'"
    ).fetchone() or ("", "")

    vi = mail_to(smtp, "kythuat@example.vn")
    subject, body = str(vi["Subject"]), vi.get_content()
    assert subject.startswith("[Khẩn cấp] Sự cố toàn điểm lắp đặt: Toàn điểm mất liên lạc")
    assert subject.endswith(f"— {site}")
    assert f"#{incident_id}" not in subject
    assert f"Điểm lắp đặt: {site}" in body
    assert "Nguyên nhân: Mất điện lưới tại điểm: 2 bảng mất liên lạc cùng lúc" in body
    assert f"- Các bảng: {A}, {B}" in body
    assert "- Pin UPS: 45 %" in body
    assert "- UPS còn chạy được: 3 phút 15 giây" in body
    assert "- Sóng di động: 61 %" in body
    assert "- Liên lạc lần cuối: " in body
    local = opened_at.astimezone(LOCAL_TZ)
    assert f"Thời điểm: {local:%H:%M ngày %d/%m/%Y} (giờ Việt Nam)" in body
    assert f"Xem trên hệ thống: {CONSOLE}/incidents/{incident_id}" in body

    en = mail_to(smtp, "adviser@example.org")
    subject, body = str(en["Subject"]), en.get_content()
    assert subject.startswith("[Critical] Site-wide incident: Whole site down")
    assert subject.endswith(f"— {site_en}")
    assert "Cause: Mains power lost at the site: 2 boards went silent together" in body
    assert f"Time: {local:%Y-%m-%d %H:%M} (UTC+7)" in body
    assert "- UPS runtime left: 3 min 15 s" in body
    assert f"Open in the console: {CONSOLE}/incidents/{incident_id}" in body


def test_without_the_console_base_url_no_link(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
    desks: None,
    smtp: SmtpSink,
) -> None:
    engine = Engine(seeded, clock=clock)
    _site_goes_dark(store, engine, engine_conn, clock)
    with notice_worker(seeded, smtp, clock, worker_id=WORKER) as worker:
        worker.run_once()
    body = mail_to(smtp, "kythuat@example.vn").get_content()
    assert "Nguyên nhân: Mất điện lưới tại điểm" in body
    assert "Xem trên hệ thống" not in body
    assert "http" not in body


def test_a_board_notice_names_the_board_once_with_its_name_and_site(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
    admin: Conn,
    desks: None,
    smtp: SmtpSink,
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state(C, "online")
    store.state(C, "lost")
    engine.evaluate(engine_conn)
    clock.advance(121)
    with notice_worker(seeded, smtp, clock, worker_id=WORKER, console_base_url=CONSOLE) as worker:
        worker.run_once()
    board_name, site = admin.execute(
        "SELECT b.name, s.name FROM boards b JOIN sites s ON s.id = b.site_id WHERE b.id = %s",
        (C,),
    ).fetchone() or ("", "")
    mail = mail_to(smtp, "kythuat@example.vn")
    subject, body = str(mail["Subject"]), mail.get_content()
    assert subject.count(C) == 1
    assert board_name in subject
    assert site in subject
    assert "#" not in subject
    assert "Nguyên nhân: Máy chủ mất kết nối với bảng" in body
    assert f"Bảng tin: {board_name} ({C})" in body
    assert "/incidents/" in body
