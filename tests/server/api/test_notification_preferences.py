"""``/api/v1/me/notification-preferences``: each person's channels (their
fallback chain), severities and quiet hours; and the SMS gateway's delivery
reports (``/api/v1/notifications/sms/delivery-reports``, shared secret)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from pydantic import SecretStr

from fleet_server.api.app import create_app
from fleet_server.notifications import Notice, Text, enqueue
from tests.server.api.conftest import ACCOUNTS, Conn, api_settings, audit_actions
from tests.support.clock import Clock

URL = "/api/v1/me/notification-preferences"
REPORTS = "/api/v1/notifications/sms/delivery-reports"
SECRET = "gateway-callback-secret-0123"
GOOD = {
    "channels": ["zalo", "sms", "email"],
    "severities": ["critical", "major"],
    "quiet_hours": {"start": "22:00", "end": "06:00"},
    "phone": "0912 345 678",
    "zalo_consent": True,
}


def set_email(conn: Conn, key: str, email: str) -> None:
    conn.execute("UPDATE users SET email = %s WHERE username = %s", (email, ACCOUNTS[key].username))


def test_nothing_saved_yet_reads_as_the_routes_give(as_: Any) -> None:
    answer = as_("technician").get(URL)
    assert answer.status_code == 200
    assert answer.json() == {
        "contact_id": None,
        "channels": ["email"],
        "severities": ["critical", "major", "minor", "warning"],
        "quiet_hours": None,
        "timezone": "Asia/Ho_Chi_Minh",
        "email": None,
        "phone": None,
        "telegram_chat_id": None,
        "zalo_consent": False,
        "zalo_consent_at": None,
        "updated_at": None,
    }


def test_a_person_sets_their_chain_and_a_contact_is_made_for_them(
    as_: Any, db_conn: Conn, clock: Clock
) -> None:
    set_email(db_conn, "technician", "ky.thuat@bql.laichau.gov.vn")
    saved = as_("technician").put(URL, json=GOOD)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["channels"] == ["zalo", "sms", "email"]
    assert body["severities"] == ["critical", "major"]
    assert body["quiet_hours"] == {"start": "22:00:00", "end": "06:00:00"}
    assert body["phone"] == "84912345678"
    assert body["zalo_consent"] is True
    assert body["email"] == "ky.thuat@bql.laichau.gov.vn"
    contact = db_conn.execute(
        "SELECT c.name, c.user_id = u.id, c.organisation_id = u.organisation_id"
        " FROM contacts c, users u WHERE c.id = %s AND u.username = 'ky.thuat'",
        (body["contact_id"],),
    ).fetchone()
    assert contact == ("Người dùng ky.thuat", True, True)
    assert as_("technician").get(URL).json() == body
    assert ("ky.thuat", "notification_preferences.update") in audit_actions(db_conn)

    again = as_("technician").put(URL, json={**GOOD, "channels": ["sms"], "quiet_hours": None})
    assert again.json()["contact_id"] == body["contact_id"]
    assert again.json()["zalo_consent_at"] == body["zalo_consent_at"]  # same number, kept
    clock.advance(timedelta(minutes=1))
    other_number = as_("technician").put(URL, json={**GOOD, "phone": "0987654321"})
    assert other_number.json()["zalo_consent_at"] != body["zalo_consent_at"]  # consent per number


def test_consent_is_withdrawn_by_unticking(as_: Any) -> None:
    as_("operator").put(URL, json={**GOOD, "channels": ["zalo"]})
    answer = as_("operator").put(URL, json={**GOOD, "channels": ["sms"], "zalo_consent": False})
    assert answer.json()["zalo_consent"] is False
    assert answer.json()["zalo_consent_at"] is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"severities": ["major"]}, "critical notices are always delivered"),
        ({"channels": []}, "at least 1"),
        ({"channels": ["sms", "sms"]}, "each value once"),
        ({"channels": ["fax"]}, "channels"),
        ({"severities": ["critical", "loud"]}, "severities"),
        ({"phone": "12345"}, "a Vietnamese number starts with 0, 84 or +84"),
        ({"phone": "0912abc678"}, "digits only"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "start and end must differ"),
        ({"quiet_hours": {"start": "25:00", "end": "06:00"}}, "quiet_hours"),
        ({"telegram_chat_id": "not a chat"}, "telegram_chat_id"),
    ],
)
def test_bad_preferences_are_refused_naming_the_problem(
    as_: Any, change: dict[str, Any], problem: str
) -> None:
    answer = as_("technician").put(URL, json={**GOOD, **change})
    assert answer.status_code == 422, answer.text
    assert problem in answer.text


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"channels": ["email"]}, "e-mail needs an e-mail address on your account"),
        ({"channels": ["sms"], "phone": None}, "sms needs your phone number"),
        ({"channels": ["zalo"], "zalo_consent": False}, "zalo needs your consent"),
        ({"channels": ["telegram"]}, "telegram needs your Telegram chat id"),
    ],
)
def test_a_channel_that_cannot_reach_the_person_is_refused(
    as_: Any, db_conn: Conn, change: dict[str, Any], problem: str
) -> None:
    answer = as_("viewer").put(URL, json={**GOOD, **change})
    assert answer.status_code == 400, answer.text
    assert problem in answer.json()["detail"]
    assert answer.json()["errors"][0]["field"] == "channels"
    assert db_conn.execute("SELECT count(*) FROM notification_preferences").fetchone() == (0,)


def test_nobody_signed_in_gets_nothing(client: TestClient) -> None:
    assert client.get(URL).status_code == 401
    assert client.put(URL, json=GOOD).status_code == 401


# -- the SMS gateway's delivery reports ------------------------------------------------


@pytest.fixture
def gateway_app(api_db: str, clock: Clock) -> Iterator[TestClient]:
    settings = api_settings(api_db).model_copy(update={"sms_callback_secret": SecretStr(SECRET)})
    with (
        ConnectionPool(api_db, min_size=1, max_size=2, open=True) as pool,
        TestClient(create_app(settings, clock=clock, pool=pool, broker_check=lambda: None)) as c,
    ):
        yield c


def confirming_sms(conn: Conn, now: datetime) -> int:
    """A notice an SMS gateway accepted, waiting for its report."""
    contact = conn.execute(
        "INSERT INTO contacts (name, phone, email) VALUES ('Lò Văn Cường', '84912000111',"
        " 'cuong@bql.laichau.gov.vn') RETURNING id"
    ).fetchone()
    assert contact is not None
    conn.execute(
        "INSERT INTO notification_preferences (contact_id, channels, severities, updated_at)"
        " VALUES (%s, '{sms,email}', '{critical,major,minor,warning}', now())",
        (contact[0],),
    )
    notice = Notice(
        kind="incident_opened", severity="critical", title=Text("Mất điện lưới"),
        occurred_at=now, incident_id=5, contact_ids=(contact[0],),
    )  # fmt: skip
    [row] = enqueue(conn, notice, now=now)
    conn.execute(
        "UPDATE notification_outbox SET state = 'confirming', confirm_by = %s,"
        " message_id = 'fleet.9.abc@bangtin.laichau.gov.vn', provider_message_id = 'gw-9'"
        " WHERE id = %s",
        (now + timedelta(minutes=5), row),
    )
    return row


def test_a_delivery_report_with_the_secret_settles_the_notice(
    gateway_app: TestClient, db_conn: Conn, clock: Clock
) -> None:
    row = confirming_sms(db_conn, clock())
    report = {"request_id": "fleet.9.abc", "status": "delivered"}
    answer = gateway_app.post(REPORTS, json=report, headers={"X-Fleet-Callback-Secret": SECRET})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"matched": 1}
    state = db_conn.execute("SELECT state FROM notification_outbox WHERE id = %s", (row,))
    assert state.fetchone() == ("sent",)
    repeated = gateway_app.post(REPORTS, json=report, headers={"X-Fleet-Callback-Secret": SECRET})
    assert repeated.json() == {"matched": 0}


def test_a_failed_report_hands_the_notice_to_the_next_channel(
    gateway_app: TestClient, db_conn: Conn, clock: Clock
) -> None:
    row = confirming_sms(db_conn, clock())
    answer = gateway_app.post(
        REPORTS,
        json={"message_id": "gw-9", "status": "expired"},
        headers={"X-Fleet-Callback-Secret": SECRET},
    )
    assert answer.json() == {"matched": 1}
    state = db_conn.execute(
        "SELECT state, channel, tried FROM notification_outbox WHERE id = %s", (row,)
    ).fetchone()
    assert state == ("pending", "email", ["sms"])


@pytest.mark.parametrize(
    "headers", [{}, {"X-Fleet-Callback-Secret": "wrong"}, {"X-Fleet-Callback-Secret": SECRET[:-1]}]
)
def test_a_report_without_the_secret_is_refused(
    gateway_app: TestClient, db_conn: Conn, clock: Clock, headers: dict[str, str]
) -> None:
    row = confirming_sms(db_conn, clock())
    answer = gateway_app.post(
        REPORTS, json={"request_id": "fleet.9.abc", "status": "delivered"}, headers=headers
    )
    assert answer.status_code == 403
    assert "callback secret" in answer.json()["detail"]
    state = db_conn.execute("SELECT state FROM notification_outbox WHERE id = %s", (row,))
    assert state.fetchone() == ("confirming",)


def test_reports_are_off_without_a_configured_secret(client: TestClient) -> None:
    answer = client.post(
        REPORTS,
        json={"request_id": "x", "status": "delivered"},
        headers={"X-Fleet-Callback-Secret": "x"},
    )
    assert answer.status_code == 403
    assert "FLEET_SMS_CALLBACK_SECRET" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("report", "problem"),
    [
        ({"status": "delivered"}, "names request_id or message_id"),
        ({"request_id": "x", "status": "lost"}, "status"),
        ({"request_id": "x" * 51, "status": "delivered"}, "request_id"),
    ],
)
def test_malformed_reports_name_the_problem(
    gateway_app: TestClient, report: dict[str, str], problem: str
) -> None:
    answer = gateway_app.post(REPORTS, json=report, headers={"X-Fleet-Callback-Secret": SECRET})
    assert answer.status_code == 422
    assert problem in answer.text
