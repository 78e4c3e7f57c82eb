"""/api/v1/rollouts: a release sent to boards in waves (admin only,
``release.manage``; docs/updates.md). Creating, pausing, resuming and
aborting are audited; the engine's rollout pass does the sending."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_server.access.pagination import CursorPage
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import KeysetPaging, link_next
from fleet_server.releases.service import CAPABILITY
from fleet_server.rollouts import service
from fleet_server.rollouts.models import BoardState
from fleet_server.rollouts.schemas import (
    DryRunOut,
    RolloutActionIn,
    RolloutBoardOut,
    RolloutDetail,
    RolloutIn,
    RolloutOut,
)

router = APIRouter(tags=["releases"])

Manager = Annotated[Principal, Depends(require(CAPABILITY))]
RolloutId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/rollouts", summary="rollouts, newest first, with their boards per state")
def rollouts_list(conn: Db, user: Manager) -> list[RolloutOut]:
    return service.list_rollouts(conn, user)


@router.post(
    "/rollouts",
    status_code=201,
    summary="start a rollout (or, with dry_run, count the boards it targets)",
    responses={422: {"description": "unknown version, empty target, bad waves or threshold"}},
)
def rollouts_create(
    request: Request, conn: Db, now: Now, user: Manager, body: RolloutIn
) -> RolloutDetail | DryRunOut:
    actor = user.acting_from(client_address(request))
    return service.create(conn, user, actor, body, now=now)


@router.get("/rollouts/{rollout_id}", summary="one rollout and its boards per state")
def rollouts_get(conn: Db, user: Manager, rollout_id: RolloutId) -> RolloutDetail:
    """``counts``: the boards per state. ``boards`` (deprecated) holds at
    most the first 100 boards by position (``boards_truncated``); page them
    all at ``/rollouts/{rollout_id}/boards``."""
    return service.get(conn, user, rollout_id)


@router.get("/rollouts/{rollout_id}/boards", summary="a rollout's boards, a page at a time")
def rollouts_boards(
    request: Request,
    response: Response,
    conn: Db,
    user: Manager,
    rollout_id: RolloutId,
    paging: KeysetPaging,
    state: Annotated[list[BoardState] | None, Query(description="repeatable")] = None,
) -> CursorPage[RolloutBoardOut]:
    """By position (the rollout's order), or ``sort=problems``: failed and
    rolled back first, each by position. Page with ``cursor`` (each page's
    ``next_cursor``, also in the ``Link`` header)."""
    page = service.boards_page(conn, user, rollout_id, paging, states=list(state or ()))
    link_next(request, response, page)
    return page


_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "the rollout is not in a state this applies to"}
}


def _act(
    request: Request, conn: Db, now: Now, user: Principal, rollout_id: int, action: str,
    body: RolloutActionIn | None,
) -> RolloutDetail:  # fmt: skip
    actor = user.acting_from(client_address(request))
    reason = body.reason if body else None
    return service.act(conn, user, actor, rollout_id, action, reason=reason, now=now)


@router.post(
    "/rollouts/{rollout_id}/pause",
    summary="pause: no board is sent the update",
    responses=_CONFLICT,
)
def rollouts_pause(
    request: Request, conn: Db, now: Now, user: Manager, rollout_id: RolloutId,
    body: RolloutActionIn | None = None,
) -> RolloutDetail:  # fmt: skip
    return _act(request, conn, now, user, rollout_id, "pause", body)


@router.post(
    "/rollouts/{rollout_id}/resume", summary="resume a paused rollout", responses=_CONFLICT
)
def rollouts_resume(
    request: Request, conn: Db, now: Now, user: Manager, rollout_id: RolloutId,
    body: RolloutActionIn | None = None,
) -> RolloutDetail:  # fmt: skip
    return _act(request, conn, now, user, rollout_id, "resume", body)


@router.post(
    "/rollouts/{rollout_id}/abort",
    summary="abort: boards not sent yet are cancelled",
    responses=_CONFLICT,
)
def rollouts_abort(
    request: Request, conn: Db, now: Now, user: Manager, rollout_id: RolloutId,
    body: RolloutActionIn | None = None,
) -> RolloutDetail:  # fmt: skip
    return _act(request, conn, now, user, rollout_id, "abort", body)
