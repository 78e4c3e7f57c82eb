"""Emergency orders (Điều 8.2): "… thì thời lượng và khung giờ phát thông tin
thực hiện theo yêu cầu của các cơ quan, đơn vị có thẩm quyền" — in an
emergency the broadcast time and time frames follow the request of the
competent agencies and units. An admin records the request (the order);
the compliance job then judges again every day it covers, and a window is
exempt only where an order in force covers it."""

from __future__ import annotations

from datetime import datetime

from fleet_server.access import audit
from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Actor, Principal
from fleet_server.compliance import storage_orders as storage
from fleet_server.compliance.schemas import EmergencyOrderIn, EmergencyOrderOut
from fleet_server.compliance.storage_orders import Conn
from fleet_server.errors import Conflict, Invalid, NotFound

#: An order longer than this is a typing error, not an emergency.
MAX_DAYS = 366


def list_orders(
    conn: Conn, user: Principal, paging: ListParams, *, in_force_at: datetime | None = None
) -> Page[EmergencyOrderOut]:
    user.need("compliance.read")
    return storage.page(conn, paging, in_force_at=in_force_at)


def get_order(conn: Conn, user: Principal, order_id: int) -> EmergencyOrderOut:
    user.need("compliance.read")
    order = storage.get(conn, order_id)
    if order is None:
        raise NotFound("emergency order", order_id)
    return order


def create_order(
    conn: Conn, user: Principal, actor: Actor, order: EmergencyOrderIn, *, now: datetime
) -> EmergencyOrderOut:
    """Record an order (admin only, audited); the days it covers are judged
    again at the compliance job's next run."""
    user.need("emergency_order.write")
    if (order.ends_at - order.starts_at).days > MAX_DAYS:
        raise Invalid(f"an order may cover at most {MAX_DAYS} days", field="ends_at")
    missing_sites = storage.missing_sites(conn, list(order.site_ids))
    if missing_sites:
        raise Invalid(f"no such site: {missing_sites[:5]}", field="site_ids")
    missing_boards = storage.missing_boards(conn, list(order.board_ids))
    if missing_boards:
        raise Invalid(f"no such board: {missing_boards[:5]}", field="board_ids")
    order_id = storage.insert(conn, order, actor=actor.username, now=now)
    created = get_order(conn, user, order_id)
    audit.record(
        conn,
        actor,
        "emergency_order.create",
        target_type="emergency_order",
        target_id=order_id,
        after=created,
    )
    return created


def revoke_order(
    conn: Conn, user: Principal, actor: Actor, order_id: int, *, reason: str, now: datetime
) -> EmergencyOrderOut:
    """Withdraw an order recorded in error: the days it exempted are judged
    again without it. The order stays on record."""
    user.need("emergency_order.write")
    before = storage.get(conn, order_id, lock=True)
    if before is None:
        raise NotFound("emergency order", order_id)
    if before.revoked_at is not None:
        raise Conflict(f"emergency order {order_id} was revoked already")
    storage.revoke(conn, order_id, actor=actor.username, reason=reason, now=now)
    after = get_order(conn, user, order_id)
    audit.record(
        conn,
        actor,
        "emergency_order.revoke",
        target_type="emergency_order",
        target_id=order_id,
        before=before,
        after=after,
        detail=reason,
    )
    return after
