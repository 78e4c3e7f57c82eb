"""Notification routes in the console (``/admin/routes``): which notices —
by organisation, site, incident class, incident kind and least severity —
go to which contact over which channel, and whether to the escalation list.
Readers (``route.read``) see those of their organisation; admins
(``route.write``) add, change, disable and delete them through the API's
service (notifications/service.py)."""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import admin, place_search
from fleet_server.api.console.forms import ALL, Longest, checked, fit
from fleet_server.api.console.web import form_for, language_of, page_for, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import Invalid, RequestError
from fleet_server.notifications import service
from fleet_server.notifications.models import Channel
from fleet_server.notifications.schemas import RouteIn, RoutePatch
from fleet_server.vocabulary import INCIDENT_CLASSES, SEVERITIES

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("route.read"))]
Writer = Annotated[Principal, Depends(form_for("route.write"))]
RouteId = Annotated[int, Path(ge=1, le=2**62)]
Field = Annotated[str, Form(), Longest(2000)]
CHANNELS: tuple[str, ...] = get_args(Channel)


def _kinds(text: str) -> list[str] | None:
    """Incident kinds typed as a list (commas or spaces); None: any."""
    found = [k for k in re.split(r"[\s,;]+", text.strip()) if k]
    return found or None


def _common(conn: Conn, user: Principal, site_ids: list[int | None]) -> dict[str, Any]:
    """The pages' common context: the names of the sites ``site_ids`` (the
    routes shown), and for a writer the contacts and a few sites the form's
    site box lists for a reader without JavaScript (the others found as one
    types: no select of every site)."""
    may_write = user.can("route.write")
    contacts = service.list_contacts(conn, user, ALL).items if may_write else []
    places = place_search.shortlist(conn, user, sites_only=True) if may_write else []
    return admin.common(
        conn,
        user,
        site_ids=site_ids,
        places=places,
        contacts=contacts,
        channels=CHANNELS,
        severities=SEVERITIES,
        classes=INCIDENT_CLASSES,
        may_write=may_write,
    )


def _list_page(
    request: Request, conn: Conn, user: Principal, extra: dict[str, Any] | None = None
) -> Response:
    params = request.query_params
    query = admin.filters(params)
    channel = params.get("channel") if params.get("channel") in CHANNELS else None
    contact = params.get("contact_id", "")
    contact_id = int(contact) if contact.isdigit() and 0 < int(contact) <= 2**62 else None
    page = service.list_routes(
        conn, user, query.page, contact_id=contact_id, channel=channel, active=query.active
    )
    context = _common(conn, user, [r.site_id for r in page.items])
    context.update(
        {
            "page": page,
            "active": query.active_text,
            "channel": channel or "",
            "contact_id": contact_id,
        }
    )
    context.update(extra or {})
    return render(request, "admin_routes.html", user, context)


def _item_page(
    request: Request,
    conn: Conn,
    user: Principal,
    route_id: int,
    extra: dict[str, Any] | None = None,
) -> Response:
    route = service.get_route(conn, user, route_id)
    context = _common(conn, user, [route.site_id])
    chosen = ""  # the edit form's site box: the route's site, by name
    if route.site_id:
        chosen = admin.site_label(route.site_id, context["site_names"], language_of(request, user))
    context.update({"route": route, "site_chosen": chosen})
    context.update(extra or {})
    return render(request, "admin_route.html", user, context)


def _route_form(
    contact_id: Field = "",
    channel: Field = "email",
    min_severity: Field = "warning",
    incident_class: Field = "",
    incident_kinds: Field = "",
    organisation_id: Field = "",
    site_id: Field = "",
    escalation_level: Field = "0",
    note: Field = "",
) -> dict[str, str]:
    """The route form as typed."""
    return {
        "contact_id": contact_id,
        "channel": channel,
        "min_severity": min_severity,
        "incident_class": incident_class,
        "incident_kinds": incident_kinds,
        "organisation_id": organisation_id,
        "site_id": site_id,
        "escalation_level": escalation_level,
        "note": note,
    }


RouteForm = Annotated[dict[str, str], Depends(_route_form)]


