"""Board provisioning in the console (``/admin/boards``, ``board.provision``:
admins anywhere, operators at their organisation's sites): the boards by
lifecycle status (waiting for their first connection, connected, disabled,
removed), a new board with its broker account, new credentials, disabling,
enabling and removing — the API's ``/api/v1/boards`` provisioning routes
through the same service (provisioning/service.py), audited the same way.

The credentials (password, or private key and certificate) and the board's
``agent.toml`` are on the one page that answers the form, with a download
of each file, and nowhere else: not stored, not logged, not shown again
(the page is ``no-store``; reloading it does not show them again)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import admin, cursor_pager, place_search
from fleet_server.api.console.forms import Longest, checked, fit
from fleet_server.api.console.web import form_for, page_for, render
from fleet_server.api.deps import Conn, Db, client_address, context
from fleet_server.errors import Invalid, RequestError
from fleet_server.provisioning import service_list as listing
from fleet_server.provisioning.models import CameraSpec, NewBoard, Provisioned, ProvisioningError
from fleet_server.provisioning.schemas import BoardCreate, RotateIn, credentials_out
from fleet_server.provisioning.schemas_list import PROVISION_STATUSES
from fleet_server.provisioning.service import ProvisioningService

router = APIRouter(include_in_schema=False)

Provisioner = Annotated[Principal, Depends(page_for("board.provision"))]
ProvisionForm = Annotated[Principal, Depends(form_for("board.provision"))]
BoardId = Annotated[str, Path(min_length=1, max_length=200)]
Field = Annotated[str, Form(), Longest(2000)]
T = TypeVar("T")


def _bare(user: Principal) -> dict[str, Any]:
    """What every provisioning page shows: the tabs and no error yet."""
    return {
        "tabs": admin.tabs_for(user),
        "error": None,
        "error_field": None,
        "error_form": None,
        "form": {},
    }


def _common(conn: Conn, user: Principal) -> dict[str, Any]:
    """The list page's: the new board form's site picker (a few sites listed,
    the others found as one types: not every site in scope in a select) and
    the count per status."""
    return {
        **_bare(user),
        "places": place_search.shortlist(conn, user, sites_only=True),
        "statuses": PROVISION_STATUSES,
        "counts": listing.counts(conn, user),
    }


def list_page(
    request: Request, conn: Conn, user: Principal, extra: dict[str, Any] | None = None
) -> Response:
    """The boards by status, a page at a time after the ``cursor`` of the
    page before (the rows after it in the list's order: each page reads
    only its rows, the first or the two-hundredth)."""
    params = request.query_params
    status = params.get("status") if params.get("status") in PROVISION_STATUSES else None
    query = admin.filters(params)
    cursor = params.get("cursor") or None
    values = _common(conn, user)
    page = listing.list_boards(
        conn,
        user,
        ListParams(limit=admin.PAGE_SIZE, offset=0, sort=None, cursor=cursor),
        status=status,
        q=query.q,
        counts=values["counts"],
    )
    values.update({"page": page, "status": status or "", "q": query.q or ""})
    values["pager"] = cursor_pager.links("/admin/boards", params, page, cursor)
    values.update(extra or {})
    return render(request, "admin_boards.html", user, values)


def _item_page(
    request: Request,
    conn: Conn,
    user: Principal,
    board_id: str,
    extra: dict[str, Any] | None = None,
) -> Response:
    board = listing.get_board(conn, user, board_id)
    # One board's page: not the list's site choices and counts per status
    # (every visible site and board read for nothing, issue 20).
    values = _bare(user)
    values.update({"board": board})
    values.update(extra or {})
    return render(request, "admin_board.html", user, values)


def run(request: Request, conn: Conn, work: Callable[[ProvisioningService], T]) -> T:
    """Provisioning commits its own transaction (with the broker change
    inside it): what the request did so far is committed first."""
    service = ProvisioningService(request.app.state.provisioning, clock=context(request).clock)
    conn.commit()
    return work(service)


def board_files(done: Provisioned) -> list[dict[str, str]]:
    """Each file of the board's bundle with a download link made in the page
    (a ``data:`` URL: nothing is kept on the server to download later)."""
    return [
        {
            "name": f.name,
            "mode": f.mode,
            "content": f.content,
            "href": "data:text/plain;charset=utf-8," + quote(f.content, safe=""),
        }
        for f in credentials_out(done.bundle).files
    ]


def _credentials(request: Request, user: Principal, done: Provisioned, what: str) -> Response:
    """The one page that shows a board's credentials: each file to copy or
    download (a data: link made in the page, nothing kept on the server)."""
    out = credentials_out(done.bundle)
    files = board_files(done)
    return render(
        request,
        "admin_credentials.html",
        user,
        {
            "tabs": admin.tabs_for(user),
            "board": done.board,
            "credentials": out,
            "files": files,
            "notes": list(done.notes),
            "what": what,
            "error": None,
            "error_field": None,
            "error_form": None,
        },
    )


def _cameras(text: str) -> list[dict[str, str]]:
    """One camera a line: its id, then its name (``cam1 Cổng chính``)."""
    cameras = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        camera_id, _, name = line.strip().partition(" ")
        if not name.strip():
            raise Invalid(f"cameras: line {number} needs an id and a name", field="cameras")
        cameras.append({"camera_id": camera_id, "name": name.strip()})
    return cameras


def _date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid("installed_on: not a date", field="installed_on") from None


def _site(conn: Conn, user: Principal, typed: str) -> int | None:
    """The site the picker posted (its token, id, code or exact name); None
    when nothing was chosen. An id or token is not checked here: the service
    refuses a site outside the caller's scope as one that does not exist."""
    if not typed.strip() or typed.strip().isdigit():
        return admin.number_or_none(typed, "site_id")
    site_id, _board = place_search.resolve(conn, user, typed, field="site_id", sites_only=True)
    if site_id is None:
        raise Invalid("site_id: choose the board's site, not a board", field="site_id")
    return site_id


