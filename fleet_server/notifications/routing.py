"""Who hears a notice, and which queued rows travel together. No SQL here.

The routing rule (docs/notifications.md): **every** active route whose
filters all match delivers the notice, like Zabbix actions and unlike
Alertmanager's first-match tree. Routes are subscriptions, so a site-specific
route for technicians can never silence the Department's province-wide
security route (Điều 9.3). A contact reached by several routes gets the notice
once per channel.

A route matches a notice when

* ``organisation_id`` / ``site_id`` are NULL or equal to the notice's;
* ``incident_class`` is NULL or equal (a notice without a class only matches
  routes without one);
* ``incident_kinds`` is NULL or one of its shell-style patterns (``camera*``)
  matches the notice's incident kind;
* the notice is at least as severe as ``min_severity``;
* the route's ``escalation_level`` is at most the notice's: an escalated
  notice reaches the escalation list *and* the normal recipients.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from fleet_server.notifications.models import (
    Notice,
    OutboxRow,
    Recipient,
    Route,
    severity_rank,
)


def route_matches(route: Route, notice: Notice) -> bool:
    if route.organisation_id is not None and route.organisation_id != notice.organisation_id:
        return False
    if route.site_id is not None and route.site_id != notice.site_id:
        return False
    if route.incident_class is not None and route.incident_class != notice.incident_class:
        return False
    if route.incident_kinds is not None and not _kind_matches(
        route.incident_kinds, notice.incident_kind
    ):
        return False
    if severity_rank(notice.severity) < severity_rank(route.min_severity):
        return False
    return route.escalation_level <= notice.escalation_level


def _kind_matches(patterns: Iterable[str], kind: str | None) -> bool:
    return kind is not None and any(fnmatchcase(kind, pattern) for pattern in patterns)


def recipients_for(
    notice: Notice, routes: Iterable[Route], direct: Iterable[Recipient] = ()
) -> list[Recipient]:
    """Matching routes' recipients plus ``direct`` ones, once per contact and channel,
    in a stable order (by contact, then channel)."""
    found: dict[tuple[int, str], Recipient] = {}
    for route in routes:
        if route_matches(route, notice):
            found.setdefault(
                (route.contact_id, route.channel),
                Recipient(route.contact_id, route.channel, route.language),
            )
    for recipient in direct:
        found.setdefault((recipient.contact_id, recipient.channel), recipient)
    return [found[key] for key in sorted(found)]


def group_key_for(notice: Notice) -> str | None:
    """Notices about one site are grouped; security incidents go out at once
    (Điều 9.3: reported promptly), as do notices not tied to a site."""
    if notice.incident_class == "security" or notice.site_id is None:
        return None
    return f"site:{notice.site_id}"


def plan_messages(
    rows: Sequence[OutboxRow], now: datetime, window: timedelta
) -> list[list[OutboxRow]]:
    """Split due rows into messages, in the order they are to be sent.

    One message per row without a group key; one per (contact, channel, group
    key) whose first row has been due for ``window`` (groups still inside
    their window are left for a later run). Rows attempted before (a retry,
    or a claim taken back from a dead worker) travel apart from new ones and
    without waiting: a retry then carries what its first attempt carried, and
    so its Message-ID (``message_id_for``); a receiver that deduplicates on it
    never drops a notice that was not in the first attempt.

    A row whose ``earlier`` rows (same incident, contact and channel) are not
    in this message or one before it is left for a later run: a "resolved"
    never overtakes the "opened" it follows.
    """
    messages: list[list[OutboxRow]] = []
    groups: dict[tuple[int, str, str, bool], list[OutboxRow]] = {}
    for row in rows:
        if row.group_key is None:
            messages.append([row])
        else:
            key = (row.contact_id, row.channel, row.group_key, row.attempts > 0)
            groups.setdefault(key, []).append(row)
    for (*_, retry), members in groups.items():
        if retry or min(row.available_at for row in members) <= now - window:
            messages.append(sorted(members, key=lambda row: row.id))
    messages.sort(key=lambda members: members[0].id)
    return _in_order(messages)


def _in_order(messages: Iterable[list[OutboxRow]]) -> list[list[OutboxRow]]:
    planned: set[int] = set()
    kept: list[list[OutboxRow]] = []
    for message in messages:
        members = []
        for row in message:  # by id, so an earlier row of the same message comes first
            if planned.issuperset(row.earlier):
                members.append(row)
                planned.add(row.id)
        if members:
            kept.append(members)
    return kept


def message_id_for(rows: Sequence[OutboxRow], domain: str) -> str:
    """The Message-ID (e-mail) and idempotency key (webhook) of a message.

    Named after its first row and a digest of every row's idempotency key:
    the same for every attempt at the same rows, different as soon as the
    message carries other notices (so a receiver that drops repeated ids
    cannot drop a notice it never saw). ``domain`` is the installation's
    (its sender address's domain); the keys name incidents and times, so two
    databases sharing a domain do not produce the same id for different mail.
    """
    keys = "\n".join(row.idempotency_key for row in sorted(rows, key=lambda row: row.id))
    digest = hashlib.sha256(keys.encode()).hexdigest()[:12]
    return f"fleet.{min(row.id for row in rows)}.{digest}@{domain}"
