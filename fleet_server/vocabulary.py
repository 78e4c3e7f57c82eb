"""The words every part of the server shares, defined once: incident classes
and severities, and the languages people read. (The local time zone is
``localtime``; board ids are ``fleet_protocol.topics.DEVICE_ID_PATTERN``.)"""

from __future__ import annotations

from typing import Literal, get_args

#: Điều 9: technical faults, information-security incidents, and broadcast
#: compliance (Điều 8).
IncidentClass = Literal["technical", "security", "compliance"]
INCIDENT_CLASSES: tuple[IncidentClass, ...] = get_args(IncidentClass)

Severity = Literal["critical", "major", "minor", "warning"]
#: Most severe first.
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
#: Higher is more severe.
SEVERITY_ORDER: dict[str, int] = {s: len(SEVERITIES) - 1 - i for i, s in enumerate(SEVERITIES)}

#: The languages of the console, notices and reports: Vietnamese first.
Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
