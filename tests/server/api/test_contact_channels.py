"""Contacts reached by Telegram, SMS and Zalo through the API: addresses in
the gateways' form, routes only to channels the contact can be reached on."""

from __future__ import annotations

from typing import Any

import pytest


def new_contact(as_: Any, **body: Any) -> Any:
    return as_("admin").post("/api/v1/contacts", json={"name": "Tổ kỹ thuật Mường Tè", **body})


def route(as_: Any, contact_id: int, channel: str) -> Any:
    return as_("admin").post(
        "/api/v1/notification-routes", json={"contact_id": contact_id, "channel": channel}
    )


def test_a_contact_with_a_phone_and_a_telegram_chat(as_: Any, db_conn: Any) -> None:
    created = new_contact(as_, phone="+84 912 345 678", telegram_chat_id="-1001234567890")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["phone"] == "84912345678"
    assert body["telegram_chat_id"] == "-1001234567890"
    assert body["zalo_consent_at"] is None
    assert body["user_id"] is None
    assert route(as_, body["id"], "sms").status_code == 201
    assert route(as_, body["id"], "telegram").status_code == 201
    refused = route(as_, body["id"], "zalo")
    assert refused.status_code == 400
    assert "no phone number with the person's Zalo consent" in refused.json()["detail"]
    db_conn.execute("UPDATE contacts SET zalo_consent_at = now() WHERE id = %s", (body["id"],))
    assert route(as_, body["id"], "zalo").status_code == 201
    assert "no e-mail address" in route(as_, body["id"], "email").json()["detail"]


def test_a_contact_with_an_e_mail_only_cannot_be_routed_sms(as_: Any) -> None:
    body = new_contact(as_, email="to.kt@bql.laichau.gov.vn").json()
    assert "has no phone number" in route(as_, body["id"], "sms").json()["detail"]
    assert "has no Telegram chat id" in route(as_, body["id"], "telegram").json()["detail"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "a contact needs an email, a webhook_url, a phone or a telegram_chat_id"),
        ({"phone": "12345"}, "a Vietnamese number starts with 0, 84 or +84"),
        ({"phone": "0912-34"}, "10 digits"),
        ({"telegram_chat_id": "chat 1"}, "telegram_chat_id"),
    ],
)
def test_bad_addresses_name_the_problem(as_: Any, body: dict[str, Any], problem: str) -> None:
    answer = new_contact(as_, **body)
    assert answer.status_code == 422
    assert problem in answer.text


def test_clearing_the_last_address_is_refused(as_: Any) -> None:
    body = new_contact(as_, phone="0912345678").json()
    answer = as_("admin").patch(f"/api/v1/contacts/{body['id']}", json={"phone": None})
    assert answer.status_code == 400
    assert "a contact needs an email" in answer.json()["detail"]
    changed = as_("admin").patch(f"/api/v1/contacts/{body['id']}", json={"phone": "0987654321"})
    assert changed.json()["phone"] == "84987654321"
