"""Queued notices as people see them in the console: the notices view (all of
them, filtered by state and kind) and the notices of one incident or ticket
on its page: to whom, on which channel, when queued and sent, delivered or
failed and why. Admins and operators (``notice.read``), within their scope."""

from __future__ import annotations

from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Principal
from fleet_server.errors import Invalid
from fleet_server.notifications import storage_notices as storage
from fleet_server.notifications.models import NOTICE_KINDS
from fleet_server.notifications.schemas_notices import NOTICE_STATES, NoticeFilter, NoticeOut
from fleet_server.notifications.storage import Conn

#: The most notices an incident's or ticket's page lists.
PAGE_LIMIT = 50


def _bad(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", errors=[{"field": field, "message": message}])


def check_filter(filters: NoticeFilter) -> NoticeFilter:
    """An unknown state or kind is a 400 naming the field and the choices."""
    if filters.state is not None and filters.state not in NOTICE_STATES:
        raise _bad("state", f"unknown state {filters.state!r}; one of: {', '.join(NOTICE_STATES)}")
    if filters.kind is not None and filters.kind not in NOTICE_KINDS:
        raise _bad("kind", f"unknown kind {filters.kind!r}; one of: {', '.join(NOTICE_KINDS)}")
    return filters


def list_notices(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    filters: NoticeFilter,
    counts: dict[str, int] | None = None,
) -> Page[NoticeOut]:
    """The notices the caller sees, newest first; ``counts``: the caller's
    :func:`state_counts`, if read already (the total is taken from them)."""
    user.need("notice.read")
    return storage.notices_page(conn, user.scope, paging, check_filter(filters), counts)


def notices_of(
    conn: Conn, user: Principal, *, incident_id: int | None = None, ticket_id: int | None = None
) -> list[NoticeOut]:
    """The notices about one incident or ticket, oldest first, for its page;
    empty for a reader who may not see notices (the page shows none)."""
    if not user.can("notice.read"):
        return []
    filters = NoticeFilter(incident_id=incident_id, ticket_id=ticket_id)
    paging = ListParams(limit=PAGE_LIMIT, offset=0, sort="id")
    return storage.notices_page(conn, user.scope, paging, filters).items


def state_counts(conn: Conn, user: Principal) -> dict[str, int]:
    user.need("notice.read")
    return storage.state_counts(conn, user.scope)
