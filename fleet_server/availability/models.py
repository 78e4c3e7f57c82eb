"""Availability rows as the database computes them (docs/availability.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end): the period asked for."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Figures:
    """Seconds of a board, or summed over boards, and up / (up + down)."""

    #: The period, less maintenance when it is excluded: up + down + unknown.
    expected_s: float
    up_s: float
    down_s: float
    unknown_s: float
    #: Time inside maintenance windows (reported whether excluded or not).
    maintenance_s: float
    #: None when nothing was known (no up and no down time).
    availability: float | None


@dataclass(frozen=True, slots=True)
class BoardAvailability:
    board_id: str
    board_name: str
    site_id: int
    site_code: str
    site_name: str
    organisation_id: int
    organisation_code: str
    organisation_name: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class SiteAvailability:
    site_id: int
    site_code: str
    site_name: str
    organisation_id: int
    organisation_code: str
    organisation_name: str
    boards: int
    figures: Figures


@dataclass(frozen=True, slots=True)
class OrganisationAvailability:
    organisation_id: int
    organisation_code: str
    organisation_name: str
    sites: int
    boards: int
    figures: Figures
