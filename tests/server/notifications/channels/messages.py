"""A message and contact for the channel tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fleet_server.notifications.channels.base import ContactCard
from fleet_server.notifications.models import Channel, OutgoingMessage

SENT_AT = datetime(2025, 5, 20, 0, 30, tzinfo=UTC)  # 07:30 in Lai Châu
SUBJECT = "[Khẩn cấp] Sự cố mới: Mất điện lưới — Cửa khẩu quốc tế Ma Lù Thàng"
BODY = (
    "Bảng tin cổng A (lc-mlt-01) mất điện lưới lúc 07:30 20/05/2025, pin UPS còn 80%.\n"
    "Đường dây điện ở Mường Tè bị đứt."
)


def message(channel: Channel = "sms", **overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "message_id": "fleet.12.3f2a9c0d1e7b@bangtin.laichau.gov.vn",
        "outbox_ids": (12,),
        "channel": channel,
        "language": "vi",
        "contact_name": "Nguyễn Văn An",
        "address": "",
        "subject": SUBJECT,
        "body_text": BODY,
        "payload": {},
        "sent_at": SENT_AT,
    }
    values.update(overrides)
    return OutgoingMessage(**values)


def contact(**overrides: Any) -> ContactCard:
    values: dict[str, Any] = {
        "id": 3,
        "name": "Nguyễn Văn An",
        "email": "an@bql.laichau.gov.vn",
        "phone": "84912345678",
        "telegram_chat_id": "123456789",
        "zalo_consent_at": SENT_AT,
    }
    values.update(overrides)
    return ContactCard(**values)
