"""The incident queue (``/incidents``), one incident with its timeline
(``/incidents/{id}``), and the forms on them: acknowledge, resolve (a note is
required), comment; reporting an incident and its photos (Điều 9.3) is
``incident_report``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.pagination import CursorPage, ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import cursor_pager, forms, incident_report, pictures
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.web import (
    form_for,
    page_for,
    redirect,
    render,
    safe_next,
)
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import Invalid, RequestError
from fleet_server.incidents.models import SITE_RULE, IncidentFilter
from fleet_server.incidents.schemas import IncidentOut
from fleet_server.incidents.service import (
    acknowledge_incident,
    attached_incidents,
    comment_incident,
    get_incident,
    list_incidents,
    resolve_incident,
)
from fleet_server.notifications.service_notices import notices_of
from fleet_server.tickets.service import tickets_of_incident
from fleet_server.vocabulary import SEVERITIES

router = APIRouter(include_in_schema=False)
#: First, so ``/incidents/report`` is not taken for an incident's id.
router.include_router(incident_report.router)

PAGE_SIZE = 50
IncidentId = Annotated[int, Path(ge=1, le=2**62)]
Reader = Annotated[Principal, Depends(page_for("incident.read"))]
Writer = Annotated[Principal, Depends(form_for("incident.write"))]
Commenter = Annotated[Principal, Depends(form_for("incident.comment"))]
STATES = ("active", "open", "acknowledged", "resolved", "all")
CLASSES = ("technical", "security", "compliance")
#: Filters as the form sends them ("" for any); unknown values are ignored.
StateQuery = Annotated[str, Query(max_length=20)]
SeverityQuery = Annotated[str | None, Query(max_length=20)]
ClassQuery = Annotated[str | None, Query(alias="class", max_length=20)]
#: One board's incidents (the board page's "all N incidents" link).
BoardQuery = Annotated[str | None, Query(max_length=64, pattern=DEVICE_ID_PATTERN)]
#: The queue's orders as the form names them -> the list's sort
#: (storage_lists.KEYSET, each ending with the id, so a cursor stays exact
#: where keys tie): worst and newest first, or by site name (A to Z, the
#: name the incident keeps of its site, in Vietnamese).
SORTS: dict[str, str | None] = {"severity": None, "site_name": "site_name"}
SortQuery = Annotated[str, Query(max_length=20)]


#: The incident queue is for the roles that see whole boards
#: (``web.may_see_incidents``); the Border Guard sees its camera incidents on
#: the cameras page instead.
Desk = Annotated[Principal, Depends(page_for("incident.read", "board.read"))]


def states_for(state: str) -> list[str] | None:
    if state == "active":
        return ["open", "acknowledged"]
    if state == "all":
        return None
    return [state]


@dataclass(frozen=True)
class QueueAsked:
    """What the queue's address asks for (the page and its live fragment):
    the filters, the order and the cursor, unknown values ignored."""

    state: str = "active"
    severity: str | None = None
    incident_class: str | None = None
    board_id: str | None = None
    sort: str = "severity"
    cursor: str | None = None

    def filters(self) -> dict[str, Any]:
        """The filter form's values (``class`` as the form names it)."""
        return {
            "state": self.state,
            "severity": self.severity,
            "class": self.incident_class,
            "board_id": self.board_id,
            "sort": self.sort,
        }


async def queue_asked(
    state: StateQuery = "active",
    severity: SeverityQuery = None,
    incident_class: ClassQuery = None,
    cursor: cursor_pager.CursorQuery = None,
    board_id: BoardQuery = None,
    sort: SortQuery = "severity",
) -> QueueAsked:
    """A dependency (``async``: no worker thread for reading the address)."""
    return QueueAsked(
        state=state if state in STATES else "active",
        severity=severity if severity in SEVERITIES else None,
        incident_class=incident_class if incident_class in CLASSES else None,
        board_id=board_id,
        sort=sort if sort in SORTS else "severity",
        cursor=cursor,
    )


Asked = Annotated[QueueAsked, Depends(queue_asked)]


def queue(conn: Conn, user: Principal, asked: QueueAsked) -> CursorPage[IncidentOut]:
    state, severity, incident_class = asked.state, asked.severity, asked.incident_class
    return list_incidents(
        conn,
        user,
        ListParams(limit=PAGE_SIZE, offset=0, sort=SORTS[asked.sort], cursor=asked.cursor),
        IncidentFilter(
            states=tuple(states_for(state) or ()),
            severities=(severity,) if severity else (),
            incident_class=incident_class,
            board_id=asked.board_id,
            # unfiltered, a site incident's boards are listed under it, not
            # beside it (a filter may leave the site incident out: then
            # they are listed on their own)
            top_level=state in ("active", "all")
            and not (severity or incident_class or asked.board_id),
        ),
    )


def with_children(
    request: Request, conn: Conn, user: Principal, page: CursorPage[IncidentOut], cursor: str | None
) -> dict[str, Any]:
    """A list's incidents and, under each site incident, those attached to
    it; and the list's pager (its links to ``/incidents``, from the page or
    its live fragment)."""
    parents = [i.id for i in page.items if i.rule == SITE_RULE]
    return {
        "page": page,
        "children": attached_incidents(conn, user, parents),
        "pager": cursor_pager.links("/incidents", request.query_params, page, cursor),
    }