#: The new-board form's field a provisioning refusal is about (the service's
#: refusal names none: the API answers with its ``reason``).
FIELD_OF_REASON = {
    "bad_id": "board_id",
    "duplicate": "board_id",
    "removed": "board_id",
    "unknown_site": "site_id",
}


def _about_field(exc: RequestError) -> RequestError:
    """``exc``, naming the form's field it is about, so the page marks it
    and names it by its label (the API's ``id`` is the form's ``board_id``)."""
    if isinstance(exc, ProvisioningError) and getattr(exc, "field", None) is None:
        exc.field = FIELD_OF_REASON.get(exc.reason)  # type: ignore[attr-defined]
    if isinstance(exc, Invalid) and exc.field == "id":
        return Invalid(f"board_id: {exc.detail.removeprefix('id: ')}", field="board_id")
    return exc


def _confirmed(confirm: str) -> None:
    if confirm != "yes":
        raise Invalid("confirm: tick the box to confirm", field="confirm")


# -- pages -------------------------------------------------------------------------------


@router.get("/admin/boards")
def boards_page(
    request: Request,
    conn: Db,
    user: Provisioner,
    status: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    cursor: cursor_pager.CursorQuery = None,
) -> Response:
    return list_page(request, conn, user)


@router.get("/admin/boards/{board_id}")
def board_page(request: Request, conn: Db, user: Provisioner, board_id: BoardId) -> Response:
    return _item_page(request, conn, user, board_id)


# -- forms -------------------------------------------------------------------------------


