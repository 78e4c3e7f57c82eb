"""Creating, reading, pausing, resuming and aborting rollouts (admin only,
``release.manage``; docs/updates.md). Every change is audited. The engine's
rollout pass (``job.py``) does the sending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fleet_server.access import audit
from fleet_server.access.pagination import CursorPage, ListParams
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Conflict, NotFound, Unprocessable
from fleet_server.releases import storage as releases
from fleet_server.releases.service import CAPABILITY
from fleet_server.rollouts import storage as store
from fleet_server.rollouts.job import end
from fleet_server.rollouts.models import Wave, wave_numbers
from fleet_server.rollouts.schemas import (
    DETAIL_BOARDS,
    DryRunOut,
    RolloutBoardOut,
    RolloutDetail,
    RolloutIn,
    RolloutOut,
)
from fleet_server.rollouts.storage import Conn, RolloutRow


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"{field}: {message}", field=field)


def _plan(body: RolloutIn) -> list[Wave]:
    plan = []
    for n, wave in enumerate(body.waves):
        if (wave.count is None) == (wave.percent is None):
            raise _invalid(f"waves.{n}", "give either count or percent")
        plan.append(Wave(wave.count, wave.percent))
    return plan


def _threshold(body: RolloutIn) -> tuple[int | None, float | None]:
    if body.max_failures is not None and body.max_failure_percent is not None:
        raise _invalid("max_failures", "give max_failures or max_failure_percent, not both")
    if body.max_failure_percent is not None:
        return None, body.max_failure_percent
    return (0 if body.max_failures is None else body.max_failures), None


def _targeted(conn: Conn, body: RolloutIn) -> list[store.Targeted]:
    target = body.target
    given = (target.organisation_id, target.site_ids, target.board_ids, target.tags)
    if all(criterion is None for criterion in given):
        raise _invalid("target", "give organisation_id, site_ids, board_ids or tags")
    if target.organisation_id is not None and not store.organisation_exists(
        conn, target.organisation_id
    ):
        raise _invalid("target.organisation_id", f"no organisation {target.organisation_id}")
    if target.site_ids is not None:
        unknown_sites = store.unknown_sites(conn, target.site_ids)
        if unknown_sites:
            named = ", ".join(str(s) for s in unknown_sites[:10])
            raise _invalid("target.site_ids", f"unknown sites: {named}")
    if target.board_ids is not None:
        unknown = store.unknown_boards(conn, target.board_ids)
        if unknown:
            raise _invalid("target.board_ids", f"unknown boards: {', '.join(unknown[:10])}")
    boards = store.targeted(
        conn,
        organisation_id=target.organisation_id,
        site_ids=target.site_ids,
        board_ids=target.board_ids,
        tags=target.tags,
    )
    if not boards:
        raise _invalid("target", "no board matches")
    return boards


def create(
    conn: Conn, user: Principal, actor: Actor, body: RolloutIn, *, now: datetime
) -> RolloutDetail | DryRunOut:
    """A new rollout (``scheduled`` until ``starts_at``, else ``running``), or
    with ``dry_run`` only what it would target."""
    user.need(CAPABILITY)
    if releases.get(conn, body.version) is None:
        raise _invalid("version", f"no release {body.version} is published")
    plan = _plan(body)
    max_failures, max_percent = _threshold(body)
    boards = _targeted(conn, body)
    numbers = wave_numbers(len(boards), plan)
    skipped = sum(not b.enabled for b in boards)
    if body.dry_run:
        sizes = [numbers.count(n) for n in range(1, max(numbers) + 1)]
        return DryRunOut(version=body.version, boards=len(boards), waves=sizes, skipped=skipped)
    starts_at = body.starts_at or now
    rollout_id = store.insert_rollout(
        conn,
        {
            "version": body.version,
            "target": body.target.model_dump(exclude_none=True),
            "waves": [w.model_dump(exclude_none=True) for w in body.waves],
            "pause_s": body.pause_s,
            "max_failures": max_failures,
            "max_failure_percent": max_percent,
            "force": body.force,
            "health_deadline_s": body.health_deadline_s,
            "state": "scheduled" if starts_at > now else "running",
            "starts_at": starts_at,
            "created_by": user.actor,
            "created_at": now,
        },
    )
    versions = store.running_versions(conn, [b.board_id for b in boards])
    store.insert_boards(
        conn,
        rollout_id,
        [
            {
                "board_id": b.board_id,
                "position": position,
                "wave": wave,
                "state": "pending" if b.enabled else "skipped",
                "reason": None if b.enabled else "board disabled",
                "version_before": versions.get(b.board_id),
            }
            for position, (b, wave) in enumerate(zip(boards, numbers, strict=True), start=1)
        ],
        now,
    )
    detail = get(conn, user, rollout_id)
    audit.record(
        conn,
        actor,
        "rollout.create",
        target_type="rollout",
        target_id=rollout_id,
        after=detail.model_dump(exclude={"boards", "counts", "boards_total", "boards_truncated"})
        | {"boards": len(boards)},
    )
    return detail


def _out(row: RolloutRow, counts: dict[str, int]) -> dict[str, Any]:
    return row.model_dump(exclude={"updated_at"}) | {"counts": counts}


def list_rollouts(conn: Conn, user: Principal) -> list[RolloutOut]:
    user.need(CAPABILITY)
    rows = store.list_rollouts(conn)
    counts = store.counts(conn, [r.id for r in rows])
    return [RolloutOut.model_validate(_out(r, counts[r.id])) for r in rows]


def get(conn: Conn, user: Principal, rollout_id: int) -> RolloutDetail:
    user.need(CAPABILITY)
    row = store.get_rollout(conn, rollout_id)
    if row is None:
        raise NotFound("rollout", rollout_id)
    return _detail(conn, row)


def _detail(conn: Conn, row: RolloutRow) -> RolloutDetail:
    """The rollout with its boards per state and (deprecated) its first
    ``DETAIL_BOARDS`` boards: the whole list is paged apart (a rollout of
    10,000 boards made an answer of 0.8 MB, issue 20)."""
    counts = store.counts(conn, [row.id])[row.id]
    total = sum(counts.values())
    first = store.boards_page(
        conn, row.id, ListParams(limit=DETAIL_BOARDS, offset=0, sort=None)
    ).items
    return RolloutDetail.model_validate(
        _out(row, counts)
        | {
            "boards": [RolloutBoardOut.model_validate(b.model_dump()) for b in first],
            "boards_total": total,
            "boards_truncated": len(first) < total,
        }
    )


def last_wave(conn: Conn, rollout_id: int) -> int:
    """The rollout's last wave with a board in it (0: no board)."""
    return store.last_wave(conn, rollout_id)