def _site(conn: Conn, user: Principal, typed: str) -> int | None:
    """The route's site as its box posted it: none (any site), an id (as the
    select posted; the service refuses one that does not exist or is out of
    scope), else a site's name, code or suggestion (``place_search``: sites
    only; naming no site or several is refused on the box)."""
    text = typed.strip()
    if not text or text.isdigit():
        return admin.number_or_none(text, "site_id")
    return place_search.site_picked(conn, user, text, "site_id", boards=False)


def _values(conn: Conn, user: Principal, form: dict[str, str]) -> dict[str, Any]:
    """The route form as the API's fields (an empty filter: any)."""
    return {
        "contact_id": admin.number_or_none(form["contact_id"], "contact_id"),
        "channel": form["channel"],
        "min_severity": form["min_severity"],
        "incident_class": admin.blank_none(form["incident_class"]),
        "incident_kinds": _kinds(form["incident_kinds"]),
        "organisation_id": admin.number_or_none(form["organisation_id"], "organisation_id"),
        "site_id": _site(conn, user, form["site_id"]),
        "escalation_level": 1 if form["escalation_level"] == "1" else 0,
        "note": admin.blank_none(form["note"]),
    }


# -- pages -------------------------------------------------------------------------------


@router.get("/admin/routes")
def routes_page(
    request: Request,
    conn: Db,
    user: Reader,
    contact_id: Annotated[str, Query(max_length=20)] = "",
    channel: Annotated[str, Query(max_length=20)] = "",
    active: Annotated[str, Query(max_length=5)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    return _list_page(request, conn, user)


@router.get("/admin/routes/{route_id}")
def route_page(request: Request, conn: Db, user: Reader, route_id: RouteId) -> Response:
    return _item_page(request, conn, user, route_id)


# -- forms -------------------------------------------------------------------------------


@router.post("/admin/routes")
def route_create(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    form: RouteForm,
) -> Response:
    try:
        fit(form)
        if not form["contact_id"].strip():
            raise Invalid("contact_id: choose who receives the notices", field="contact_id")
        body = checked(RouteIn, **_values(conn, user, form))
        actor = user.acting_from(client_address(request))
        created = service.create_route(conn, user, body, actor=actor, now=now)
    except RequestError as exc:
        return admin.refused(
            conn, exc, form, lambda ctx: _list_page(request, conn, user, ctx), "new"
        )
    return admin.done(f"/admin/routes/{created.id}", "route_created")


@router.post("/admin/routes/{route_id}")
def route_update(
    request: Request,
    conn: Db,
    user: Writer,
    route_id: RouteId,
    form: RouteForm,
) -> Response:
    try:
        fit(form)
        body = checked(RoutePatch, **_values(conn, user, form))
        actor = user.acting_from(client_address(request))
        service.update_route(conn, user, route_id, body, actor=actor)
    except RequestError as exc:
        return admin.refused(
            conn, exc, form, lambda ctx: _item_page(request, conn, user, route_id, ctx), "edit"
        )
    return admin.done(f"/admin/routes/{route_id}", "route_updated")


@router.post("/admin/routes/{route_id}/active")
def route_active(
    request: Request,
    conn: Db,
    user: Writer,
    route_id: RouteId,
    active: Annotated[str, Form(), Longest(5)] = "",
) -> Response:
    on = active == "yes"
    try:
        fit({"active": active})
        actor = user.acting_from(client_address(request))
        service.update_route(conn, user, route_id, RoutePatch(active=on), actor=actor)
    except RequestError as exc:
        return admin.refused(
            conn, exc, {}, lambda ctx: _item_page(request, conn, user, route_id, ctx), "lifecycle"
        )
    return admin.done(f"/admin/routes/{route_id}", "route_enabled" if on else "route_disabled")


@router.post("/admin/routes/{route_id}/delete")
def route_delete(request: Request, conn: Db, user: Writer, route_id: RouteId) -> Response:
    actor = user.acting_from(client_address(request))
    service.delete_route(conn, user, route_id, actor=actor)
    return admin.done("/admin/routes", "route_deleted")
