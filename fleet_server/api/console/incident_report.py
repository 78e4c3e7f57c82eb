"""Report an incident from the console (Điều 9.3): the form
(``/incidents/report``, reached from the incidents list, a board, a site and
the cameras page), its post with photos taken by the phone's camera, and
photos added to an incident later. Included by ``incidents`` before its
``/incidents/{id}`` page, so ``report`` is never read as an incident id."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms, place_search
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.web import form_for, page_for, redirect, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import Invalid, RequestError
from fleet_server.incidents import service_reports
from fleet_server.incidents.models import GUARD_CATEGORIES, REPORT_CLASSES
from fleet_server.incidents.photos import PhotoLimits
from fleet_server.incidents.schemas import ReportBody
from fleet_server.localtime import LOCAL_TZ
from fleet_server.vocabulary import SEVERITIES

router = APIRouter(include_in_schema=False)

Reporter = Annotated[Principal, Depends(page_for("incident.report"))]
ReportForm = Annotated[Principal, Depends(form_for("incident.report"))]
#: An empty file input arrives as an empty string, a chosen file as an upload.
Photos = Annotated[list[UploadFile | str], File()]
#: The form's fields, kept when it comes back with a refusal.
FIELDS = ("target", "category", "severity", "title", "description", "observed_at", "client_key")


def limits_of(request: Request) -> PhotoLimits:
    settings = request.app.state.ctx.settings
    return PhotoLimits(settings.incident_photo_max_bytes, settings.incident_photos_max)


def categories_for(user: Principal) -> tuple[str, ...]:
    """What the caller may report: the Border Guard cameras and screens."""
    return GUARD_CATEGORIES if user.scope.camera_incidents_only else tuple(REPORT_CLASSES)


def _uploads(photos: list[UploadFile | str], limits: PhotoLimits) -> list[bytes]:
    """The files chosen (an empty file input sends a part without a name)."""
    chosen = [f for f in photos if not isinstance(f, str)]
    if len(chosen) > limits.max_count:
        raise Invalid(f"at most {limits.max_count} photos per incident", field="photos")
    return [f.file.read(limits.max_bytes + 1) for f in chosen]


def _form_page(
    request: Request,
    conn: Conn,
    user: Principal,
    values: dict[str, str],
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The report form; after a refusal (``refusal``) with what was typed,
    the field marked and the reason (on a phone, typing a description again
    is the last thing anybody wants)."""
    limits = limits_of(request)
    places = _shortlist(conn, user, values.get("target", ""))
    return render(
        request,
        "incident_report.html",
        user,
        {
            "targets": bool(places),
            "places": places,
            "values": dict.fromkeys(FIELDS, "") | values,
            "categories": categories_for(user),
            "severities": SEVERITIES,
            "client_key": values.get("client_key") or "form-" + secrets.token_urlsafe(18),
            "max_photos": limits.max_count,
            "max_mb": round(limits.max_bytes / 1024 / 1024, 1),
            **(refusal or {}),
        },
    )


def _shortlist(conn: Conn, user: Principal, chosen: str) -> list[place_search.Place]:
    """The places listed without JavaScript: the chosen one's site and its
    boards, else the first sites by name."""
    site_id = None
    try:
        site_id, board_id = place_search.resolve(conn, user, chosen, field="target")
        if board_id:
            site_id = place_search.site_of_board(conn, user, board_id)
    except RequestError:
        site_id = None
    return place_search.shortlist(conn, user, site_id=site_id)


#: The form's fields -> the label they are shown under.
LABELS = {
    "target": "report.target",
    "board_id": "report.target",
    "site_id": "report.target",
    "category": "report.category",
    "severity": "incident.severity",
    "title": "report.title_field",
    "description": "report.description",
    "observed_at": "report.observed_at",
    "photos": "report.choose_photos",
}


@router.get("/incidents/report")
def report_page(
    request: Request,
    conn: Db,
    user: Reporter,
    board: Annotated[str | None, Query(max_length=64)] = None,
    site: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    chosen = f"board:{board}" if board else f"site:{site}" if site else ""
    return _form_page(request, conn, user, {"target": chosen})


def _observed(value: str) -> datetime | None:
    """A datetime-local value, read as Vietnam time."""
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise Invalid("observed_at: not a date and time", field="observed_at") from None


def _target(conn: Conn, user: Principal, typed: str) -> str:
    """The picker's text (a suggestion, an id or an exact name) as ``site:<id>``
    or ``board:<id>``."""
    site_id, board_id = place_search.resolve(conn, user, typed, field="target")
    return f"board:{board_id}" if board_id else f"site:{site_id}"


def _body(
    target: str, category: str, severity: str, title: str, description: str, observed: str
) -> ReportBody:
    kind, _, ident = target.partition(":")
    if kind not in ("board", "site") or not ident:
        raise Invalid("choose a board or a site", field="target")
    if kind == "site" and not ident.isdigit():
        raise Invalid("choose a board or a site", field="target")
    try:
        return ReportBody.model_validate(
            {
                "board_id": ident if kind == "board" else None,
                "site_id": int(ident) if kind == "site" else None,
                "category": category,
                "severity": severity,
                "title": title,
                "description": description,
                "observed_at": _observed(observed),
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "report"
        raise Invalid(f"{where}: {first.get('msg', 'invalid')}", field=where) from None


@router.post("/incidents/report")
def report_post(
    request: Request,
    conn: Db,
    now: Now,
    user: ReportForm,
    target: Annotated[str, Form(), Longest(forms.PICKED)] = "",
    category: Annotated[str, Form(), Longest(20)] = "",
    severity: Annotated[str, Form(), Longest(20)] = "major",
    title: Annotated[str, Form(), Longest(200)] = "",
    description: Annotated[str, Form(), Longest(4000)] = "",
    observed_at: Annotated[str, Form(), Longest(40)] = "",
    client_key: Annotated[str | None, Form(), Longest(100)] = None,
    photos: Photos = [],  # noqa: B006 - FastAPI copies the default
) -> Response:
    typed = {
        "target": target,
        "category": category,
        "severity": severity,
        "title": title,
        "description": description,
        "observed_at": observed_at,
        "client_key": client_key or "",
    }
    try:
        forms.fit(typed)
        place = _target(conn, user, target)
        body = _body(place, category, severity, title, description, observed_at)
        limits = limits_of(request)
        checked = service_reports.check_photos(_uploads(photos, limits), limits)
        actor = user.acting_from(client_address(request))
        incident, created = service_reports.report_incident(
            conn, user, actor, body, now=now, photos=checked, client_key=client_key or None
        )
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            typed,
            lambda ctx: _form_page(request, conn, user, ctx["form"], ctx),
            labels=LABELS,
        )
    conn.commit()
    outcome = "sent" if created else "again"
    return redirect(f"/incidents/{incident.id}?reported={outcome}")


@router.post("/incidents/{incident_id}/photos")
def photos_post(
    request: Request,
    conn: Db,
    now: Now,
    user: ReportForm,
    incident_id: Annotated[int, Path(ge=1, le=2**62)],
    photos: Photos = [],  # noqa: B006 - FastAPI copies the default
) -> Response:
    limits = limits_of(request)
    files = _uploads(photos, limits)
    if not files:
        raise Invalid("choose at least one photo", field="photos")
    checked = service_reports.check_photos(files, limits)
    actor = user.acting_from(client_address(request))
    service_reports.add_photos(conn, user, actor, incident_id, checked, limits=limits, now=now)
    conn.commit()
    return redirect(f"/incidents/{incident_id}?photos=added#photos")
