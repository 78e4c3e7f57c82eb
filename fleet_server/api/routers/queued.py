"""What every route that queues a command for a board answers (the commands,
screenshot and collect-logs routes): 202 with the command's record, and its
address in ``Location`` (``GET /api/v1/commands/{request_id}``) to follow it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from fastapi import Request, Response

from fleet_server.access.principal import Actor, Principal
from fleet_server.api.deps import ApiContext, client_address
from fleet_server.commands.storage import CommandRecord, Conn
from fleet_server.settings import Settings

if TYPE_CHECKING:
    from fleet_server.commands import CommandService

Body_contra = TypeVar("Body_contra", contravariant=True)
Body = TypeVar("Body")


class Send(Protocol[Body_contra]):
    """A service function that checks, stores and audits one command."""

    def __call__(
        self,
        conn: Conn,
        user: Principal,
        actor: Actor,
        board_id: str,
        body: Body_contra,
        /,
        *,
        commands: CommandService | None,
        settings: Settings,
        now: datetime,
    ) -> CommandRecord: ...


def accepted(
    send: Send[Body],
    request: Request,
    response: Response,
    conn: Conn,
    ctx: ApiContext,
    user: Principal,
    board_id: str,
    body: Body,
) -> CommandRecord:
    """``send`` the command on behalf of ``user`` (from the request's
    address) and answer with its record and where to follow it."""
    actor = user.acting_from(client_address(request))
    command = send(
        conn,
        user,
        actor,
        board_id,
        body,
        commands=ctx.commands,
        settings=ctx.settings,
        now=ctx.clock(),
    )
    response.headers["Location"] = f"/api/v1/commands/{command.request_id}"
    return command
