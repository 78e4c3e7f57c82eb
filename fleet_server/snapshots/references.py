"""Reference pictures: what a camera should see, and what an approved item
looks like on a screen (issue 18's "moved" and "wrong content").

An operator who looks at a picture and finds it right says so: "use as the
reference". For a camera, its perceptual hash becomes the camera's reference
on that board (``proof.camera_references``: the board calls the camera
*moved* when its picture drifts far from it). For the screen, the picture's
hash becomes a reference frame of the approved item that was on air when it
was taken (table ``content_reference_frames``), and every board in the
caller's scope that played the item in the last week gets the frames of the
items it played (``proof.screen_references``: the board calls a screen far
from every frame of the item on air *wrong content*).

Both travel in the board's desired configuration, a new version each time
(audited as ``board.config``, published retained like any other), so a
board that is away gets them when it comes back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from fleet_server.access.principal import Actor, Principal
from fleet_server.commands import service as commands_service
from fleet_server.commands import storage as commands_store
from fleet_server.commands.delivery import CommandService
from fleet_server.commands.schemas import ConfigIn
from fleet_server.errors import Conflict, Invalid, NotFound
from fleet_server.snapshots import service
from fleet_server.snapshots.storage import Conn

#: Frames kept per item, and items sent to one board: the desired
#: configuration stays well inside a message's 16 KiB.
MAX_FRAMES = 4
MAX_ITEMS = 32
#: Boards that played an item within this long get its frames.
PLAYED_WITHIN = timedelta(days=7)
#: The item on air when a picture was taken: the newest display reading at
#: most this long before it.
ON_AIR_WITHIN = timedelta(minutes=10)


class ReferenceOut(BaseModel):
    """A picture taken as a reference, and the boards told so."""

    snapshot_id: int
    source: str
    camera_id: str | None
    #: the approved item (screen pictures only)
    sha256: str | None
    phash: str
    #: the boards whose desired configuration now carries it
    boards: list[str]


def use_as_reference(
    conn: Conn,
    user: Principal,
    actor: Actor,
    snapshot_id: int,
    *,
    commands: CommandService | None,
    now: datetime,
) -> ReferenceOut:
    """Take picture ``snapshot_id`` as the reference of its camera, or as a
    reference frame of the approved item it shows."""
    found = service.snapshot_picture(conn, user, snapshot_id)  # 404 if not visible
    user.need("command.send")
    commands_service.board_for_commands(conn, user.scope, found.board_id)
    row = conn.execute("SELECT phash FROM snapshots WHERE id = %s", (snapshot_id,)).fetchone()
    assert row is not None
    phash = str(row[0])
    if found.source == "camera":
        camera = found.camera_id or ""

        def camera_reference(proof: dict[str, Any]) -> None:
            proof["camera_references"] = {**proof.get("camera_references", {}), camera: phash}

        _push(conn, user, actor, found.board_id, camera_reference, commands=commands, now=now)
        return ReferenceOut(
            snapshot_id=snapshot_id,
            source="camera",
            camera_id=camera,
            sha256=None,
            phash=phash,
            boards=[found.board_id],
        )
    sha256 = _on_air(conn, found.board_id, found.captured_at)
    conn.execute(
        "INSERT INTO content_reference_frames"
        " (sha256, phash, snapshot_id, board_id, created_by, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (sha256, phash) DO NOTHING",
        (sha256, phash, snapshot_id, found.board_id, user.actor, now),
    )
    conn.execute(
        "DELETE FROM content_reference_frames WHERE sha256 = %s AND id NOT IN ("
        " SELECT id FROM content_reference_frames WHERE sha256 = %s"
        " ORDER BY created_at DESC, id DESC LIMIT %s)",
        (sha256, sha256, MAX_FRAMES),
    )
    told = []
    for board_id in _players(conn, sha256, found.board_id, now):
        try:
            commands_service.board_for_commands(conn, user.scope, board_id)
        except (NotFound, Conflict):
            continue  # outside the caller's sites, or disabled
        frames = _frames_for(conn, board_id, now)

        def screen_references(proof: dict[str, Any], frames: dict[str, list[str]] = frames) -> None:
            proof["screen_references"] = frames

        _push(conn, user, actor, board_id, screen_references, commands=commands, now=now)
        told.append(board_id)
    return ReferenceOut(
        snapshot_id=snapshot_id,
        source="screen",
        camera_id=None,
        sha256=sha256,
        phash=phash,
        boards=told,
    )


def _on_air(conn: Conn, board_id: str, at: datetime) -> str:
    """The approved item the board said was on air when the picture was taken."""
    row = conn.execute(
        "SELECT d.content_sha256, c.sha256 FROM telemetry_display d"
        " LEFT JOIN content_items c ON c.sha256 = d.content_sha256"
        " WHERE d.device_id = %s AND d.measured_at <= %s AND d.measured_at > %s"
        " ORDER BY d.measured_at DESC LIMIT 1",
        (board_id, at, at - ON_AIR_WITHIN),
    ).fetchone()
    if row is None or row[0] is None:
        raise Invalid(
            "snapshot: the board reported no item on air when this picture was taken",
            field="snapshot",
        )
    if row[1] is None:
        raise Invalid(
            "snapshot: the item on air when this picture was taken is not in the approved"
            " registry; approve it first",
            field="snapshot",
        )
    return str(row[0])


def _players(conn: Conn, sha256: str, board_id: str, now: datetime) -> list[str]:
    """The board the picture came from, then every board that showed the
    item in the last week (the play log, rebuilt daily by the compliance job)."""
    rows = conn.execute(
        "SELECT DISTINCT device_id FROM play_log WHERE content_sha256 = %s AND started_at > %s",
        (sha256, now - PLAYED_WITHIN),
    ).fetchall()
    return [board_id, *sorted({str(r[0]) for r in rows} - {board_id})]


def _frames_for(conn: Conn, board_id: str, now: datetime) -> dict[str, list[str]]:
    """The reference frames of the items ``board_id`` showed in the last week
    (its play log) or shows now (its newest display reading), the most
    recently shown first, at most MAX_ITEMS."""
    rows = conn.execute(
        """SELECT f.sha256, f.phash FROM content_reference_frames f
             JOIN (SELECT content_sha256, max(last_shown) AS last_shown FROM (
                       SELECT content_sha256, started_at AS last_shown FROM play_log
                        WHERE device_id = %(board)s AND started_at > %(since)s
                       UNION ALL
                       SELECT data->>'content_sha256', observed_at FROM board_latest
                        WHERE device_id = %(board)s AND kind = 'display'
                          AND data->>'content_sha256' IS NOT NULL) shown
                    GROUP BY content_sha256
                    ORDER BY last_shown DESC LIMIT %(items)s) p ON p.content_sha256 = f.sha256
            ORDER BY p.last_shown DESC, f.created_at DESC, f.id DESC""",
        {"board": board_id, "since": now - PLAYED_WITHIN, "items": MAX_ITEMS},
    ).fetchall()
    frames: dict[str, list[str]] = {}
    for sha256, phash in rows:
        frames.setdefault(str(sha256), []).append(str(phash))
    return frames


def _push(
    conn: Conn,
    user: Principal,
    actor: Actor,
    board_id: str,
    change: Callable[[dict[str, Any]], None],
    *,
    commands: CommandService | None,
    now: datetime,
) -> None:
    """A new desired configuration version of ``board_id``: its current one
    with ``change`` made to its ``proof`` section."""
    latest = commands_store.latest_desired(conn, board_id)
    config: dict[str, Any] = copy.deepcopy(dict(latest.config)) if latest else {}
    proof = dict(config.get("proof") or {})
    change(proof)
    config["proof"] = proof
    commands_service.set_desired_config(
        conn, user, actor, board_id, ConfigIn(config=config), commands=commands, now=now
    )
