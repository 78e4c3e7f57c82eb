"""Notices in the console: the incident's and the ticket's pages list each
notice — to whom, on which channel, when queued and sent, delivered or
failed and why — and the notices view (``/notices``) lists them all for
admins and operators, filtered by state and kind, in both languages. The
demo has no mail server: this is where its notices are read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.access.pagination import ListParams
from fleet_server.access.scope import Scope
from fleet_server.incidents.lifecycle import open_incident
from fleet_server.incidents.models import IncidentSpec
from fleet_server.notifications import storage_notices as notices
from fleet_server.notifications.schemas_notices import NoticeFilter
from fleet_server.notifications.worker import NotificationWorker
from tests.server.api.console.conftest import csrf_of
from tests.server.api.console.fleet_state import DAY_BOARD, open_ticket
from tests.server.notifications.conftest import (
    SmtpSink,
    add_contact,
    add_route,
    notification_settings,
)
from tests.support import seed
from tests.support.clock import Clock
from tests.support.ports import free_port

NewBrowser = Callable[..., TestClient]


def open_told_incident(conn: Any, board_id: str, rule: str, now: datetime) -> int:
    """An incident on a board opened as the engine opens one, people told
    (``lifecycle.open_incident``: its notices queued)."""
    site, organisation = conn.execute(
        "SELECT b.site_id, s.organisation_id FROM boards b JOIN sites s ON s.id = b.site_id"
        " WHERE b.id = %s",
        (board_id,),
    ).fetchone()
    spec = IncidentSpec(
        dedupe_key=f"board:{board_id}:{rule}",
        rule=rule,
        incident_class="technical",
        severity="major",
        title=f"{rule} on {board_id}",
        board_id=board_id,
        site_id=site,
        organisation_id=organisation,
    )
    with conn.transaction():
        incident, _ = open_incident(conn, spec, now, actor=f"engine:{rule}")
    return incident.id


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def routes(db_conn: Any) -> dict[str, int]:
    """The technicians' desk by e-mail, and a webhook that nothing answers."""
    desk = add_contact(db_conn, "Tổ kỹ thuật BQL", email="kythuat@example.vn")
    add_route(db_conn, desk, incident_class="technical")
    hook = add_contact(
        db_conn,
        "Máy chủ trực ban",
        webhook_url=f"http://127.0.0.1:{free_port()}/hook",
        webhook_secret="s" * 32,
    )
    add_route(db_conn, hook, channel="webhook", incident_class="technical")
    return {"desk": desk, "hook": hook}


def _deliver(api_db: str, smtp: SmtpSink, clock: Clock) -> None:
    worker = NotificationWorker(
        api_db, notification_settings(smtp.port), clock=clock, worker_id="console-test"
    )
    try:
        worker.run_once()
    finally:
        worker.close()


@pytest.fixture
def delivered(
    api_db: str, db_conn: Any, clock: Clock, smtp: SmtpSink, routes: dict[str, int]
) -> int:
    """An incident whose e-mail went out and whose webhook failed."""
    incident = open_told_incident(db_conn, DAY_BOARD, "display_dark", clock.now)
    _deliver(api_db, smtp, clock)
    return incident


def test_the_incident_page_shows_each_notice_and_its_outcome(
    new_browser: NewBrowser, delivered: int
) -> None:
    page = new_browser("operator").get(f"/incidents/{delivered}").text
    assert "Thông báo về sự cố này" in page
    assert "Tổ kỹ thuật BQL" in page
    assert "Máy chủ trực ban" in page
    assert "Thư điện tử" in page
    assert 'data-notice-state="sent"' in page
    assert "Đã gửi lúc" in page
    assert "Lỗi: " in page  # the webhook: refused, and why
    assert page.count('data-notice-kind="incident_opened"') == 2

    english = new_browser("operator").get(f"/incidents/{delivered}?lang=en").text
    assert "Notices about this incident" in english
    assert "E-mail" in english
    assert "Sent at" in english
    assert "Failed: " in english


def test_roles_without_notices_see_no_notices_section(
    new_browser: NewBrowser, delivered: int
) -> None:
    page = new_browser("technician").get(f"/incidents/{delivered}").text
    assert "Thông báo về sự cố này" not in page
    assert "data-notice-id" not in page


def test_the_ticket_page_shows_the_assignment_notice(
    new_browser: NewBrowser, db_conn: Any, clock: Clock, routes: dict[str, int]
) -> None:
    own = seed.own_contact(db_conn, "ky.thuat", "kythuat.ca-nhan@example.vn", name="Kỹ thuật An")
    ticket = open_ticket(db_conn, DAY_BOARD, clock.now, "Màn hình tối")
    operator = new_browser("operator")
    url = f"/tickets/{ticket}"
    token = csrf_of(operator.get(url).text)
    answer = operator.post(f"{url}/assign", data={"csrf_token": token, "assignee": "ky.thuat"})
    assert answer.status_code == 303
    page = operator.get(url).text
    assert "Thông báo về phiếu này" in page
    assert "Kỹ thuật An" in page  # the assignee, at their own contact
    assert "Giao phiếu bảo trì" in page
    assert "Đang chờ gửi" in page
    rows = db_conn.execute(
        "SELECT contact_id FROM notification_outbox WHERE ticket_id = %s AND kind ="
        " 'ticket_assigned'",
        (ticket,),
    ).fetchall()
    assert own in {r[0] for r in rows}
    # Assigning to the same person again tells nobody twice.
    token = csrf_of(operator.get(url).text)
    operator.post(f"{url}/assign", data={"csrf_token": token, "assignee": "ky.thuat"})
    again = db_conn.execute(
        "SELECT count(*) FROM notification_outbox WHERE ticket_id = %s", (ticket,)
    ).fetchone()
    assert again[0] == len(rows)


