"""Organisations, sites and a site's health: the vocabulary."""

from __future__ import annotations

from typing import Literal

OrgKind = Literal[
    "provincial_department", "economic_zone_board", "border_guard", "district_committee", "other"
]
SiteKind = Literal["border_gate", "district_centre", "city", "other"]

#: A board's connectivity states, as the fleet summary counts them.
STATES = ("online", "offline", "lost", "stale", "unknown")

#: A site's health, worst first: ``health_rank`` is the index here, the list
#: is sorted by it, and the console's map and legend use the same order.
HEALTHS = ("offline", "degraded", "unknown", "online")
