"""The board page's logs form (a ``collect_logs`` command, ``command.send``,
refused on the board's page like its other forms) and one bundle on a page
of its own, phone-friendly (``diagnostics.read``; every reading audited, as
``GET /api/v1/logs/{id}``). The section itself: ``log_bundles.py``."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms
from fleet_server.api.console.boards import BoardId, board_view
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.web import form_for, page_for, redirect, render
from fleet_server.api.deps import Ctx, Db, client_address
from fleet_server.errors import RequestError
from fleet_server.logbundles import service
from fleet_server.logbundles.schemas import CollectLogsIn

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for(service.CAPABILITY))]
Sender = Annotated[Principal, Depends(form_for("command.send"))]
BundleId = Annotated[int, Path(ge=1, le=2**62)]
LABELS = {"minutes": "logs.minutes", "lines": "logs.lines", "include": "logs.include"}


@router.post("/boards/{board_id}/logs")
def ask_for_logs(
    request: Request,
    conn: Db,
    ctx: Ctx,
    user: Sender,
    board_id: BoardId,
    minutes: Annotated[str, Form(), Longest(10)] = "60",
    lines: Annotated[str, Form(), Longest(10)] = "1000",
    include: Annotated[list[str] | None, Form(max_length=2)] = None,
) -> Response:
    """ "Collect now": a ``collect_logs`` command, like
    ``POST /api/v1/boards/{id}/collect-logs``."""
    kinds = include if include is not None else []
    typed = {"minutes": minutes, "lines": lines, "include": ",".join(kinds)}
    try:
        body = forms.checked(CollectLogsIn, minutes=minutes, lines=lines, include=kinds)
        service.request_logs(
            conn,
            user,
            user.acting_from(client_address(request)),
            board_id,
            body,
            commands=ctx.commands,
            settings=ctx.settings,
            now=ctx.clock(),
        )
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            typed,
            lambda refusal: board_view(request, conn, ctx.clock(), user, board_id, refusal),
            "logs",
            LABELS,
        )
    return redirect(f"/boards/{board_id}#logs", flash="logs_requested")


@router.get("/boards/{board_id}/logs/{bundle_id}")
def log_bundle_page(
    request: Request, conn: Db, user: Reader, board_id: BoardId, bundle_id: BundleId
) -> Response:
    actor = user.acting_from(client_address(request))
    found = service.read_bundle(conn, user, actor, bundle_id, board_id=board_id)
    text = found.text.decode(errors="replace")
    if found.kind == "diagnostics":
        # shown as it came when it is no longer JSON (a report cut to fit)
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return render(
        request,
        "log_bundle.html",
        user,
        {
            "board_id": board_id,
            "bundle_id": bundle_id,
            "kind": found.kind,
            "meta": found,
            "text": text,
            "raw_url": service.content_url(bundle_id),
        },
    )
