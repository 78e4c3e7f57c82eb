"""A person's own choices about notices, applied when a notice is queued.
No SQL here.

* **Channels in order** — the fallback chain: a notice that reaches the
  person over any of e-mail, Telegram, SMS or Zalo (a route, or a direct
  notice) is queued once, on the first channel of the chain; the worker
  moves it to the next when that one fails for good or is not confirmed in
  time. Webhooks are not a person's channel and stay as routed.
* **Severities** — the ones the person wants; critical is always among them.
* **Quiet hours** (Vietnam time, may span midnight) — only critical notices
  (and information-security ones, ``is_urgent``) are delivered then; the
  others are held until the quiet hours end (a critical notice of the same
  incident releases them with it, so the order of an incident's notices is
  kept).

Without preferences a contact gets what its routes say, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from fleet_server.localtime import LOCAL_TZ
from fleet_server.notifications.models import (
    PERSON_CHANNELS,
    Notice,
    PersonChannel,
    Recipient,
)
from fleet_server.vocabulary import Severity


@dataclass(frozen=True, slots=True)
class Preferences:
    contact_id: int
    channels: tuple[PersonChannel, ...]
    severities: frozenset[Severity]
    quiet_from: time | None = None
    quiet_until: time | None = None


def quiet_end(preferences: Preferences, at: datetime) -> datetime | None:
    """When the quiet hours that ``at`` falls in end, or None when ``at`` is
    not in them. Times are Vietnam time; "22:00–06:00" spans midnight."""
    start, end = preferences.quiet_from, preferences.quiet_until
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(LOCAL_TZ)
    now = local.time().replace(tzinfo=None)
    day = local.date()
    if start < end:
        if not start <= now < end:
            return None
    elif now >= start:
        day += timedelta(days=1)
    elif now >= end:
        return None
    return datetime.combine(day, end, tzinfo=LOCAL_TZ)


def is_urgent(notice: Notice) -> bool:
    """Critical notices, and every information-security notice (Điều 9.3:
    "… phải kịp thời báo cho Cơ quan quản lý, vận hành …"), are never held
    or filtered out by a person's preferences."""
    return notice.severity == "critical" or notice.incident_class == "security"


def apply(
    notice: Notice,
    recipients: Iterable[Recipient],
    preferences: Mapping[int, Preferences],
    *,
    at: datetime,
) -> list[Recipient]:
    """``recipients`` as the people's preferences have them: one recipient
    per person on their chain, filtered by severity, held through quiet
    hours (``at`` is when the notice would be due)."""
    kept: list[Recipient] = []
    chained: dict[int, Recipient] = {}
    for recipient in recipients:
        prefs = preferences.get(recipient.contact_id)
        if prefs is None or recipient.channel not in PERSON_CHANNELS:
            kept.append(recipient)
            continue
        urgent = is_urgent(notice)
        if recipient.contact_id in chained or not (urgent or notice.severity in prefs.severities):
            continue
        first, *rest = prefs.channels
        hold = None if urgent else quiet_end(prefs, at)
        chained[recipient.contact_id] = replace(
            recipient, channel=first, fallback=tuple(rest), hold_until=hold
        )
    return sorted([*kept, *chained.values()], key=lambda r: (r.contact_id, r.channel))
