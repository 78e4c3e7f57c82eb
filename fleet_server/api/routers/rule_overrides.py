"""/api/v1 rule thresholds: the rules whose defaults may be overridden, and
the overrides per organisation, site or board (admin).

The checks, audit and SQL live in ``fleet_server/thresholds/``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.thresholds import service
from fleet_server.thresholds.schemas import BOARD_ID, MAX_ID, OverrideIn, OverrideOut, RuleOut

router = APIRouter(tags=["rule thresholds"])

Reader = Annotated[Principal, Depends(require("rule.read"))]
Writer = Annotated[Principal, Depends(require("rule.write"))]
OverrideId = Annotated[int, Path(ge=1, le=MAX_ID, description="override id")]


@router.get("/rules", summary="the rules whose thresholds may be overridden, with defaults")
def rules_list(user: Reader) -> list[RuleOut]:
    return service.rules(user)


@router.get("/rule-overrides", summary="the rule overrides in force")
def overrides_list(
    conn: Db,
    user: Reader,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    board_id: Annotated[str | None, Query(pattern=BOARD_ID)] = None,
) -> list[OverrideOut]:
    return service.list_overrides(
        conn, user, rule=rule, organisation_id=organisation_id, site_id=site_id, board_id=board_id
    )


@router.put(
    "/rule-overrides",
    summary="set a rule's thresholds for an organisation, a site or a board",
    responses={
        400: {"description": "unknown rule or threshold, bad value"},
        404: {"description": "no such target"},
    },
)
def overrides_set(
    request: Request, conn: Db, now: Now, user: Writer, body: OverrideIn
) -> OverrideOut:
    actor = user.acting_from(client_address(request))
    return service.set_override(conn, user, actor, body, now=now)


@router.get("/rule-overrides/{override_id}", summary="one rule override")
def overrides_get(conn: Db, user: Reader, override_id: OverrideId) -> OverrideOut:
    return service.get_override(conn, user, override_id)


@router.delete(
    "/rule-overrides/{override_id}",
    status_code=204,
    summary="clear a rule override (the next level up applies again)",
)
def overrides_clear(request: Request, conn: Db, user: Writer, override_id: OverrideId) -> Response:
    actor = user.acting_from(client_address(request))
    service.clear_override(conn, user, actor, override_id)
    return Response(status_code=204)
