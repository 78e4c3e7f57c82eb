"""The kill switch's form (Điều 12.2): blank a board, stop its content, or
resume, from the board page or from an unapproved-content incident
(``templates/_kill_switch.html``). The same checks, audit row and
publishing as ``POST /api/v1/boards/{id}/commands`` (docs/commands.md); an
incident the order answers gets a comment naming the command."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

import fleet_protocol as fp
from fleet_protocol.commands import MAX_REASON_CHARS
from fleet_server.access.principal import Principal
from fleet_server.api.console import forms
from fleet_server.api.console.boards import BoardId, board_view
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.web import form_for, redirect
from fleet_server.api.deps import Ctx, Db, client_address
from fleet_server.commands.schemas import CommandIn
from fleet_server.commands.service import send_command
from fleet_server.errors import Invalid, RequestError
from fleet_server.incidents.service import comment_incident, get_incident

router = APIRouter(include_in_schema=False)

Halter = Annotated[Principal, Depends(form_for("board.halt"))]
#: How long the console's orders wait for a board that is away (its player
#: may still show the file while its 4G link is down): an hour, within the
#: server's bounds (FLEET_COMMAND_EXPIRES_MAX_S).
EXPIRES_S = 3600


@router.post("/boards/{board_id}/kill-switch")
def kill_switch(
    request: Request,
    conn: Db,
    ctx: Ctx,
    user: Halter,
    board_id: BoardId,
    command: Annotated[str, Form(), Longest(40)] = "",
    reason: Annotated[str, Form(), Longest(MAX_REASON_CHARS)] = "",
    confirm: Annotated[str | None, Form(), Longest(10)] = None,
    incident: Annotated[int | None, Form(ge=1, le=2**62)] = None,
) -> Response:
    """Send ``blank_screen``, ``stop_content`` or ``resume``; back to the
    board page, which shows the command's state and the board's answer."""
    typed = {"command": command, "reason": reason, "incident": str(incident or "")}
    now = ctx.clock()
    try:
        forms.fit({**typed, "confirm": confirm})
        if command not in fp.KILL_SWITCH_COMMANDS:
            raise Invalid(f"unknown kill-switch command {command[:40]!r}", field="command")
        if incident is not None and get_incident(conn, user, incident).board_id != board_id:
            raise Invalid(f"incident #{incident} is not about board {board_id}", field="incident")
        body = CommandIn(
            command=command,  # checked above
            confirm=confirm in ("true", "on", "1"),
            note=reason.strip() or None,
            expires_in_s=max(
                min(EXPIRES_S, ctx.settings.command_expires_max_s),
                ctx.settings.command_expires_min_s,
            ),
        )
        actor = user.acting_from(client_address(request))
        sent = send_command(
            conn, user, actor, board_id, body, commands=ctx.commands, settings=ctx.settings, now=now
        )
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            typed,
            lambda ctx_: board_view(request, conn, now, user, board_id, ctx_),
            f"kill-{command}" if command in fp.KILL_SWITCH_COMMANDS else "kill",
            {"reason": "kill.reason", "note": "kill.reason"},
        )
    conn.commit()
    if incident is not None and user.can("incident.comment"):
        comment_incident(
            conn,
            user,
            actor,
            incident,
            now=now,
            text=f"{command} ({sent.request_id}): {sent.note}",
        )
        conn.commit()
    query = {"kill": command, **({"incident": str(incident)} if incident else {})}
    return redirect(f"/boards/{board_id}?{urlencode(query)}#kill-switch")