def boards_page(
    conn: Conn,
    user: Principal,
    rollout_id: int,
    paging: ListParams,
    *,
    states: list[str] | None = None,
) -> CursorPage[RolloutBoardOut]:
    """One page of a rollout's boards, by position or problems first."""
    user.need(CAPABILITY)
    if store.get_rollout(conn, rollout_id) is None:
        raise NotFound("rollout", rollout_id)
    page = store.boards_page(conn, rollout_id, paging, states=states)
    return CursorPage[RolloutBoardOut].model_validate(
        page.model_dump(exclude={"items"})
        | {"items": [RolloutBoardOut.model_validate(b.model_dump()) for b in page.items]}
    )


#: What each action does: the states it may start from and the state it leaves.
_ACTIONS = {
    "pause": (("running", "scheduled"), "paused"),
    "resume": (("paused",), "running"),
    "abort": (("running", "paused", "scheduled"), "aborted"),
}


def act(
    conn: Conn,
    user: Principal,
    actor: Actor,
    rollout_id: int,
    action: str,
    *,
    reason: str | None,
    now: datetime,
) -> RolloutDetail:
    """Pause, resume or abort a rollout (the row is locked: the engine's pass
    waits, or has finished its round)."""
    user.need(CAPABILITY)
    row = store.get_rollout(conn, rollout_id, lock=True)
    if row is None:
        raise NotFound("rollout", rollout_id)
    allowed, after = _ACTIONS[action]
    if row.state not in allowed:
        raise Conflict(f"rollout {rollout_id} is {row.state}; it cannot be {after}")
    before = row.state
    reason = (reason or "").strip() or None
    if after == "aborted":
        end(
            conn,
            row,
            store.boards_of(conn, rollout_id),
            "aborted",
            reason=reason or f"aborted by {user.actor}",
            now=now,
        )
    else:
        # a rollout paused before its time waits for its time again
        scheduled = after == "running" and row.starts_at > now
        row.state = "scheduled" if scheduled else after  # type: ignore[assignment]
        row.reason = reason
        store.save_rollout(conn, row, now)
    audit.record(
        conn,
        actor,
        f"rollout.{action}",
        target_type="rollout",
        target_id=rollout_id,
        before={"state": before},
        after={"state": row.state, "reason": row.reason},
    )
    return get(conn, user, rollout_id)


def agent_on_board(conn: Conn, user: Principal, board_id: str) -> dict[str, Any]:
    """The board page's agent section: the version it runs (its newest
    heartbeat or birth) and its place in its newest rollout (the caller
    checked the board is in scope)."""
    user.need("board.read")
    last = store.last_update(conn, board_id)
    return {
        "version": store.running_versions(conn, [board_id]).get(board_id),
        "last": RolloutBoardOut.model_validate(last[0].model_dump()) if last else None,
        "target": last[1] if last else None,
    }
