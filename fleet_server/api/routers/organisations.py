"""/api/v1 organisations and sites, and the per-site health the overview shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.organisations import service
from fleet_server.organisations.models import OrgKind, SiteKind
from fleet_server.organisations.schemas import (
    OrganisationIn,
    OrganisationOut,
    SiteDetail,
    SiteHealth,
    SiteIn,
    SiteOut,
    SitePatch,
)

router = APIRouter(tags=["organisations and sites"])

Admin = Annotated[Principal, Depends(require("org.write"))]
#: Sites carry their boards' counts and health: what ``board.read`` reads (the
#: Border Guard has camera status only, Điều 13.1.b).
Reader = Annotated[Principal, Depends(require("board.read"))]


# -- routes ---------------------------------------------------------------------


@router.get("/organisations", summary="organisations the caller can see")
def organisations_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    kind: Annotated[OrgKind | None, Query()] = None,
) -> Page[OrganisationOut]:
    return service.list_organisations(conn, user, paging, kind=kind)


@router.post("/organisations", status_code=201, summary="create an organisation (admin)")
def organisations_create(
    request: Request, conn: Db, user: Admin, body: OrganisationIn
) -> OrganisationOut:
    return service.create_organisation(conn, user, user.acting_from(client_address(request)), body)


@router.get("/sites", summary="sites the caller can see")
def sites_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    kind: Annotated[SiteKind | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[SiteOut]:
    return service.list_sites(conn, user, paging, organisation_id=organisation_id, kind=kind, q=q)


@router.get(
    "/sites/health",
    summary="every visible site with boards by state, problems first",
    response_model=list[SiteHealth],
)
def sites_health(request: Request, conn: Db, user: Reader) -> Response:
    # Built once per change of the fleet's health; a client that sends the
    # ETag it was given back (If-None-Match) gets 304 until it changes. (A
    # comment, not a docstring: that would change the OpenAPI description.)
    built = service.site_health_json(conn, user)
    headers = {"ETag": built.etag, "Cache-Control": "private, no-cache"}
    if _matches(request, built.etag):
        return Response(status_code=304, headers=headers)
    return Response(built.body, media_type="application/json", headers=headers)


@router.get("/fleet/summary", summary="boards by connectivity state")
def fleet_summary(conn: Db, user: Reader) -> dict[str, int]:
    return service.fleet_counts(conn, user)


def _matches(request: Request, etag: str) -> bool:
    """The request's ``If-None-Match`` names ``etag`` (or is ``*``)."""
    sent = request.headers.get("if-none-match")
    if not sent:
        return False
    tags = {t.strip().removeprefix("W/") for t in sent.split(",")}
    return etag in tags or "*" in tags


@router.get("/sites/{site_id}", summary="one site with its health")
def sites_get(conn: Db, user: Reader, site_id: int) -> SiteDetail:
    return service.get_site(conn, user, site_id)


@router.post("/sites", status_code=201, summary="create a site (admin)")
def sites_create(request: Request, conn: Db, user: Admin, body: SiteIn) -> SiteDetail:
    return service.create_site(conn, user, user.acting_from(client_address(request)), body)


@router.patch("/sites/{site_id}", summary="change a site (admin)")
def sites_patch(
    request: Request, conn: Db, user: Admin, site_id: int, body: SitePatch
) -> SiteDetail:
    return service.update_site(conn, user, user.acting_from(client_address(request)), site_id, body)
