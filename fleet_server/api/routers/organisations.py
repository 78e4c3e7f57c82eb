"""/api/v1 organisations and sites, and the per-site health the overview shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.access.storage import incidents_condition, sites_condition
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Db, require
from fleet_server.api.pagination import Paging
from fleet_server.errors import Conflict, Invalid, NotFound

router = APIRouter(tags=["organisations and sites"])

OrgKind = Literal[
    "provincial_department", "economic_zone_board", "border_guard", "district_committee", "other"
]
SiteKind = Literal["border_gate", "district_centre", "city", "other"]
STATES = ("online", "offline", "lost", "stale", "unknown")
Admin = Annotated[Principal, Depends(require("org.write"))]
#: Sites carry their boards' counts and health: what ``board.read`` reads (the
#: Border Guard has camera status only, Điều 13.1.b).
Reader = Annotated[Principal, Depends(require("board.read"))]


class OrganisationOut(BaseModel):
    id: int
    code: str
    name: str
    name_en: str | None
    kind: str
    sites: int
    boards: int


class OrganisationIn(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    kind: OrgKind = "other"


class SiteOut(BaseModel):
    id: int
    code: str
    name: str
    name_en: str | None
    kind: str
    district: str | None
    latitude: float | None
    longitude: float | None
    organisation_id: int
    organisation_code: str
    camera_guard_organisation_id: int | None
    boards: int


class SiteIn(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    organisation_id: int = Field(ge=1, le=2**62)
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    kind: SiteKind = "district_centre"
    district: str | None = Field(default=None, max_length=100)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    camera_guard_organisation_id: int | None = Field(default=None, ge=1, le=2**62)


class SitePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    kind: SiteKind | None = None
    district: str | None = Field(default=None, max_length=100)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    camera_guard_organisation_id: int | None = Field(default=None, ge=1, le=2**62)


#: A site's health, worst first: ``health_rank`` is the index here, the list
#: is sorted by it, and the console's map and legend use the same order.
HEALTHS = ("offline", "degraded", "unknown", "online")


class SiteHealth(BaseModel):
    id: int
    code: str
    name: str
    name_en: str | None
    kind: str
    district: str | None
    latitude: float | None
    longitude: float | None
    organisation_id: int
    boards: int
    online: int
    offline: int
    lost: int
    stale: int
    unknown: int
    open_incidents: int
    worst_severity: str | None
    #: online / offline / degraded / unknown, for map colours.
    health: str
    #: The order of the list: the index of ``health`` in :data:`HEALTHS`.
    health_rank: int


class SiteDetail(SiteOut):
    health: SiteHealth
    created_at: datetime


# -- data functions (the console calls these too) -----------------------------

_SITE_SELECT = """
    SELECT s.id, s.code, s.name, s.name_en, s.kind, s.district, s.latitude, s.longitude,
           s.organisation_id, o.code AS organisation_code, s.camera_guard_organisation_id,
           (SELECT count(*) FROM boards b WHERE b.site_id = s.id) AS boards
    FROM sites s JOIN organisations o ON o.id = s.organisation_id
