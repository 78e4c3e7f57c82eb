"""The API's models of availability."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from fleet_server.access.pagination import CursorPage
from fleet_server.availability.models import Level


class AvailabilityOut(BaseModel):
    """One board, site or organisation; fields of a finer level are null."""

    level: Level
    board_id: str | None = None
    board_name: str | None = None
    site_id: int | None = None
    site_code: str | None = None
    site_name: str | None = None
    organisation_id: int
    organisation_code: str
    organisation_name: str
    sites: int
    boards: int
    #: Seconds: expected = up + down + unknown (maintenance taken out when excluded).
    expected_s: float
    up_s: float
    down_s: float
    unknown_s: float
    maintenance_s: float
    #: up / (up + down), 0–1; null when nothing was known.
    availability: float | None


class AvailabilityPage(CursorPage[AvailabilityOut]):
    level: Level
    #: The period computed: ``to`` is never later than now.
    period_from: datetime
    period_to: datetime
    exclude_maintenance: bool
