"""/api/v1 4G data usage and budgets (fleet_server/datausage, docs/data-budget.md).

Reads need ``telemetry.read`` and are scoped like board reads; setting a
budget needs ``command.send`` (admins and operators, within their sites),
is audited, and is carried to the boards in their desired configuration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Ctx, Db, client_address, require
from fleet_server.datausage import service
from fleet_server.datausage.schemas import BoardDataUsage, BudgetIn, BudgetSet, FleetUsage

router = APIRouter(tags=["data usage"])

Reader = Annotated[Principal, Depends(require("telemetry.read"))]
Setter = Annotated[Principal, Depends(require("command.send"))]
BoardId = Annotated[str, Path(max_length=64, pattern=DEVICE_ID_PATTERN)]


@router.get(
    "/boards/{board_id}/data-usage",
    summary="a board's 4G data this month: used, per day, forecast and budget",
    responses={404: {"description": "no such board in the caller's scope"}},
)
def board_data_usage(conn: Db, ctx: Ctx, user: Reader, board_id: BoardId) -> BoardDataUsage:
    return service.board_usage(
        conn,
        user,
        board_id,
        default=service.default_bytes(ctx.settings.data_budget_mb),
        now=ctx.clock(),
    )


@router.get(
    "/data-usage",
    summary="every board's 4G data this month against its budget (by board id, keyset paging)",
)
def fleet_data_usage(
    conn: Db,
    ctx: Ctx,
    user: Reader,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    after: Annotated[
        str | None,
        Query(
            max_length=64, pattern=DEVICE_ID_PATTERN, description="the previous page's next_after"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> FleetUsage:
    return service.fleet_usage(
        conn,
        user,
        site_id=site_id,
        after=after,
        limit=limit,
        default=service.default_bytes(ctx.settings.data_budget_mb),
        now=ctx.clock(),
    )


@router.put(
    "/data-budgets",
    summary="set or remove a board's or a site's monthly 4G data budget",
    responses={
        404: {"description": "no such board or site in the caller's scope"},
        422: {"description": "not exactly one of board_id and site_id, or a budget out of range"},
    },
)
def put_data_budget(
    request: Request, conn: Db, ctx: Ctx, user: Setter, body: BudgetIn
) -> BudgetSet:
    actor = user.acting_from(client_address(request))
    return service.set_budget(
        conn,
        user,
        actor,
        body,
        commands=ctx.commands,
        now=ctx.clock(),
        agent_version=ctx.settings.data_budget_agent_version,
    )
