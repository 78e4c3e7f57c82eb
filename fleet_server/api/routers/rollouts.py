"""/api/v1/rollouts: a release sent to boards in waves (admin only,
``release.manage``; docs/updates.md). Creating, pausing, resuming and
aborting are audited; the engine's rollout pass does the sending."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.releases.service import CAPABILITY
from fleet_server.rollouts import service
from fleet_server.rollouts.schemas import (
    DryRunOut,
    RolloutActionIn,
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


@router.get("/rollouts/{rollout_id}", summary="one rollout and the state of each board")
def rollouts_get(conn: Db, user: Manager, rollout_id: RolloutId) -> RolloutDetail:
    return service.get(conn, user, rollout_id)


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
