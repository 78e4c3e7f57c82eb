"""The API's models of organisations, sites and site health."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from fleet_server.organisations.models import OrgKind, SiteKind


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
