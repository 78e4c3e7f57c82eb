"""A person with addresses on every channel and their preferences, in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import SecretStr

from fleet_server.notifications.channels.settings import SmsSettings, TelegramSettings, ZaloSettings
from tests.server.notifications.conftest import Conn, Fleet, add_contact, add_route

KEYS = {
    "telegram": "123456:AAE-chain-bot-token",
    "sms": "sms-gateway-key-chain-0123",
    "zalo": "zalo-token-chain-abcdef",
}


def person(
    db: Conn,
    fleet: Fleet,
    *,
    chain: list[str],
    severities: list[str] | None = None,
    quiet: tuple[str, str] | None = None,
    consent_at: datetime | None = None,
) -> int:
    """Trần Thị Bình of the Economic Zone Board, reached by an e-mail route,
    with a phone, a Telegram chat and the given chain."""
    contact = add_contact(db, "Trần Thị Bình", email="binh@bql.laichau.gov.vn")
    db.execute(
        "UPDATE contacts SET phone = '84987654321', telegram_chat_id = '777',"
        " zalo_consent_at = %s WHERE id = %s",
        (consent_at, contact),
    )
    add_route(db, contact, organisation_id=fleet.bql_kkt)
    db.execute(
        "INSERT INTO notification_preferences"
        " (contact_id, channels, severities, quiet_from, quiet_until, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, now())",
        (
            contact,
            chain,
            severities or ["critical", "major", "minor", "warning"],
            quiet[0] if quiet else None,
            quiet[1] if quiet else None,
        ),
    )
    return contact


def channel_settings(
    telegram: str | None = None, sms: str | None = None, zalo: str | None = None
) -> dict[str, Any]:
    """Worker settings for the channels whose local servers are given."""
    found: dict[str, Any] = {}
    if telegram:
        found["telegram"] = TelegramSettings(
            SecretStr(KEYS["telegram"]), api_base=telegram, timeout_s=5.0
        )
    if sms:
        found["sms"] = SmsSettings(
            sms, SecretStr(KEYS["sms"]), callback_secret=SecretStr("c" * 20), timeout_s=5.0
        )
    if zalo:
        found["zalo"] = ZaloSettings(
            SecretStr(KEYS["zalo"]), "224466", api_base=zalo, timeout_s=5.0
        )
    return found


def attempts(db: Conn, outbox_id: int) -> list[tuple[str, bool, str | None]]:
    """(channel, ok, error) of every attempt at a row, in order."""
    rows = db.execute(
        "SELECT channel, ok, error FROM notification_deliveries WHERE outbox_id = %s ORDER BY id",
        (outbox_id,),
    ).fetchall()
    return [(channel, bool(ok), error) for channel, ok, error in rows]
