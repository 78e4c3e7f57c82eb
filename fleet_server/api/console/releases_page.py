"""Agent releases and rollouts in the console (administrators,
``release.manage``; docs/updates.md): ``/releases`` lists the published
releases and the rollouts, with a form to start one (or only count the
boards it would reach); ``/rollouts/{id}`` shows the boards per state and
a page of the boards' states (problems first, filtered by state) with
their reason and the pause, resume and abort buttons. The same services as
``/api/v1/rollouts`` (checked the same way, audited)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import cursor_pager, forms, place_search
from fleet_server.api.console.forms import ALL, Longest, checked
from fleet_server.api.console.rollout_words import reason_words
from fleet_server.api.console.web import form_for, language_of, page_for, redirect, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import Invalid, RequestError
from fleet_server.organisations.service import list_organisations
from fleet_server.releases import service as releases
from fleet_server.releases.service import CAPABILITY
from fleet_server.rollouts import service
from fleet_server.rollouts.models import BOARD_STATES
from fleet_server.rollouts.schemas import DryRunOut, RolloutIn

router = APIRouter(include_in_schema=False)

Manager = Annotated[Principal, Depends(page_for(CAPABILITY))]
Poster = Annotated[Principal, Depends(form_for(CAPABILITY))]
RolloutId = Annotated[int, Path(ge=1, le=2**62)]
#: the state badges of the board table
BADGES = {
    "healthy": "st-online",
    "rolled_back": "st-lost",
    "failed": "st-lost",
    "waiting": "st-stale",
    "cancelled": "st-unknown",
    "skipped": "st-unknown",
}
_SPLIT = re.compile(r"[,;\s]+")


@router.get("/releases")
def releases_page(request: Request, conn: Db, user: Manager) -> Response:
    return _page(request, conn, user)


def _page(
    request: Request, conn: Conn, user: Principal, extra: dict[str, Any] | None = None
) -> Response:
    return render(
        request,
        "releases.html",
        user,
        {
            "releases": releases.list_releases(conn, user),
            "rollouts": service.list_rollouts(conn, user),
            "organisations": list_organisations(conn, user, ALL).items,
            "places": place_search.shortlist(conn, user),  # the sites' pickers
            "dry": None,
            **(extra or {}),
        },
        lang=language_of(request, user),
    )


def waves_of(text: str) -> list[dict[str, Any]]:
    """``1, 10%, 100%``: a count or a percentage per wave."""
    waves: list[dict[str, Any]] = []
    for item in (i for i in _SPLIT.split(text.strip()) if i):
        try:
            if item.endswith("%"):
                waves.append({"percent": float(item[:-1].replace(",", "."))})
            else:
                waves.append({"count": int(item)})
        except ValueError:
            raise Invalid(f"waves: {item[:20]!r} is neither a number nor a percentage",
                          field="waves") from None  # fmt: skip
    return waves


def threshold_of(text: str) -> dict[str, Any]:
    """``2`` (boards) or ``20%`` (of the boards tried)."""
    text = text.strip()
    try:
        if text.endswith("%"):
            return {"max_failure_percent": float(text[:-1].replace(",", "."))}
        return {"max_failures": int(text or "0")}
    except ValueError:
        raise Invalid(f"threshold: {text[:20]!r} is not a number", field="threshold") from None


@router.post("/releases/rollouts")
def create_rollout(
    request: Request,
    conn: Db,
    now: Now,
    user: Poster,
    version: Annotated[str, Form(), Longest(40)] = "",
    organisation_id: Annotated[str, Form(), Longest(20)] = "",
    site_ids: Annotated[list[int] | None, Form()] = None,
    site: Annotated[list[place_search.PickedText] | None, Form(max_length=10)] = None,
    board_ids: Annotated[str, Form(), Longest(20_000)] = "",
    tags: Annotated[str, Form(), Longest(600)] = "",
    waves: Annotated[str, Form(), Longest(200)] = "",
    pause_min: Annotated[str, Form(), Longest(10)] = "10",
    threshold: Annotated[str, Form(), Longest(10)] = "0",
    health_deadline_s: Annotated[str, Form(), Longest(10)] = "300",
    force: Annotated[str, Form(), Longest(10)] = "",
    dry_run: Annotated[str, Form(), Longest(10)] = "",
) -> Response:
    typed = {
        "version": version, "organisation_id": organisation_id, "board_ids": board_ids,
        "tags": tags, "waves": waves, "pause_min": pause_min, "threshold": threshold,
        "health_deadline_s": health_deadline_s, "force": force,
        "site": (site or [])[: place_search.MANY],
    }  # fmt: skip
    try:
        forms.fit({**typed, "dry_run": dry_run})
        boards = [b for b in _SPLIT.split(board_ids.strip()) if b]
        tagged = [tag for tag in _SPLIT.split(tags.strip()) if tag]
        picked = place_search.sites_picked(conn, user, typed["site"], "site")
        sites = [*(site_ids or []), *(s for s in picked if s not in (site_ids or []))]
        target = {
            "organisation_id": int(organisation_id) if organisation_id.isdigit() else None,
            "site_ids": sites or None,
            "board_ids": boards or None,
            "tags": tagged or None,
        }
        pause = float(pause_min.replace(",", ".")) if pause_min.strip() else 0.0
        body = checked(
            RolloutIn,
            version=version,
            target=target,
            waves=waves_of(waves),
            pause_s=round(pause * 60),
            health_deadline_s=health_deadline_s.strip() or "300",
            force=bool(force),
            dry_run=bool(dry_run),
            **threshold_of(threshold),
        )
        actor = user.acting_from(client_address(request))
        created = service.create(conn, user, actor, body, now=now)
    except (RequestError, ValueError) as exc:
        error = exc if isinstance(exc, RequestError) else Invalid(f"pause_min: {exc}",
                                                                 field="pause_min")  # fmt: skip
        return forms.refused(
            conn, error, typed, lambda ctx: _page(request, conn, user, ctx), "new-rollout",
            {"target": "rollouts.target", "site": "rollouts.sites", "waves": "rollouts.waves",
             "threshold": "rollouts.threshold", "max_failures": "rollouts.threshold",
             "max_failure_percent": "rollouts.threshold", "pause_s": "rollouts.pause_min",
             "health_deadline_s": "rollouts.health_deadline", "version": "rollouts.version"},
        )  # fmt: skip
    if isinstance(created, DryRunOut):
        conn.rollback()
        return _page(request, conn, user, {"dry": created, "form": typed})
    conn.commit()
    return redirect(f"/rollouts/{created.id}", flash="rollout_created")


@router.get("/rollouts/{rollout_id}")
def rollout_page(
    request: Request, conn: Db, user: Manager, rollout_id: RolloutId,
    cursor: cursor_pager.CursorQuery = None,
) -> Response:  # fmt: skip
    return _rollout(request, conn, user, rollout_id, cursor=cursor)


#: Boards a page of the rollout's table shows.
ROLLOUT_PAGE_BOARDS = 100


def _rollout(
    request: Request,
    conn: Conn,
    user: Principal,
    rollout_id: int,
    extra: dict[str, Any] | None = None,
    *,
    cursor: str | None = None,
) -> Response:
    """The rollout, its boards per state (each a filter) and a page of its
    boards, failed and rolled back first: the whole table of a 10,000-board
    rollout made a 1.7 MB page (issue 20)."""
    lang = language_of(request, user)
    state = request.query_params.get("state")
    state = state if state in BOARD_STATES else None
    rollout = service.get(conn, user, rollout_id)
    paging = ListParams(limit=ROLLOUT_PAGE_BOARDS, offset=0, sort="problems", cursor=cursor)
    page = service.boards_page(conn, user, rollout_id, paging, states=[state] if state else None)
    return render(
        request,
        "rollout.html",
        user,
        {
            "rollout": rollout,
            "page": page,
            "state": state or "",
            "last_wave": service.last_wave(conn, rollout_id),
            "pager": cursor_pager.links(
                f"/rollouts/{rollout_id}", request.query_params, page, cursor
            ),
            "badges": BADGES,
            "board_states": BOARD_STATES,
            "words": lambda reason: reason_words(reason, lang),
            **(extra or {}),
        },
        lang=lang,
    )


def _act(
    request: Request, conn: Conn, now: Any, user: Principal, rollout_id: int, action: str,
    reason: str,
) -> Response:  # fmt: skip
    try:
        forms.fit({"reason": reason})
        actor = user.acting_from(client_address(request))
        service.act(conn, user, actor, rollout_id, action, reason=reason[:500], now=now)
    except RequestError as exc:
        return forms.refused(
            conn, exc, {"reason": reason},
            lambda ctx: _rollout(request, conn, user, rollout_id, ctx), "actions",
        )  # fmt: skip
    conn.commit()
    return redirect(f"/rollouts/{rollout_id}", flash=f"rollout_{action}")


@router.post("/rollouts/{rollout_id}/pause")
def pause(
    request: Request, conn: Db, now: Now, user: Poster, rollout_id: RolloutId,
    reason: Annotated[str, Form(), Longest(500)] = "",
) -> Response:  # fmt: skip
    return _act(request, conn, now, user, rollout_id, "pause", reason)


@router.post("/rollouts/{rollout_id}/resume")
def resume(
    request: Request, conn: Db, now: Now, user: Poster, rollout_id: RolloutId,
    reason: Annotated[str, Form(), Longest(500)] = "",
) -> Response:  # fmt: skip
    return _act(request, conn, now, user, rollout_id, "resume", reason)


@router.post("/rollouts/{rollout_id}/abort")
def abort(
    request: Request, conn: Db, now: Now, user: Poster, rollout_id: RolloutId,
    reason: Annotated[str, Form(), Longest(500)] = "",
) -> Response:  # fmt: skip
    return _act(request, conn, now, user, rollout_id, "abort", reason)


def agent_section(conn: Conn, user: Principal, board_id: str, lang: str) -> dict[str, Any]:
    """The board page's agent section (_agent_update.html), its last
    update's reason in the reader's language."""
    agent = service.agent_on_board(conn, user, board_id)
    last = agent["last"]
    return agent | {"reason": reason_words(last.reason, lang) if last else None}
