"""Every camera the caller may see, with its last status, and one camera's
reachability and RTSP latency over a period.

This is the Border Guard's view (Điều 13.1.b): a border_guard account sees the
cameras of the sites its unit guards and nothing else. A camera whose latest
status was measured more than ``STALE_AFTER`` ago shows status ``unknown``;
that age is reckoned on the server's clock (``board_latest.observed_at``),
never the board's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from fleet_server.access.pagination import COUNT_CAP, CursorPage, ListParams
from fleet_server.access.principal import Principal
from fleet_server.boards.service import checked_board
from fleet_server.cameras import storage
from fleet_server.cameras import storage_groups as groups
from fleet_server.cameras.models import STALE_AFTER, Health
from fleet_server.cameras.schemas import CameraOut
from fleet_server.cameras.storage import Conn
from fleet_server.errors import NotFound, Unprocessable
from fleet_server.incidents.schemas import IncidentOut
from fleet_server.telemetry.schemas import Series
from fleet_server.telemetry.service import series_in_scope


def list_cameras(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    now: datetime,
    site_id: int | None = None,
    board_id: str | None = None,
    health: Health | None = None,
) -> CursorPage[CameraOut]:
    """A page of the list; ``total`` is exact, or for one health counted up
    to ``COUNT_CAP`` cameras.

    The default order (failing first, then by site) pages by ``cursor``;
    ``sort`` or the deprecated ``offset`` read the list sorted whole, as before."""
    user.need("camera.read")
    filters = _filters(user, now, site_id, board_id)
    if paging.sort is not None or paging.offset:
        if paging.cursor is not None:
            raise _cursor_in_default_order_only()
        page = storage.camera_page(
            conn,
            user.scope,
            paging,
            stale_before=filters.stale_before,
            site_id=site_id,
            board_id=board_id,
            health=health,
        )
        return CursorPage(**dict(page))
    items, next_cursor = _after(conn, filters, paging, health)
    if paging.cursor is None and next_cursor is None:
        total = groups.Count(len(items), False)  # the first page is the only one
    elif health is None:
        total = groups.Count(groups.scope_count(conn, filters), False)
    else:
        total = groups.group_counts(conn, filters, (health,), COUNT_CAP)[health]
    return CursorPage(
        items=items,
        total=total.n,
        total_capped=total.capped,
        limit=paging.limit,
        offset=0,
        next_cursor=next_cursor,
    )


def cameras_after(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    now: datetime,
    health: Health | None = None,
    counts: Mapping[Health, groups.Count] | None = None,
) -> tuple[list[CameraOut], str | None]:
    """A page of the list in its default order, after ``paging.cursor``, and
    the cursor of the next page (None: the last), without a total (the
    console shows :func:`health_counts` instead; given them, the groups they
    find empty are not read)."""
    user.need("camera.read")
    empty = [h for h, c in (counts or {}).items() if c.n == 0 and not c.capped]
    return _after(conn, _filters(user, now, None, None), paging, health, empty)


def health_counts(
    conn: Conn, user: Principal, *, now: datetime, cap: int
) -> dict[Health, groups.Count]:
    """How many cameras the caller sees in each health group: the failing
    and the ok ones counted up to ``cap``; the unknown ones the rest of the
    cameras in scope when those two are exact (no walk of them), else
    counted up to ``cap`` as well."""
    user.need("camera.read")
    filters = _filters(user, now, None, None)
    failing, ok, total = groups.counts_and_total(conn, filters, cap)
    if failing.capped or ok.capped:
        unknown = groups.group_counts(conn, filters, ("unknown",), cap)["unknown"]
    else:
        unknown = groups.Count(max(total - failing.n - ok.n, 0), False)
    return {"failing": failing, "unknown": unknown, "ok": ok}


def open_camera_incidents(conn: Conn, user: Principal, *, limit: int) -> list[IncidentOut]:
    """The open and acknowledged camera incidents the caller sees, worst and
    newest first, up to ``limit``."""
    user.need("incident.read")
    return storage.open_camera_incidents(conn, user.scope, limit)


def _filters(
    user: Principal, now: datetime, site_id: int | None, board_id: str | None
) -> groups.Filters:
    return groups.Filters(user.scope, now - STALE_AFTER, site_id=site_id, board_id=board_id)


def _after(
    conn: Conn,
    filters: groups.Filters,
    paging: ListParams,
    health: Health | None,
    empty: Collection[Health] = (),
) -> tuple[list[CameraOut], str | None]:
    shown = (health,) if health is not None else groups.GROUPS
    after = None
    if paging.cursor is not None:
        after = groups.position_of(paging.cursor)
        if after.health not in shown:
            raise _cursor_in_default_order_only()
    # one camera more than the page: whether a next page exists, without counting
    items = groups.page_after(conn, filters, shown, after, paging.limit + 1, empty=empty)
    if len(items) <= paging.limit:
        return items, None
    items = items[: paging.limit]
    return items, groups.cursor_after(items[-1])


def _cursor_in_default_order_only() -> Unprocessable:
    return Unprocessable(
        "cursor: pages the list in its default order (no sort, no offset) and the"
        " health it was made for; leave cursor out for the first page",
        field="cursor",
    )


def camera_series(
    conn: Conn,
    user: Principal,
    board_id: str,
    camera_id: str,
    *,
    since: datetime,
    until: datetime,
    bucket_s: int | None = None,
) -> Series:
    """The board's camera series in [since, until), this camera's points only."""
    user.need("camera.read")
    # one scoped read: the same 404 for another organisation's board as for
    # a camera that does not exist; the series then trusts that check
    if not storage.camera_visible(conn, user.scope, board_id, camera_id):
        raise NotFound("camera", f"{board_id}/{camera_id}")
    with checked_board(user.scope, board_id):
        whole = series_in_scope(
            conn, user.scope, board_id, "camera", since=since, until=until, bucket_s=bucket_s
        )
    whole.points = [p for p in whole.points if p.camera_id == camera_id]
    return whole