@router.post("/admin/boards")
def board_create(
    request: Request,
    conn: Db,
    user: ProvisionForm,
    board_id: Annotated[str, Form(), Longest(200)] = "",
    site_id: Annotated[str, Form(), Longest(600)] = "",
    name: Annotated[str, Form(), Longest(200)] = "",
    model: Annotated[str, Form(), Longest(100)] = "",
    serial: Annotated[str, Form(), Longest(100)] = "",
    installed_on: Field = "",
    heartbeat_interval_s: Annotated[str, Form(), Longest(6)] = "",
    cameras: Field = "",
    auth: Field = "password",
) -> Response:
    """Provision a board; the answer is the page with its one-time credentials."""
    form = {
        "board_id": board_id,
        "site_id": site_id,
        "name": name,
        "model": model,
        "serial": serial,
        "installed_on": installed_on,
        "heartbeat_interval_s": heartbeat_interval_s,
        "cameras": cameras,
        "auth": auth,
    }
    try:
        fit(form)
        heartbeat = heartbeat_interval_s.strip()
        if heartbeat and not re.fullmatch(r"\d{1,6}", heartbeat):
            raise Invalid(
                "heartbeat_interval_s: a whole number of seconds", field="heartbeat_interval_s"
            )
        body = checked(
            BoardCreate,
            id=board_id.strip(),
            site_id=_site(conn, user, site_id),
            name=name,
            model=admin.blank_none(model),
            serial=admin.blank_none(serial),
            installed_on=_date(installed_on),
            heartbeat_interval_s=int(heartbeat) if heartbeat else None,
            cameras=_cameras(cameras),
            auth=auth,
        )
        if body.site_id is None:
            raise Invalid("site_id: choose the board's site", field="site_id")
        spec = NewBoard(
            board_id=body.id,
            name=body.name,
            site=None,
            site_id=body.site_id,
            model=body.model,
            serial=body.serial,
            installed_on=body.installed_on,
            heartbeat_interval_s=body.heartbeat_interval_s,
            cameras=tuple(CameraSpec(c.camera_id, c.name) for c in body.cameras),
            auth=body.auth,
        )
        actor = user.acting_from(client_address(request))
        done = run(request, conn, lambda s: s.add_board(conn, spec, actor, scope=user.scope))
    except RequestError as exc:
        return admin.refused(
            conn, _about_field(exc), form, lambda ctx: list_page(request, conn, user, ctx), "new"
        )
    return _credentials(request, user, done, "created")


@router.post("/admin/boards/{board_id}/rotate")
def board_rotate(
    request: Request,
    conn: Db,
    user: ProvisionForm,
    board_id: BoardId,
    auth: Field = "",
    confirm: Annotated[str, Form(), Longest(5)] = "",
) -> Response:
    """New credentials (the old ones stop working at once); ``auth`` switches
    between password and certificate (empty: keep the board's)."""
    try:
        fit({"auth": auth, "confirm": confirm})
        _confirmed(confirm)
        body = checked(RotateIn, auth=admin.blank_none(auth))
        actor = user.acting_from(client_address(request))
        done = run(
            request,
            conn,
            lambda s: s.rotate_credentials(conn, board_id, actor, scope=user.scope, auth=body.auth),
        )
    except RequestError as exc:
        return admin.refused(
            conn, exc, {}, lambda ctx: _item_page(request, conn, user, board_id, ctx), "lifecycle"
        )
    return _credentials(request, user, done, "rotated")


def _change(request: Request, conn: Conn, user: Principal, board_id: str, what: str) -> Response:
    actor = user.acting_from(client_address(request))
    try:
        run(
            request,
            conn,
            lambda s: {
                "disabled": s.disable_board,
                "enabled": s.enable_board,
                "removed": s.remove_board,
            }[what](conn, board_id, actor, scope=user.scope),
        )
    except RequestError as exc:
        return admin.refused(
            conn, exc, {}, lambda ctx: _item_page(request, conn, user, board_id, ctx), "lifecycle"
        )
    return admin.done(f"/admin/boards/{quote(board_id, safe='')}", f"board_{what}")


@router.post("/admin/boards/{board_id}/disable")
def board_disable(request: Request, conn: Db, user: ProvisionForm, board_id: BoardId) -> Response:
    """Refused by the broker and disconnected at once; its history is kept."""
    return _change(request, conn, user, board_id, "disabled")


@router.post("/admin/boards/{board_id}/enable")
def board_enable(request: Request, conn: Db, user: ProvisionForm, board_id: BoardId) -> Response:
    return _change(request, conn, user, board_id, "enabled")


@router.post("/admin/boards/{board_id}/remove")
def board_remove(
    request: Request,
    conn: Db,
    user: ProvisionForm,
    board_id: BoardId,
    confirm: Annotated[str, Form(), Longest(5)] = "",
) -> Response:
    """Broker account deleted and certificates revoked; the board's row and
    history stay (marked removed), its id is not used again."""
    try:
        fit({"confirm": confirm})
        _confirmed(confirm)
    except RequestError as exc:
        return admin.refused(
            conn, exc, {}, lambda ctx: _item_page(request, conn, user, board_id, ctx), "lifecycle"
        )
    return _change(request, conn, user, board_id, "removed")
