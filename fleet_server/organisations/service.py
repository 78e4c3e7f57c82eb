"""Operations on organisations and sites. Reads are what ``board.read``
reads (sites carry their boards' counts and health; the Border Guard has
camera status only, Điều 13.1.b), narrowed to the caller's scope; changes
need ``org.write``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fleet_server.access.audit import record
from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Conflict, Invalid, NotFound
from fleet_server.organisations import storage
from fleet_server.organisations.health_cache import cached
from fleet_server.organisations.models import STATES
from fleet_server.organisations.schemas import (
    OrganisationIn,
    OrganisationOut,
    SiteDetail,
    SiteHealth,
    SiteIn,
    SiteOut,
    SitePatch,
)
from fleet_server.organisations.storage import Conn


def list_sites(
    conn: Conn,
    principal: Principal,
    paging: ListParams,
    *,
    organisation_id: int | None = None,
    kind: str | None = None,
    q: str | None = None,
) -> Page[SiteOut]:
    principal.need("board.read")
    return storage.list_sites(
        conn, principal.scope, paging, organisation_id=organisation_id, kind=kind, q=q
    )


def site_health(
    conn: Conn, principal: Principal, *, site_id: int | None = None
) -> list[SiteHealth]:
    """Every visible site with its boards by state and open incidents;
    sites with problems first. The whole list is built once per change of
    the fleet's health (:mod:`~fleet_server.organisations.health_cache`)."""
    principal.need("board.read")
    if site_id is not None:
        return storage.site_health(conn, principal.scope, site_id=site_id)
    return list(kept_site_health(conn, principal))


def kept_site_health(conn: Conn, principal: Principal) -> tuple[SiteHealth, ...]:
    """:func:`site_health`'s whole list as kept: the same object until a
    rebuild finds it changed (what is built from it can check that)."""
    principal.need("board.read")
    scope = principal.scope
    kept: tuple[SiteHealth, ...] = cached(
        conn, ("site_health", scope), lambda c, _: tuple(storage.site_health(c, scope))
    )
    return kept


@dataclass(frozen=True, slots=True)
class SiteHealthJson:
    """:func:`site_health` as JSON, and a validator for conditional GETs."""

    body: bytes
    etag: str


def site_health_json(conn: Conn, principal: Principal) -> SiteHealthJson:
    """:func:`site_health` as a JSON array made by PostgreSQL (for 2,500 sites
    this spares the worker building and serialising 2,500 models), once per
    change of the fleet's health."""
    principal.need("board.read")
    scope = principal.scope

    def build(c: Conn, _: SiteHealthJson | None) -> SiteHealthJson:
        body = storage.site_health_json(c, scope)
        return SiteHealthJson(body, etag_of(body))

    built: SiteHealthJson = cached(conn, ("site_health_json", scope), build)
    return built


def fleet_counts(conn: Conn, principal: Principal) -> dict[str, int]:
    """Enabled boards by connectivity state (every state present, 0 if
    none), once per change of the fleet's health."""
    principal.need("board.read")
    scope = principal.scope

    def build(c: Conn, _: dict[str, int] | None) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        counts.update(storage.boards_by_state(c, scope))
        counts["total"] = sum(counts[s] for s in STATES)
        return counts

    counts: dict[str, int] = cached(conn, ("fleet_counts", scope), build)
    return dict(counts)


def etag_of(body: bytes) -> str:
    """A strong validator of ``body`` (an HTTP entity tag, quoted)."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def get_site(conn: Conn, principal: Principal, site_id: int) -> SiteDetail:
    principal.need("board.read")
    # the site's health is scoped itself: read alongside, it shows nothing more
    found, health = storage.get_site(
        conn,
        principal.scope,
        site_id,
        along=lambda: storage.site_health(conn, principal.scope, site_id=site_id),
    )
    if found is None or not health:
        raise NotFound("site", site_id)
    row, created_at = found
    return SiteDetail(**row, health=health[0], created_at=created_at)


def organisation_names(conn: Conn, principal: Principal, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` organisations :func:`list_organisations` lists, as
    ids and names only (a form's choices)."""
    principal.need("board.read")
    return storage.organisation_names(conn, principal.scope, principal.organisation_id, limit)


def list_organisations(
    conn: Conn, principal: Principal, paging: ListParams, *, kind: str | None = None
) -> Page[OrganisationOut]:
    """Organisations with at least one visible site, the caller's own, and
    for province-wide accounts all of them; ``sites`` and ``boards`` count
    only what the caller sees (a site given to an account one by one does not
    tell it how big the rest of that organisation is)."""
    principal.need("board.read")
    return storage.list_organisations(
        conn, principal.scope, paging, own_organisation_id=principal.organisation_id, kind=kind
    )


def create_organisation(
    conn: Conn, principal: Principal, actor: Actor, body: OrganisationIn
) -> OrganisationOut:
    principal.need("org.write")
    org_id = storage.insert_organisation(
        conn, code=body.code, name=body.name, name_en=body.name_en, kind=body.kind
    )
    if org_id is None:
        raise Conflict(f"an organisation with code {body.code!r} already exists")
    record(
        conn,
        actor,
        "organisation.create",
        target_type="organisation",
        target_id=org_id,
        after=body,
    )
    return OrganisationOut(id=org_id, sites=0, boards=0, **body.model_dump())


def _check_org(conn: Conn, org_id: int | None, field: str) -> None:
    if org_id is None:
        return
    if not storage.organisation_exists(conn, org_id):
        raise Invalid(f"{field}: organisation {org_id} does not exist", field=field)


def create_site(conn: Conn, principal: Principal, actor: Actor, body: SiteIn) -> SiteDetail:
    principal.need("org.write")
    _check_org(conn, body.organisation_id, "organisation_id")
    _check_org(conn, body.camera_guard_organisation_id, "camera_guard_organisation_id")
    site_id = storage.insert_site(conn, **body.model_dump())
    if site_id is None:
        raise Conflict(f"a site with code {body.code!r} already exists")
    record(conn, actor, "site.create", target_type="site", target_id=site_id, after=body)
    return get_site(conn, principal, site_id)


def update_site(
    conn: Conn, principal: Principal, actor: Actor, site_id: int, body: SitePatch
) -> SiteDetail:
    principal.need("org.write")
    before = get_site(conn, principal, site_id)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("nothing to change: send at least one field")
    if "name" in changes and changes["name"] is None:
        raise Invalid("name: cannot be empty", field="name")
    _check_org(conn, changes.get("camera_guard_organisation_id"), "camera_guard_organisation_id")
    storage.update_site(conn, site_id, changes)
    after = get_site(conn, principal, site_id)
    record(
        conn,
        actor,
        "site.update",
        target_type="site",
        target_id=site_id,
        before={k: getattr(before, k) for k in changes},
        after={k: getattr(after, k) for k in changes},
    )
    return after
