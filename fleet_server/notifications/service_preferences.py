"""A person's own notification preferences, and the SMS gateway's delivery
reports. The API (``/api/v1/me/notification-preferences``) and the console's
"My account → Notices" page call these; every change is audited.

A user's notices go to the contact linked to their account
(``contacts.user_id``; migration 0032 links the existing contacts by e-mail).
A user without one gets one the first time they save: it is reached only by
notices sent to it directly (a ticket assigned to them) until an
administrator routes more to it.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from fleet_server.access.audit import record
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Forbidden, Invalid
from fleet_server.notifications import storage_chain
from fleet_server.notifications import storage_preferences as storage
from fleet_server.notifications.models import PersonChannel
from fleet_server.notifications.preferences import Preferences
from fleet_server.notifications.schemas_preferences import (
    DeliveryReportIn,
    DeliveryReportOut,
    PreferencesIn,
    PreferencesOut,
    QuietHours,
)
from fleet_server.notifications.storage_preferences import Conn
from fleet_server.vocabulary import SEVERITIES


def _out(row: dict[str, Any] | None, email: str | None) -> PreferencesOut:
    if row is None:  # nothing saved yet: what the routes give, by e-mail
        return PreferencesOut(
            contact_id=None, channels=["email"], severities=list(SEVERITIES), quiet_hours=None,
            email=email, phone=None, telegram_chat_id=None, zalo_consent=False,
            zalo_consent_at=None, updated_at=None,
        )  # fmt: skip
    quiet = None
    if row["quiet_from"] is not None:
        quiet = QuietHours(start=row["quiet_from"], end=row["quiet_until"])
    return PreferencesOut(
        contact_id=row["contact_id"],
        channels=row["channels"] or ["email"],
        severities=[s for s in SEVERITIES if s in (row["severities"] or SEVERITIES)],
        quiet_hours=quiet,
        email=row["email"],
        phone=row["phone"],
        telegram_chat_id=row["telegram_chat_id"],
        zalo_consent=row["zalo_consent_at"] is not None,
        zalo_consent_at=row["zalo_consent_at"],
        updated_at=row["updated_at"],
    )


def get_mine(conn: Conn, user: Principal) -> PreferencesOut:
    return _out(storage.mine(conn, user.user_id), storage.user_email(conn, user.user_id))


def _unreachable(channel: PersonChannel, body: PreferencesIn, email: str | None) -> str | None:
    """Why ``channel`` cannot reach the person, or None."""
    if channel == "email" and not email:
        return "e-mail needs an e-mail address on your account (ask an administrator)"
    if channel in ("sms", "zalo") and not body.phone:
        return f"{channel} needs your phone number"
    if channel == "zalo" and not body.zalo_consent:
        return "zalo needs your consent to receive Zalo ZNS messages"
    if channel == "telegram" and not body.telegram_chat_id:
        return "telegram needs your Telegram chat id"
    return None


def put_mine(
    conn: Conn, user: Principal, body: PreferencesIn, *, actor: Actor, now: datetime
) -> PreferencesOut:
    before = storage.mine(conn, user.user_id, lock=True)
    email = before["email"] if before else storage.user_email(conn, user.user_id)
    for channel in body.channels:
        problem = _unreachable(channel, body, email)
        if problem:
            raise Invalid(f"channels: {problem}", field="channels")
    if before is None:
        contact_id = storage.insert_contact_for(
            conn, user.user_id, name=user.full_name, email=email,
            organisation_id=user.organisation_id, language=user.language, now=now,
        )  # fmt: skip
        consent_at = None
    else:
        contact_id = before["contact_id"]
        consent_at = before["zalo_consent_at"]
    if body.zalo_consent:
        keep = before is not None and before["phone"] == body.phone
        consent_at = consent_at if keep and consent_at else now  # consent is per number
    else:
        consent_at = None
    storage.update_addresses(
        conn, contact_id, phone=body.phone, telegram_chat_id=body.telegram_chat_id,
        zalo_consent_at=consent_at, now=now,
    )  # fmt: skip
    quiet = body.quiet_hours
    storage.upsert(
        conn,
        Preferences(
            contact_id, tuple(body.channels), frozenset(body.severities),
            quiet.start if quiet else None, quiet.end if quiet else None,
        ),
        now=now,
    )  # fmt: skip
    after = get_mine(conn, user)
    record(
        conn, actor, "notification_preferences.update", target_type="contact",
        target_id=contact_id, before=_out(before, email) if before else None, after=after,
        detail="contact created for the account" if before is None else None,
    )  # fmt: skip
    return after


def delivery_report(
    conn: Conn,
    body: DeliveryReportIn,
    *,
    given_secret: str | None,
    secret: str | None,
    now: datetime,
) -> DeliveryReportOut:
    """An SMS gateway's delivery report, if it carries the shared secret
    (compared in constant time)."""
    if secret is None:
        raise Forbidden("SMS delivery reports are not enabled (FLEET_SMS_CALLBACK_SECRET)")
    if not given_secret or not hmac.compare_digest(given_secret.encode(), secret.encode()):
        raise Forbidden("wrong or missing callback secret")
    settled = storage_chain.delivery_report(
        conn, "sms", request_id=body.request_id, provider_message_id=body.message_id,
        status="delivered" if body.status == "delivered" else "failed",
        error=None if body.status == "delivered" else (body.error or body.status), now=now,
    )  # fmt: skip
    return DeliveryReportOut(matched=len(settled))
