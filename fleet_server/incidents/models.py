"""Incident domain types: what a rule wants opened, an incident as stored,
the states and severities, and the pure rules of the lifecycle (no IO)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from fleet_server.errors import Conflict
from fleet_server.vocabulary import IncidentClass, Severity

IncidentState = Literal["open", "acknowledged", "resolved"]
#: Board connectivity rules: their notices wait for a confirmation, so a
#: whole-site outage found meanwhile replaces them with one site notice.
CONFIRMED_RULES = ("board_lost", "board_stale")
#: The rule of a whole-site incident (its board incidents are attached to it).
SITE_RULE = "site_outage"


class InvalidTransition(Conflict):
    """An incident change that its state does not allow (e.g. resolving twice)."""


@dataclass(frozen=True, slots=True)
class IncidentSpec:
    """What a rule wants opened."""

    dedupe_key: str
    rule: str
    incident_class: IncidentClass
    severity: Severity
    title: str
    board_id: str | None = None
    site_id: int | None = None
    organisation_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    #: The title as data (``incidents.titles``); None: ``title`` as written.
    title_key: str | None = None
    title_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    dedupe_key: str
    rule: str
    incident_class: IncidentClass
    severity: Severity
    state: IncidentState
    board_id: str | None
    site_id: int | None
    organisation_id: int | None
    parent_id: int | None
    title: str
    flapping: bool
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    reopen_count: int
    title_key: str | None = None
    title_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Which incidents a list shows; every field is optional (empty: any)."""

    states: tuple[str, ...] = ()
    incident_class: str | None = None
    severities: tuple[str, ...] = ()
    board_id: str | None = None
    site_id: int | None = None
    rule: str | None = None
    #: The incidents attached to this site incident.
    parent_id: int | None = None
    #: Only incidents not attached to a site incident.
    top_level: bool = False
    #: Opened at or after / before.
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def active(cls, **more: Any) -> IncidentFilter:
        """Open or acknowledged incidents (what a desk works on)."""
        return cls(states=ACTIVE_STATES, **more)


#: The states of an incident not resolved yet.
ACTIVE_STATES: tuple[str, ...] = ("open", "acknowledged")


# -- incidents reported by a person (Điều 9.3) ------------------------------------

ReportCategory = Literal["security", "screen", "camera", "power", "network", "other"]
#: What a person may report, and the incident class each opens. "security":
#: an information-security incident, including unapproved or harmful content
#: on a screen (Điều 9.3).
REPORT_CLASSES: dict[str, IncidentClass] = {
    "security": "security",
    "screen": "technical",
    "camera": "technical",
    "power": "technical",
    "network": "technical",
    "other": "technical",
}
#: What a Border Guard officer reports: the cameras and screens at the sites
#: their unit guards.
GUARD_CATEGORIES: tuple[str, ...] = ("camera", "screen")
#: The dedupe-key prefix of reported incidents (the engine leaves them alone:
#: they are neither board nor site keys).
REPORT_KEY_PREFIX = "report:"
#: Without a client key, the same report again within this many seconds is
#: the same report (a double submit).
REPORT_DEDUPE_S = 600


def report_rule(category: str) -> str:
    """The rule of an incident a person reported: ``camera_reported`` etc.
    (camera reports match the ``camera*`` notification routes and the Border
    Guard's view like the camera rules do)."""
    return f"{category}_reported"
