"""Tokens and keys live in settings only (SecretStr): never in the outbox,
the delivery records, dead letters, logs or error messages, even when a
provider echoes them back or the network error names the URL."""

from __future__ import annotations

import logging

import pytest

from fleet_server.errors import ConfigError
from fleet_server.notifications import enqueue
from fleet_server.settings import Settings
from tests.server.notifications.channels.conftest import Provider, Reply
from tests.server.notifications.channels.people import KEYS, channel_settings, person
from tests.server.notifications.conftest import Conn, Fleet, MakeWorker, make_notice
from tests.support.clock import Clock
from tests.support.ports import free_port


def everything_stored(db: Conn) -> str:
    """Every text the database keeps about notices and refused messages."""
    rows = db.execute(
        """SELECT o::text FROM notification_outbox o
           UNION ALL SELECT d::text FROM notification_deliveries d
           UNION ALL SELECT l::text FROM dead_letters l
           UNION ALL SELECT a::text FROM audit_log a"""
    ).fetchall()
    return "\n".join(row[0] for row in rows)


def test_echoed_tokens_are_kept_nowhere(
    db: Conn,
    fleet: Fleet,
    telegram: Provider,
    sms_gateway: Provider,
    make_worker: MakeWorker,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    person(db, fleet, chain=["telegram", "sms"])
    telegram.replies.append(
        Reply(400, {"ok": False, "description": f"Bad Request: token {KEYS['telegram']} unknown"})
    )
    sms_gateway.replies.append(Reply(400, {"error": f"key {KEYS['sms']} refused"}))
    enqueue(db, make_notice(fleet, clock()), now=clock())
    worker = make_worker(**channel_settings(telegram=telegram.url, sms=sms_gateway.url))
    with caplog.at_level(logging.DEBUG):
        worker.run_once()
        worker.run_once()

    stored = everything_stored(db)
    assert "***" in stored  # the echoes were recorded, scrubbed
    for secret in KEYS.values():
        assert secret not in stored
        assert secret not in caplog.text
    assert KEYS["telegram"] in telegram.requests[0].path  # it was used, all the same


def test_an_unreachable_provider_names_no_token(
    db: Conn, fleet: Fleet, make_worker: MakeWorker, clock: Clock
) -> None:
    person(db, fleet, chain=["telegram"])
    enqueue(db, make_notice(fleet, clock()), now=clock())
    make_worker(**channel_settings(telegram=f"http://127.0.0.1:{free_port()}")).run_once()
    assert KEYS["telegram"] not in everything_stored(db)


def test_settings_never_print_their_secrets() -> None:
    settings = Settings(
        telegram_bot_token=KEYS["telegram"],
        sms_gateway_url="https://sms.example.vn",
        sms_api_key=KEYS["sms"],
        sms_callback_secret="callback-secret-0123456789",
        zalo_access_token=KEYS["zalo"],
        zalo_template_id="224466",
    )
    notification = settings.notification_settings()
    shown = repr(settings) + str(settings) + repr(notification) + str(notification)
    for secret in [*KEYS.values(), "callback-secret-0123456789"]:
        assert secret not in shown
    assert notification.sms is not None
    assert notification.sms.sender == "LAICHAU"
    assert notification.telegram is not None
    assert notification.zalo is not None


def test_a_gateway_without_its_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="FLEET_SMS_API_KEY"):
        Settings(sms_gateway_url="https://sms.example.vn").notification_settings()
    with pytest.raises(ConfigError, match="FLEET_ZALO_TEMPLATE_ID"):
        Settings(zalo_access_token="t" * 20).notification_settings()
