"""Screen and camera pictures in the console (issue 18): the board page's
"Pictures" section (the newest picture of the screen and of each camera,
with what the board judged of it), the pictures an incident's screen or
camera took since it opened, the newest picture of each camera on the
cameras page, and the two forms: take a picture now (a ``screenshot``
command) and use a picture as the reference.

Who sees what is the snapshots service's: a screen picture needs
``board.read``, a camera picture ``camera.read`` (the Border Guard sees its
cameras, never a screen). The images themselves are served by the API
(``GET /api/v1/snapshots/{id}.jpg``), which accepts the console's session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Conn
from fleet_server.boards.schemas import BoardDetail
from fleet_server.incidents.schemas import IncidentOut
from fleet_server.snapshots import service
from fleet_server.snapshots.schemas import SnapshotOut, Source

#: The capability each source's pictures need (the snapshots service's).
NEEDS = service.NEEDS

#: Pictures shown on an incident's page.
INCIDENT_PICTURES = 6
#: Incidents about what is on the screen (their pictures are the screen's).
SCREEN_RULES = ("screen_", "display_dark")


@dataclass(slots=True)
class Shown:
    """One picture slot: the screen or one camera, its newest picture (if
    any) and what the board's latest reading said of it."""

    source: str
    camera_id: str | None
    name: str
    picture: SnapshotOut | None
    #: verdict codes (``verdict.<code>``): black, frozen, covered, moved, wrong_content, ok
    verdicts: list[str] = field(default_factory=list)
    #: the reading's figures: (``pictures.<key>`` label, value)
    figures: dict[str, Any] = field(default_factory=dict)
    #: where the screen picture came from (``screen_source.<code>``)
    capture: str | None = None
    #: why the board could not take one (its own words)
    error: str | None = None
    #: the reading's time
    checked_at: Any = None


def _judged(slot: Shown, check: dict[str, Any] | None, error: Any) -> Shown:
    """The board's verdicts and figures from a PictureCheck as sent."""
    slot.error = str(error) if error else None
    if not isinstance(check, dict):
        return slot
    codes = [
        code
        for code in ("black", "frozen", "covered", "moved", "wrong_content")
        if check.get(code) is True
    ]
    slot.verdicts = codes or ["ok"]
    slot.checked_at = check.get("captured_at")
    slot.capture = check.get("source")
    for key in ("luma_mean", "same_count", "reference_distance"):
        if check.get(key) is not None:
            slot.figures[key] = check[key]
    reference = "wrong_content" if slot.source == "screen" else "moved"
    if reference in check and check[reference] is None:
        slot.figures["no_reference"] = True
    return slot


def board_pictures(conn: Conn, user: Principal, board: BoardDetail) -> list[Shown]:
    """The screen (for ``board.read``) and each camera (for ``camera.read``):
    the newest picture and the latest reading's verdicts."""
    sources = service.visible_sources(user)
    if not sources:
        return []
    latest = service.latest_pictures(conn, user, board.id)
    newest = {(p.source, p.camera_id): p for p in latest}
    slots = []
    if "screen" in sources:
        display = board.latest.get("display")
        data = display.data if display else {}
        slot = Shown("screen", None, "", newest.get(("screen", None)))
        slots.append(_judged(slot, data.get("screen"), data.get("screen_error")))
    if "camera" in sources:
        camera = board.latest.get("camera")
        reported = {
            c.get("camera_id"): c
            for c in (camera.data.get("cameras", []) if camera else [])
            if isinstance(c, dict)
        }
        for cam in board.camera_list:
            status = reported.get(cam.camera_id, {})
            slot = Shown("camera", cam.camera_id, cam.name, newest.get(("camera", cam.camera_id)))
            slots.append(_judged(slot, status.get("picture"), status.get("picture_error")))
    return slots


def picture_kind(incident: IncidentOut) -> Source | None:
    """``screen`` or ``camera`` for an incident about what a board's screen
    shows or what one of its cameras sees; None for others."""
    if incident.board_id is None:
        return None
    if incident.rule.startswith(SCREEN_RULES[0]) or incident.rule in SCREEN_RULES[1:]:
        return "screen"
    if incident.rule.startswith("camera_") and incident.details.get("camera_id"):
        return "camera"
    return None


def incident_pictures(conn: Conn, user: Principal, incident: IncidentOut) -> list[SnapshotOut]:
    """The pictures of an incident's screen or camera taken since it opened,
    newest first (at most INCIDENT_PICTURES); none for other incidents or a
    reader who may not see them."""
    kind = picture_kind(incident)
    if kind is None or incident.board_id is None or not user.can(NEEDS[kind]):
        return []
    camera = str(incident.details["camera_id"]) if kind == "camera" else None
    found = service.list_snapshots(
        conn, user, incident.board_id, source=kind, camera_id=camera, limit=INCIDENT_PICTURES
    )
    return [p for p in found.items if p.captured_at >= incident.opened_at]


def camera_thumbnails(
    conn: Conn, user: Principal, board_ids: list[str]
) -> dict[tuple[str, str], SnapshotOut]:
    """The newest picture of each camera of ``board_ids``, by (board, camera)."""
    if not user.can(service.NEEDS["camera"]):
        return {}
    found = service.newest_pictures(conn, user, list(dict.fromkeys(board_ids)), "camera")
    return {(p.board_id, p.camera_id or ""): p for p in found}
