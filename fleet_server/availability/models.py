"""Availability rows as the database computes them (docs/availability.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

#: What each row of a list is.
Level = Literal["board", "site", "organisation"]
#: The longest period one request may ask for (an annual report's year).
MAX_PERIOD = timedelta(days=366)
FIGURES = ("expected_s", "up_s", "down_s", "unknown_s", "maintenance_s", "availability")
#: Sortable fields per level, and the default order (its natural key).
SORTABLE: dict[str, tuple[str, ...]] = {
    "board": ("board_id", "board_name", "site_code", "organisation_code", *FIGURES),
    "site": ("site_code", "site_name", "organisation_code", "boards", *FIGURES),
    "organisation": ("organisation_code", "organisation_name", "sites", "boards", *FIGURES),
}
KEY = {"board": "board_id", "site": "site_code", "organisation": "organisation_code"}


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
