"""Snapshots below the HTTP layer: who sees which pictures, and asking a
board for one (the ``screenshot`` command).

A picture of the screen is board data (``board.read``); a picture from a
camera is camera data (``camera.read``): the Border Guard sees the camera
pictures of the sites its unit guards and never a screen (Điều 13.1.b).
Everything else is scoped like a board read: a board, or a picture, outside
the caller's sites is answered exactly as one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import JsonValue

from fleet_server.access.principal import Actor, Principal
from fleet_server.boards.service import board_in_scope
from fleet_server.commands import service as commands_service
from fleet_server.commands.delivery import CommandService
from fleet_server.commands.schemas import CommandIn
from fleet_server.commands.storage import CommandRecord
from fleet_server.errors import Forbidden, NotFound
from fleet_server.settings import Settings
from fleet_server.snapshots import storage
from fleet_server.snapshots.schemas import ScreenshotIn, SnapshotList, SnapshotOut, Source
from fleet_server.snapshots.storage import Conn, Picture

#: The capability each source's pictures need.
NEEDS: dict[str, str] = {"screen": "board.read", "camera": "camera.read"}
MAX_PAGE = 100


def visible_sources(user: Principal) -> list[str]:
    """The sources whose pictures ``user``'s role may see."""
    return [source for source, capability in NEEDS.items() if user.can(capability)]


def image_url(snapshot_id: int) -> str:
    return f"/api/v1/snapshots/{snapshot_id}.jpg"


def _out(row: dict[str, Any]) -> SnapshotOut:
    return SnapshotOut(**row, url=image_url(int(row["id"])))


def list_snapshots(
    conn: Conn,
    user: Principal,
    board_id: str,
    *,
    source: Source | None = None,
    camera_id: str | None = None,
    before: int | None = None,
    limit: int = 20,
) -> SnapshotList:
    """A board's newest picture of each source the caller may see, and a
    page of its pictures, newest first."""
    if source is not None:
        user.need(NEEDS[source])
        sources: list[str] = [source]
    else:
        sources = visible_sources(user)
        if not sources:
            raise Forbidden(f"the {user.role} role may not see pictures (camera.read)")
    if camera_id is not None and "camera" not in sources:
        user.need("camera.read")
    if camera_id is not None:
        sources = ["camera"]
    board_in_scope(conn, user.scope, board_id)
    limit = max(1, min(limit, MAX_PAGE))
    rows = storage.history(
        conn, board_id, sources, camera_id=camera_id, before=before, limit=limit + 1
    )
    more = len(rows) > limit
    items = [_out(r) for r in rows[:limit]]
    return SnapshotList(
        board_id=board_id,
        latest=[_out(r) for r in storage.latest(conn, board_id, sources, camera_id=camera_id)],
        items=items,
        next_before=items[-1].id if more and items else None,
    )


def latest_pictures(conn: Conn, user: Principal, board_id: str) -> list[SnapshotOut]:
    """The board's newest picture of each source the caller sees (the
    screen, each camera): what the board page shows, one statement and no
    page of history. Empty for a role that sees no pictures."""
    sources = visible_sources(user)
    if not sources:
        return []
    board_in_scope(conn, user.scope, board_id)
    return [_out(r) for r in storage.latest(conn, board_id, sources, camera_id=None)]


def newest_pictures(
    conn: Conn, user: Principal, board_ids: list[str], source: Source
) -> list[SnapshotOut]:
    """The newest picture of ``source`` of each of ``board_ids`` (of each of
    their cameras), leaving out boards outside the caller's scope: one query
    for a page of boards or cameras, not one per board."""
    user.need(NEEDS[source])
    if not board_ids:
        return []
    return [_out(r) for r in storage.latest_of_boards(conn, user.scope, board_ids, source)]


def snapshot_picture(conn: Conn, user: Principal, snapshot_id: int) -> Picture:
    """One picture's bytes; NotFound for a picture the caller may not see
    (another organisation's board, or a screen for the Border Guard)."""
    found = storage.picture(conn, snapshot_id)
    if found is None or not user.can(NEEDS[found.source]):
        raise NotFound("snapshot", snapshot_id)
    board_in_scope(conn, user.scope, found.board_id, what="snapshot", ident=str(snapshot_id))
    return found


def request_screenshot(
    conn: Conn,
    user: Principal,
    actor: Actor,
    board_id: str,
    body: ScreenshotIn,
    *,
    commands: CommandService | None,
    settings: Settings,
    now: datetime,
) -> CommandRecord:
    """Ask a board for a picture now: a ``screenshot`` command, sent like
    every command (``commands.service.send_command``: checked, stored,
    audited, committed, then published); a camera's picture also needs
    ``camera.read``. The picture arrives on the board's snapshot channel
    with the command's request id."""
    user.need("command.send")
    if body.source != "screen":
        user.need("camera.read")
    args: dict[str, JsonValue] = {"source": body.source}
    if body.camera_id is not None:
        args["camera_id"] = body.camera_id
    command = CommandIn(command="screenshot", args=args, note=body.note)
    return commands_service.send_command(
        conn, user, actor, board_id, command, commands=commands, settings=settings, now=now
    )