def test_the_notices_view_lists_and_filters(new_browser: NewBrowser, delivered: int) -> None:
    admin = new_browser("admin")
    page = admin.get("/notices").text
    assert "Thông báo đã gửi" in page
    assert 'href="/notices"' in page  # in the menu
    assert page.count("data-notice-id=") == 2
    sent = admin.get("/notices?state=sent").text
    assert sent.count("data-notice-id=") == 1
    assert 'data-notice-state="sent"' in sent
    pending = admin.get("/notices?state=pending&kind=incident_opened").text
    assert 'data-notice-state="pending"' in pending
    assert "Máy chủ trực ban" in pending
    none = admin.get("/notices?kind=ticket_overdue").text
    assert "Chưa có thông báo nào." in none
    english = admin.get("/notices?lang=en").text
    assert "Every notice the system sends people" in english
    assert "New incident" in english


@pytest.mark.parametrize(
    ("query", "named"),
    [("state=lost", "state"), ("kind=gossip", "kind")],
)
def test_an_unknown_filter_is_refused_by_name(
    new_browser: NewBrowser, query: str, named: str
) -> None:
    answer = new_browser("admin").get(f"/notices?{query}")
    assert answer.status_code == 400
    assert named in answer.text


@pytest.mark.parametrize(
    ("role", "home"), [("technician", "/tickets"), ("viewer", "/tickets"), ("guard", "/cameras")]
)
def test_the_notices_view_is_for_admins_and_operators(
    new_browser: NewBrowser, role: str, home: str
) -> None:
    browser = new_browser(role)
    assert browser.get("/notices").status_code == 403
    page = browser.get(home)
    assert page.status_code == 200
    assert 'href="/notices"' not in page.text


def test_an_operator_sees_the_notices_of_their_own_sites_only(
    new_browser: NewBrowser, delivered: int
) -> None:
    assert new_browser("operator").get("/notices").text.count("data-notice-id=") == 2
    other = new_browser("district").get("/notices")  # Phong Thổ's desk
    assert other.status_code == 200
    assert "data-notice-id=" not in other.text


def test_the_total_is_taken_from_the_state_counts_when_they_answer_it(
    db_conn: Any, delivered: int
) -> None:
    """The notices page reads the state counts anyway; its total comes from
    them (no second count) when the filter is by state alone, and is
    counted when the counts cannot tell (a kind, an incident)."""
    scope = Scope(province_wide=True)
    one = ListParams(limit=1, offset=0, sort=None)
    counts = notices.state_counts(db_conn, scope)
    assert sum(counts.values()) == 2
    for state in (None, "sent", "pending", "failed"):
        filters = NoticeFilter(state=state)
        counted = notices.notices_page(db_conn, scope, one, filters).total
        assert notices.notices_page(db_conn, scope, one, filters, counts).total == counted
    told = {"sent": 40, "pending": 2}  # not what is stored: shows which source answered
    assert notices.notices_page(db_conn, scope, one, NoticeFilter(), told).total == 42
    assert notices.notices_page(db_conn, scope, one, NoticeFilter(state="sent"), told).total == 40
    by_kind = NoticeFilter(kind="incident_opened")
    assert notices.notices_page(db_conn, scope, one, by_kind, told).total == 2
    of_incident = NoticeFilter(incident_id=delivered)
    assert notices.notices_page(db_conn, scope, one, of_incident, told).total == 2


def test_the_state_counts_match_a_count_of_the_rows_each_reader_sees(
    db_conn: Any, delivered: int
) -> None:
    """Counted in two parts (rows about a site, rows without one) from the
    (site_id, state) index: the same numbers as one count of the rows the
    list itself selects, for every kind of reader."""
    organisations = [r[0] for r in db_conn.execute("SELECT id FROM organisations ORDER BY id")]
    for n, organisation in enumerate([*organisations, None]):  # a report deadline, a supply
        db_conn.execute(
            """INSERT INTO notification_outbox (created_at, idempotency_key, kind, channel,
                   contact_id, language, subject, body_text, payload, available_at, state,
                   sent_at, next_attempt_at)
               SELECT created_at, idempotency_key || ':siteless' || %s, kind, channel,
                   contact_id, language, subject, body_text,
                   jsonb_build_object('organisation_id', %s::bigint), available_at,
                   x.state, CASE WHEN x.state = 'sent' THEN created_at END, next_attempt_at
               FROM notification_outbox,
                   (VALUES ((ARRAY['pending', 'sent', 'failed'])[1 + %s %% 3])) x (state)
               WHERE site_id IS NOT NULL""",
            (n, organisation, n),
        )
    sites = [r[0] for r in db_conn.execute("SELECT id FROM sites ORDER BY id LIMIT 2")]
    readers = [
        Scope(province_wide=True),
        *(Scope(organisation_id=o) for o in organisations),
        Scope(site_ids=tuple(sites)),
        Scope(site_ids=(-1,)),
    ]
    for scope in readers:
        clause, params = notices._scope(scope)
        expected = {
            str(state): int(n)
            for state, n in db_conn.execute(
                f"SELECT o.state, count(*) FROM notification_outbox o WHERE {clause}"
                " GROUP BY o.state",
                params,
            )
        }
        assert notices.state_counts(db_conn, scope) == expected, scope
    assert notices.state_counts(db_conn, Scope(province_wide=True))["sent"] >= 2