@router.get("/incidents")
def incidents_page(request: Request, conn: Db, user: Desk, asked: Asked) -> Response:
    page = queue(conn, user, asked)
    return render(
        request,
        "incidents.html",
        user,
        {
            **with_children(request, conn, user, page, asked.cursor),
            "filters": asked.filters(),
            "severities": SEVERITIES,
            "classes": CLASSES,
            "sorts": tuple(SORTS),
            "live_query": request.url.query,
        },
    )


def incident_context(conn: Conn, user: Principal, incident_id: int) -> dict[str, Any]:
    """One incident and its timeline (404 outside the caller's scope; the
    Border Guard sees camera incidents only); a site incident with the
    incidents attached to it."""
    incident = get_incident(conn, user, incident_id)
    attached = (
        attached_incidents(conn, user, [incident.id]).get(incident.id, [])
        if incident.rule == SITE_RULE
        else []
    )
    return {"incident": incident, "attached": attached}


@router.get("/incidents/{incident_id}")
def incident_page(
    request: Request, conn: Db, now: Now, user: Reader, incident_id: IncidentId
) -> Response:
    return _incident_page(request, conn, now, user, incident_id)


def _incident_page(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    incident_id: int,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The incident's page; after a refused form (``refusal``), with its
    reason and what was typed."""
    context = incident_context(conn, user, incident_id)
    context["tickets"] = (
        tickets_of_incident(conn, user, incident_id, now=now) if user.can("ticket.read") else []
    )
    context["notices"] = notices_of(conn, user, incident_id=incident_id)
    context.update(_pictures(conn, user, context["incident"]))
    limits = incident_report.limits_of(request)
    context.update(
        reported=request.query_params.get("reported"),
        photos_added=request.query_params.get("photos") == "added",
        max_photos=limits.max_count,
        max_mb=round(limits.max_bytes / 1024 / 1024, 1),
        **forms.no_refusal(),
    )
    if refusal is not None:
        # the forms return where they came from, not to the address posted to
        context.update(refusal, back=safe_next(refusal["form"].get("next", "")))
    return render(request, "incident.html", user, context)


def _pictures(conn: Conn, user: Principal, incident: IncidentOut) -> dict[str, Any]:
    """A screen or camera incident's pictures since it opened, for a reader
    who may see them (``picture_kind``: screen, camera, or None: no section)."""
    kind = pictures.picture_kind(incident)
    if kind is None or not user.can(pictures.NEEDS[kind]):
        return {"picture_kind": None, "incident_pictures": []}
    return {
        "picture_kind": kind,
        "incident_pictures": pictures.incident_pictures(conn, user, incident),
    }


def _refused(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    incident_id: int,
    exc: RequestError,
    form: dict[str, Any],
    where: str,
) -> Response:
    """The incident's page again with why its form ``where`` was refused."""
    return forms.refused(
        conn,
        exc,
        form,
        lambda ctx: _incident_page(request, conn, now, user, incident_id, ctx),
        f"{where}-{incident_id}",
        LABELS[where],
    )


#: Each form's fields -> the label they are shown under.
LABELS = {
    "acknowledge": {"note": "incident.resolve_note"},
    "resolve": {"note": "incident.resolve_note"},
    "comment": {"text": "incident.comment"},
}


def _back(next_url: str, incident_id: int) -> Response:
    target = safe_next(next_url)
    return redirect(f"{target}#incident-{incident_id}" if "#" not in target else target)


@router.post("/incidents/{incident_id}/acknowledge")
def acknowledge(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    incident_id: IncidentId,
    note: Annotated[str | None, Form(), Longest(2000)] = None,
    next_url: Annotated[str, Form(alias="next"), Longest(2000)] = "/incidents",
) -> Response:
    typed = {"note": note or "", "next": next_url}
    try:
        forms.fit(typed)
        actor = user.acting_from(client_address(request))
        acknowledge_incident(
            conn, user, actor, incident_id, now=now, note=(note or "").strip() or None
        )
    except RequestError as exc:
        return _refused(request, conn, now, user, incident_id, exc, typed, "acknowledge")
    conn.commit()
    return _back(next_url, incident_id)


@router.post("/incidents/{incident_id}/resolve")
def resolve(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    incident_id: IncidentId,
    note: Annotated[str, Form(), Longest(2000)] = "",
    next_url: Annotated[str, Form(alias="next"), Longest(2000)] = "/incidents",
) -> Response:
    typed = {"note": note, "next": next_url}
    try:
        forms.fit(typed)
        if not note.strip():
            raise Invalid("note: resolving an incident needs a note", field="note")
        actor = user.acting_from(client_address(request))
        resolve_incident(conn, user, actor, incident_id, now=now, note=note.strip())
    except RequestError as exc:
        return _refused(request, conn, now, user, incident_id, exc, typed, "resolve")
    conn.commit()
    return _back(next_url, incident_id)


@router.post("/incidents/{incident_id}/comment")
def comment(
    request: Request,
    conn: Db,
    now: Now,
    user: Commenter,
    incident_id: IncidentId,
    text: Annotated[str, Form(), Longest(4000)] = "",
    next_url: Annotated[str, Form(alias="next"), Longest(2000)] = "/incidents",
) -> Response:
    typed = {"text": text, "next": next_url}
    try:
        forms.fit(typed)
        if not text.strip():
            raise Invalid("text: a comment cannot be empty", field="text")
        actor = user.acting_from(client_address(request))
        comment_incident(conn, user, actor, incident_id, now=now, text=text.strip())
    except RequestError as exc:
        return _refused(request, conn, now, user, incident_id, exc, typed, "comment")
    conn.commit()
    return _back(next_url, incident_id)
