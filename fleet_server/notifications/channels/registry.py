"""The channels a worker sends through, built from its settings: e-mail and
webhook always (their transports wrapped), Telegram, SMS and Zalo when
configured. A channel left out answers "not configured" (retried, then the
chain moves on)."""

from __future__ import annotations

from collections.abc import Mapping

from fleet_server.notifications.channels.base import ChannelAdapter, TransportChannel
from fleet_server.notifications.channels.sms import SmsChannel
from fleet_server.notifications.channels.telegram import TelegramChannel
from fleet_server.notifications.channels.zalo import ZaloChannel
from fleet_server.notifications.models import Channel, NotificationSettings, Transport
from fleet_server.notifications.smtp import SmtpTransport
from fleet_server.notifications.webhook import WebhookTransport


def build_channels(
    settings: NotificationSettings, transports: Mapping[Channel, Transport] | None = None
) -> dict[Channel, ChannelAdapter]:
    """``transports`` replaces the e-mail and webhook transports (tests)."""
    chosen: dict[Channel, Transport] = {
        "email": SmtpTransport(settings.smtp),
        "webhook": WebhookTransport(settings.webhook_timeout_s),
        **(transports or {}),
    }
    channels: dict[Channel, ChannelAdapter] = {
        name: TransportChannel(name, transport) for name, transport in chosen.items()
    }
    if settings.telegram is not None:
        channels["telegram"] = TelegramChannel(settings.telegram)
    if settings.sms is not None:
        channels["sms"] = SmsChannel(settings.sms)
    if settings.zalo is not None:
        channels["zalo"] = ZaloChannel(settings.zalo)
    return channels


def secrets_of(settings: NotificationSettings) -> tuple[str, ...]:
    """Every token and key in ``settings``, to scrub from texts we keep."""
    found = [settings.smtp.password]
    if settings.telegram is not None:
        found.append(settings.telegram.bot_token.get_secret_value())
    if settings.sms is not None:
        found.append(settings.sms.api_key.get_secret_value())
        if settings.sms.callback_secret is not None:
            found.append(settings.sms.callback_secret.get_secret_value())
    if settings.zalo is not None:
        found.append(settings.zalo.access_token.get_secret_value())
    return tuple(secret for secret in found if secret)
