"""/api/v1 notification contacts and routes: who is told about what.

Admins manage both; operators and viewers read those of their organisation
(``route.read``). A contact's webhook secret is write-only: answers only say
``has_webhook_secret``. The operations are in ``fleet_server.notifications.service``
(the web console calls them too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.notifications import service
from fleet_server.notifications.models import Channel, ContactKind
from fleet_server.notifications.schemas import (
    MAX_ID,
    NO_NUL,
    ContactIn,
    ContactOut,
    ContactPatch,
    RouteIn,
    RouteOut,
    RoutePatch,
)
from fleet_server.vocabulary import IncidentClass

router = APIRouter(tags=["notifications"])

Reader = Annotated[Principal, Depends(require("route.read"))]
Admin = Annotated[Principal, Depends(require("route.write"))]
ContactId = Annotated[int, Path(ge=1, le=MAX_ID, description="contact id")]
RouteId = Annotated[int, Path(ge=1, le=MAX_ID, description="route id")]


# -- routes: contacts -------------------------------------------------------------


@router.get("/contacts", summary="notification contacts of the caller's organisation")
def contacts_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: ContactKind | None = None,
    active: bool | None = None,
    q: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="in name or e-mail")
    ] = None,
) -> Page[ContactOut]:
    """Sort by id, name, kind, created_at or updated_at; default: by name."""
    return service.list_contacts(
        conn, user, paging, organisation_id=organisation_id, kind=kind, active=active, q=q
    )


@router.post("/contacts", status_code=201, summary="add a contact (admin)")
def contacts_create(
    request: Request, conn: Db, now: Now, user: Admin, body: ContactIn
) -> ContactOut:
    actor = user.acting_from(client_address(request))
    return service.create_contact(conn, user, body, actor=actor, now=now)


@router.get("/contacts/{contact_id}", summary="one contact")
def contacts_get(conn: Db, user: Reader, contact_id: ContactId) -> ContactOut:
    return service.get_contact(conn, user, contact_id)


@router.patch("/contacts/{contact_id}", summary="change a contact (admin)")
def contacts_update(
    request: Request, conn: Db, now: Now, user: Admin, contact_id: ContactId, body: ContactPatch
) -> ContactOut:
    actor = user.acting_from(client_address(request))
    return service.update_contact(conn, user, contact_id, body, actor=actor, now=now)


@router.delete(
    "/contacts/{contact_id}",
    status_code=204,
    summary="delete a contact and its routes (admin)",
    responses={409: {"description": "the contact has notification history"}},
)
def contacts_delete(request: Request, conn: Db, user: Admin, contact_id: ContactId) -> Response:
    service.delete_contact(conn, user, contact_id, actor=user.acting_from(client_address(request)))
    return Response(status_code=204)


# -- routes: notification routes ----------------------------------------------------


@router.get("/notification-routes", summary="notification routes of the caller's organisation")
def routes_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    contact_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    channel: Channel | None = None,
    incident_class: IncidentClass | None = None,
    active: bool | None = None,
) -> Page[RouteOut]:
    """Sort by id, created_at, channel, min_severity, escalation_level or contact_name."""
    return service.list_routes(
        conn,
        user,
        paging,
        organisation_id=organisation_id,
        site_id=site_id,
        contact_id=contact_id,
        channel=channel,
        incident_class=incident_class,
        active=active,
    )


@router.post("/notification-routes", status_code=201, summary="add a route (admin)")
def routes_create(request: Request, conn: Db, now: Now, user: Admin, body: RouteIn) -> RouteOut:
    actor = user.acting_from(client_address(request))
    return service.create_route(conn, user, body, actor=actor, now=now)


@router.get("/notification-routes/{route_id}", summary="one notification route")
def routes_get(conn: Db, user: Reader, route_id: RouteId) -> RouteOut:
    return service.get_route(conn, user, route_id)


@router.patch("/notification-routes/{route_id}", summary="change a route (admin)")
def routes_update(
    request: Request, conn: Db, user: Admin, route_id: RouteId, body: RoutePatch
) -> RouteOut:
    actor = user.acting_from(client_address(request))
    return service.update_route(conn, user, route_id, body, actor=actor)


@router.delete("/notification-routes/{route_id}", status_code=204, summary="delete a route (admin)")
def routes_delete(request: Request, conn: Db, user: Admin, route_id: RouteId) -> Response:
    service.delete_route(conn, user, route_id, actor=user.acting_from(client_address(request)))
    return Response(status_code=204)