"""


def list_sites(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    organisation_id: int | None = None,
    kind: str | None = None,
    q: str | None = None,
) -> Page[SiteOut]:
    scope, params = sites_condition(user.scope, "s.id")
    where = [scope]
    if organisation_id is not None:
        where.append("s.organisation_id = %s")
        params.append(organisation_id)
    if kind is not None:
        where.append("s.kind = %s")
        params.append(kind)
    if q:
        where.append("(s.name ILIKE %s OR s.code ILIKE %s OR s.district ILIKE %s)")
        params += [f"%{q}%"] * 3
    return fetch_page(
        conn,
        f"{_SITE_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "code", "name", "kind", "district", "boards"),
        default="name",
        tiebreak="id",
        model=SiteOut,
    )


def _site_health_sql(user: Principal, site_id: int | None) -> tuple[str, list[object]]:
    """Every visible site with its boards by state, open incidents, health
    (online / offline / degraded / unknown) and that health's rank for
    :data:`_HEALTH_ORDER`: all in SQL, so the API can hand PostgreSQL's JSON
    straight to the client."""
    scope, params = sites_condition(user.scope, "s.id")
    incident_scope, incident_params = incidents_condition(user.scope, "i.site_id", "i.rule")
    extra = ""
    if site_id is not None:
        extra = " AND s.id = %s"
    sql = f"""
        WITH b AS (
            SELECT b.site_id, coalesce(st.state, 'unknown') AS state
            FROM boards b LEFT JOIN board_status st ON st.board_id = b.id
            WHERE b.enabled
        ), bs AS (
            SELECT site_id, count(*) AS boards,
                   count(*) FILTER (WHERE state = 'online') AS online,
                   count(*) FILTER (WHERE state = 'offline') AS offline,
                   count(*) FILTER (WHERE state = 'lost') AS lost,
                   count(*) FILTER (WHERE state = 'stale') AS stale,
                   count(*) FILTER (WHERE state = 'unknown') AS unknown
            FROM b GROUP BY site_id
        ), inc AS (
            SELECT i.site_id, count(*) AS open_incidents,
                   max(CASE i.severity WHEN 'critical' THEN 3 WHEN 'major' THEN 2
                                       WHEN 'minor' THEN 1 ELSE 0 END) AS worst
            FROM incidents i
            WHERE i.state <> 'resolved' AND {incident_scope}
            GROUP BY i.site_id
        ), h AS (
            SELECT s.id, s.code, s.name, s.name_en, s.kind, s.district,
                   s.latitude, s.longitude, s.organisation_id,
                   coalesce(bs.boards, 0) AS boards, coalesce(bs.online, 0) AS online,
                   coalesce(bs.offline, 0) AS offline, coalesce(bs.lost, 0) AS lost,
                   coalesce(bs.stale, 0) AS stale, coalesce(bs.unknown, 0) AS unknown,
                   coalesce(inc.open_incidents, 0) AS open_incidents,
                   (ARRAY['warning', 'minor', 'major', 'critical'])[inc.worst + 1]
                       AS worst_severity
            FROM sites s LEFT JOIN bs ON bs.site_id = s.id LEFT JOIN inc ON inc.site_id = s.id
            WHERE {scope}{extra}
        ), r AS (
            SELECT h.*,
                   CASE WHEN boards > 0 AND offline + lost = boards THEN 'offline'
                        WHEN offline + lost + stale + open_incidents > 0 THEN 'degraded'
                        WHEN boards > 0 AND online = boards THEN 'online'
                        ELSE 'unknown' END AS health
            FROM h
        )
        SELECT r.*, array_position(%s::text[], health) - 1 AS health_rank
        FROM r
    """
    site = [site_id] if site_id is not None else []
    return sql, [*incident_params, *params, *site, list(HEALTHS)]


#: Problems first: down, then degraded, unknown, online; then by open incidents.
_HEALTH_ORDER = 'health_rank, open_incidents DESC, name COLLATE "C", id'


def site_health(conn: Conn, user: Principal, *, site_id: int | None = None) -> list[SiteHealth]:
    """Every visible site with its boards by state and open incidents;
    sites with problems first."""
    sql, params = _site_health_sql(user, site_id)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"{sql} ORDER BY {_HEALTH_ORDER}", params).fetchall()
    return [SiteHealth.model_validate(r) for r in rows]


def site_health_json(conn: Conn, user: Principal) -> bytes:
    """:func:`site_health` as a JSON array made by PostgreSQL: for 2,500 sites
    this spares the worker building and serialising 2,500 models."""
    sql, params = _site_health_sql(user, None)
    row = conn.execute(
        f"SELECT coalesce(json_agg(q ORDER BY {_HEALTH_ORDER}), '[]')::text FROM ({sql}) q",
        params,
    ).fetchone()
    assert row is not None
    return str(row[0]).encode()


def fleet_counts(conn: Conn, user: Principal) -> dict[str, int]:
    """Enabled boards by connectivity state (every state present, 0 if none)."""
    scope, params = sites_condition(user.scope, "b.site_id")
    rows = conn.execute(
        f"""SELECT coalesce(st.state, 'unknown'), count(*)
            FROM boards b LEFT JOIN board_status st ON st.board_id = b.id
            WHERE b.enabled AND {scope} GROUP BY 1""",
        params,
    ).fetchall()
    counts = dict.fromkeys(STATES, 0)
    counts.update({str(state): int(n) for state, n in rows})
    counts["total"] = sum(counts[s] for s in STATES)
    return counts


def get_site(conn: Conn, user: Principal, site_id: int) -> SiteDetail:
    scope, params = sites_condition(user.scope, "s.id")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT q.* FROM ({_SITE_SELECT} WHERE s.id = %s AND {scope}) q",
            [site_id, *params],
        ).fetchone()
        created = cur.execute("SELECT created_at FROM sites WHERE id = %s", (site_id,)).fetchone()
    if row is None or created is None:
        raise NotFound("site", site_id)
    health = site_health(conn, user, site_id=site_id)
    return SiteDetail(**row, health=health[0], created_at=created["created_at"])


def list_organisations(
    conn: Conn, user: Principal, paging: ListParams, *, kind: str | None = None
) -> Page[OrganisationOut]:
    """Organisations with at least one visible site, the caller's own, and
    for province-wide accounts all of them; ``sites`` and ``boards`` count
    only what the caller sees (a site given to an account one by one does not
    tell it how big the rest of that organisation is)."""
    scope, params = sites_condition(user.scope, "s.id")
    where = [
        f"(%s OR o.id = %s OR EXISTS (SELECT 1 FROM sites s WHERE s.organisation_id = o.id"
        f" AND {scope}))"
    ]
    all_params: list[object] = [
        *params,
        *params,
        user.province_wide,
        user.organisation_id,
        *params,
    ]
    if kind is not None:
        where.append("o.kind = %s")
        all_params.append(kind)
    return fetch_page(
        conn,
        f"""SELECT o.id, o.code, o.name, o.name_en, o.kind,
                   (SELECT count(*) FROM sites s
                     WHERE s.organisation_id = o.id AND {scope}) AS sites,
                   (SELECT count(*) FROM boards b JOIN sites s ON s.id = b.site_id
                     WHERE s.organisation_id = o.id AND {scope}) AS boards
            FROM organisations o WHERE {" AND ".join(where)}""",
        all_params,
        paging,
        sortable=("id", "code", "name", "kind", "sites", "boards"),
        default="name",
        tiebreak="id",
        model=OrganisationOut,
    )


# -- routes ---------------------------------------------------------------------


@router.get("/organisations", summary="organisations the caller can see")
def organisations_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    kind: Annotated[OrgKind | None, Query()] = None,
) -> Page[OrganisationOut]:
    return list_organisations(conn, user, paging, kind=kind)


@router.post("/organisations", status_code=201, summary="create an organisation (admin)")
def organisations_create(
    request: Request, conn: Db, user: Admin, body: OrganisationIn
) -> OrganisationOut:
    row = conn.execute(
        "INSERT INTO organisations (code, name, name_en, kind) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (code) DO NOTHING RETURNING id",
        (body.code, body.name, body.name_en, body.kind),
    ).fetchone()
    if row is None:
        raise Conflict(f"an organisation with code {body.code!r} already exists")
    record(
        conn,
        user,
        request,
        "organisation.create",
        target_type="organisation",
        target_id=row[0],
        after=body,
    )
    return OrganisationOut(id=int(row[0]), sites=0, boards=0, **body.model_dump())


@router.get("/sites", summary="sites the caller can see")
def sites_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    kind: Annotated[SiteKind | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[SiteOut]:
    return list_sites(conn, user, paging, organisation_id=organisation_id, kind=kind, q=q)


@router.get(
    "/sites/health",
    summary="every visible site with boards by state, problems first",
    response_model=list[SiteHealth],
)
def sites_health(conn: Db, user: Reader) -> Response:
    return Response(site_health_json(conn, user), media_type="application/json")


@router.get("/fleet/summary", summary="boards by connectivity state")
def fleet_summary(conn: Db, user: Reader) -> dict[str, int]:
    return fleet_counts(conn, user)


@router.get("/sites/{site_id}", summary="one site with its health")
def sites_get(conn: Db, user: Reader, site_id: int) -> SiteDetail:
    return get_site(conn, user, site_id)


def _check_org(conn: Conn, org_id: int | None, field: str) -> None:
    if org_id is None:
        return
    if conn.execute("SELECT 1 FROM organisations WHERE id = %s", (org_id,)).fetchone() is None:
        raise Invalid(f"{field}: organisation {org_id} does not exist", field=field)


@router.post("/sites", status_code=201, summary="create a site (admin)")
def sites_create(request: Request, conn: Db, user: Admin, body: SiteIn) -> SiteDetail:
    _check_org(conn, body.organisation_id, "organisation_id")
    _check_org(conn, body.camera_guard_organisation_id, "camera_guard_organisation_id")
    row = conn.execute(
        """INSERT INTO sites (code, organisation_id, name, name_en, kind, district, latitude,
                              longitude, camera_guard_organisation_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (code) DO NOTHING
           RETURNING id""",
        (
            body.code,
            body.organisation_id,
            body.name,
            body.name_en,
            body.kind,
            body.district,
            body.latitude,
            body.longitude,
            body.camera_guard_organisation_id,
        ),
    ).fetchone()
    if row is None:
        raise Conflict(f"a site with code {body.code!r} already exists")
    record(conn, user, request, "site.create", target_type="site", target_id=row[0], after=body)
    return get_site(conn, user, int(row[0]))


@router.patch("/sites/{site_id}", summary="change a site (admin)")
def sites_patch(
    request: Request, conn: Db, user: Admin, site_id: int, body: SitePatch
) -> SiteDetail:
    before = get_site(conn, user, site_id)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("nothing to change: send at least one field")
    if "name" in changes and changes["name"] is None:
        raise Invalid("name: cannot be empty", field="name")
    _check_org(conn, changes.get("camera_guard_organisation_id"), "camera_guard_organisation_id")
    sets = ", ".join(f"{column} = %s" for column in changes)
    conn.execute(f"UPDATE sites SET {sets} WHERE id = %s", [*changes.values(), site_id])
    after = get_site(conn, user, site_id)
    record(
        conn,
        user,
        request,
        "site.update",
        target_type="site",
        target_id=site_id,
        before={k: getattr(before, k) for k in changes},
        after={k: getattr(after, k) for k in changes},
    )
    return after
