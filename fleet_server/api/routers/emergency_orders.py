"""/api/v1 emergency orders (Điều 8.2): the orders of competent authorities
under which a broadcast window is exempt from the minimum."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.compliance import service_orders as service
from fleet_server.compliance.schemas import EmergencyOrderIn, EmergencyOrderOut, RevokeIn

router = APIRouter(tags=["compliance"])

Reader = Annotated[Principal, Depends(require("compliance.read"))]
Writer = Annotated[Principal, Depends(require("emergency_order.write"))]
OrderId = Annotated[int, Path(ge=1, le=2**62, description="order id")]


@router.get("/emergency-orders", summary="emergency orders (Điều 8.2), newest period first")
def orders_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    in_force_at: Annotated[
        datetime | None, Query(description="only orders in force at this time")
    ] = None,
) -> Page[EmergencyOrderOut]:
    return service.list_orders(conn, user, paging, in_force_at=in_force_at)


@router.post(
    "/emergency-orders",
    status_code=201,
    summary="record an order of a competent authority (admin)",
    responses={400: {"description": "an unknown site or board, or too long a period"}},
)
def orders_create(
    request: Request, conn: Db, now: Now, user: Writer, body: EmergencyOrderIn
) -> EmergencyOrderOut:
    actor = user.acting_from(client_address(request))
    return service.create_order(conn, user, actor, body, now=now)


@router.get("/emergency-orders/{order_id}", summary="one emergency order")
def orders_get(conn: Db, user: Reader, order_id: OrderId) -> EmergencyOrderOut:
    return service.get_order(conn, user, order_id)


@router.post(
    "/emergency-orders/{order_id}/revoke",
    summary="withdraw an order recorded in error (admin); its days are judged again",
    responses={409: {"description": "revoked already"}},
)
def orders_revoke(
    request: Request, conn: Db, now: Now, user: Writer, order_id: OrderId, body: RevokeIn
) -> EmergencyOrderOut:
    actor = user.acting_from(client_address(request))
    return service.revoke_order(conn, user, actor, order_id, reason=body.reason, now=now)
