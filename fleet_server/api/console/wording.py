"""The domain's values in words, for the console's templates (Jinja filters
registered in ``FILTERS``): incident titles in the reader's language, what
an incident's details say (each field labelled, with its unit), the
engine's notes and a board's state reasons translated, audit actions,
actors, teams, audit changes and command answers. Every label is a
``messages.toml`` key; a value without one is made readable
(``i18n.humanize``), never shown as a raw code. docs/console.md says how to
add a label."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from fleet_server.api.console import i18n
from fleet_server.incidents import titles
from fleet_server.tickets.models import AUTO_TICKETS

Row = tuple[str, str]


def _t(language: str) -> i18n.Translate:
    return i18n.translator(language)


# -- incident and ticket titles ---------------------------------------------------


def incident_title(incident: Any, language: str) -> str:
    """An incident's title in ``language``: from its key (a rule's), the half
    of an old "vi / en" title, or what the reporter wrote."""
    return titles.of(
        incident.title,
        getattr(incident, "title_key", None),
        getattr(incident, "title_params", None),
        language,
        bilingual=getattr(incident, "reported_by", None) is None,
    )


#: The engine's ticket titles, "vi / en" (tickets.models.AUTO_TICKETS).
_AUTO_TITLES = {rule.title for rule in AUTO_TICKETS.values()}
_WHERE_SITE = re.compile(r" — site (\d+)")


def ticket_title(text: str | None, language: str) -> str:
    """A ticket's title: the engine's "vi / en — where" in one language; a
    person's title as written."""
    if not text:
        return ""
    for both in _AUTO_TITLES:
        if text.startswith(both):
            vi, _, en = both.partition(" / ")
            where = text[len(both) :]
            site = _WHERE_SITE.fullmatch(where)  # the engine's "— site 3"
            if site:
                where = " — " + _t(language)("ticket.where_site", id=site.group(1))
            return (en if language == "en" else vi) + where
    return titles.of(text, None, None, language) if _is_incident_title(text) else text


def _is_incident_title(text: str) -> bool:
    """An incident's old "vi / en" title (a ticket's description copies it)."""
    _, sep, en = text.partition(" / ")
    return bool(sep) and en.startswith(_TITLE_STARTS)


#: How the English half of a rule's title starts (before any placeholder);
#: "Board " for the titles before titles were data ("Board lc-… lost").
_TITLE_STARTS = tuple({w[1].split("{")[0] for w in titles.WHAT.values()} | {"Board "})


# -- state reasons and the engine's notes -----------------------------------------

#: (pattern, key): free texts the server writes, translated; the named
#: groups fill the key's placeholders.
REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"^birth: agent connected$", "reason.birth"),
        (r"^agent stopped( cleanly)?$", "reason.stopped"),
        (r"^simulator stopped$", "reason.simulator_stopped"),
        (r"^last will: connection lost$", "reason.will"),
        (r"^heartbeats resumed$", "reason.resumed"),
        (r"^first heartbeat$", "reason.first_heartbeat"),
        (r"^no heartbeat for (?P<silent>\d+) s \(interval (?P<interval>\d+) s\)$", "reason.silent"),
    )
)

NOTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"^condition cleared$", "note.cleared"),
        (r"^board disabled or removed$", "note.board_removed"),
        (r"^condition keeps opening and clearing: one flapping incident$", "note.flapping"),
        (r"^part of site incident (?P<id>\d+)$", "note.attached"),
        (r"^the site is back; this board is not$", "note.site_back"),
        (r"^not acknowledged after (?P<minutes>\d+) min$", "note.not_acknowledged"),
        (r"^reminder:(?P<n>\d+)$", "note.reminder"),
        (
            r"^late data for (?P<board>\S+) on (?P<day>[\d-]+): the day is now (?P<status>\w+)$",
            "note.late_data",
        ),
        (
            r"^(?P<board>\S+) on (?P<day>[\d-]+): advertising is now (?P<shown>.+?)"
            r" \(ceiling (?P<limit>.+)\)$",
            "note.advertising_under",
        ),
        (r"^(?P<count>\d+) photo\(s\) attached$", "note.photos"),
        (r"^incident (?P<id>\d+)$", "note.incident_linked"),
        (r"^(?P<category>[a-z_]+): (?P<amount>\d+(?:\.\d+)?) VND$", "note.cost"),
        (r"^not in the approved registry$", "note.not_approved"),
        (r"^outside its approved validity$", "note.outside_validity"),
    )
)


def _figure(value: str, language: str) -> str:
    """A figure the server wrote ("28.0 %", "none", "no minutes on air")."""
    words = {"none": "common.none", "no minutes on air": "note.no_minutes"}
    if value in words:
        return _t(language)(words[value])
    return value.replace(".", ",") if language == "vi" else value


#: How a named group of a note is shown (others: as they are).
_GROUPS: dict[str, Callable[[str, str], str]] = {
    "day": i18n.format_day,
    "status": lambda v, lang: i18n.label(lang, "compliance_status", v),
    "category": lambda v, lang: i18n.label(lang, "cost", v),
    "amount": lambda v, lang: i18n.format_money(float(v), lang),
    "shown": _figure,
    "limit": _figure,
}


def _group(name: str, value: str, language: str) -> str:
    show = _GROUPS.get(name)
    return show(value, language) if show else value


def _translated(
    text: str | None, table: tuple[tuple[re.Pattern[str], str], ...], language: str
) -> str:
    if not text:
        return ""
    for pattern, key in table:
        found = pattern.match(text)
        if found:
            values = {k: _group(k, v, language) for k, v in found.groupdict().items()}
            return _t(language)(key, **values)
    return text


def reason(text: str | None, language: str) -> str:
    """Why a board is in its state, in ``language`` (an agent's own words as
    they are)."""
    return _translated(text, REASONS, language)


def note(text: str | None, language: str) -> str:
    """A note the engine or the server wrote, in ``language``; a person's
    note as written."""
    return _translated(text, NOTES, language)


def event_note(text: str | None, incident: Any, language: str) -> str:
    """An incident event's note: the title (an opened or reopened event notes
    it) in ``language``, else :func:`note`."""
    if text and text == incident.title:
        return incident_title(incident, language)
    if text and _is_incident_title(text) and getattr(incident, "reported_by", None) is None:
        return titles.of(text, None, None, language)  # the title when it opened
    return note(text, language)


def actor(name: str | None, language: str) -> str:
    """Who did it: a person's account as it is, the engine and the
    server's jobs in words (``engine:<rule>``: the rule's name)."""
    if not name:
        return _t(language)("common.none")
    if f"actor.{name}" in i18n.STRINGS:
        return _t(language)(f"actor.{name}")
    kind, _, detail = name.partition(":")
    if f"actor.{kind}" not in i18n.STRINGS or (kind == name and "." in name):
        return name
    words = _t(language)(f"actor.{kind}")
    return f"{words} ({i18n.label(language, 'rule', detail)})" if detail else words


def team(code: str | None, language: str) -> str:
    return i18n.label(language, "team", code) if code else _t(language)("common.none")


def audit_action(action: str, language: str) -> str:
    """An audit action: its label, else its target's and its verb's."""
    key = f"audit_action.{action}"
    if key in i18n.STRINGS:
        return _t(language)(key)
    target, _, verb = action.rpartition(".")
    if not target:
        return i18n.humanize(action)
    return f"{i18n.label(language, 'audit_target', target)}: {i18n.label(language, 'verb', verb)}"


# -- values with their units --------------------------------------------------------

Format = Callable[[Any, str], str]


def _unit(unit: str, digits: int = 1) -> Format:
    def show(value: Any, language: str) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return plain(value, language)
        places = 0 if float(value).is_integer() else digits
        return f"{i18n.format_number(value, language, places)}\u00a0{unit}"

    return show


def _label(prefix: str) -> Format:
    return lambda value, language: i18n.label(language, prefix, value) if value else "—"


def _minutes(value: Any, language: str) -> str:
    if not isinstance(value, int | float):
        return plain(value, language)
    places = 0 if float(value).is_integer() else 1
    return f"{i18n.format_number(value, language, places)} {_t(language)('unit.minutes')}"


def _parts(value: Any, language: str) -> str:
    """Morning/afternoon figures or windows: "Sáng: 60 phút; Chiều: …"."""
    if not isinstance(value, Mapping):
        return plain(value, language)
    shown = []
    for part, figure in value.items():
        text = (
            _minutes(figure, language)
            if isinstance(figure, int | float)
            else " – ".join(map(str, figure))
            if isinstance(figure, list | tuple)
            else plain(figure, language)
        )
        shown.append(f"{i18n.label(language, 'part', part)}: {text}")
    return "; ".join(shown)


def _ceiling_from(value: Any, language: str) -> str:
    kind, _, code = str(value).partition(":")
    words = i18n.label(language, "ceiling_from", kind)
    return f"{words} {code}" if code else words


def plain(value: Any, language: str) -> str:
    """Any value: yes/no, numbers in the language's way, lists joined, a
    time in Vietnam time, a code made readable."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _t(language)("common.yes" if value else "common.no")
    if isinstance(value, int | float):
        return i18n.format_number(value, language, 0 if float(value).is_integer() else 2)
    if isinstance(value, list | tuple):
        return ", ".join(plain(v, language) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(
            f"{field_label(k, language)}: {plain(v, language)}" for k, v in value.items()
        )
    return _text(str(value), language)


def _text(text: str, language: str) -> str:
    if _ISO_TIME.match(text):
        return i18n.format_time(text, language)
    return i18n.humanize(text) if _CODE.fullmatch(text) else text


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")

#: detail key -> how its value is shown; its label is ``field.<key>``.
FIELDS: dict[str, Format] = {
    "state": _label("state"),
    "reason": lambda v, lang: reason(v, lang) or "—",
    "since": i18n.format_time,
    "started_at": i18n.format_time,
    "cause": _label("cause"),
    "status": _label("camera_status"),
    "category": _label("report_category"),
    "halted": _label("kill.halted"),
    "why": lambda v, lang: note(v, lang) or "—",
    "day": i18n.format_day,
    "battery_percent": _unit("%"),
    "disk_percent": _unit("%"),
    "loss_avg": _unit("%"),
    "rtt_avg": _unit("ms", 0),
    "luma_mean": lambda v, lang: plain(v, lang) + " / 255",
    "luma_stddev": lambda v, lang: plain(v, lang) + " / 255",
    "reference_distance": lambda v, lang: plain(v, lang) + " / 64",
    "skew_s": _unit("s", 0),
    "temperature_c": _unit("°C"),
    "advertising_share_percent": _unit("%", 2),
    "ceiling_percent": _unit("%"),
    "morning_minutes": _minutes,
    "afternoon_minutes": _minutes,
    "morning_unknown_minutes": _minutes,
    "afternoon_unknown_minutes": _minutes,
    "advertising_minutes": _minutes,
    "minutes_on_air": _minutes,
    "windows": _parts,
    "thresholds_minutes": _parts,
    "ceiling_from": _ceiling_from,
}


def field_label(key: str, language: str) -> str:
    return i18n.label(language, "field", key)


#: Details shown by a page of their own rather than as a row (the likely
#: cause of an offline board: its box on the incident and board pages).
OWN_BOX = frozenset({"offline_cause"})


def details(values: Mapping[str, Any] | None, language: str) -> list[Row]:
    """An incident's details as (label, value) rows, in ``language``."""
    rows = []
    for key, value in sorted((values or {}).items()):
        if key in OWN_BOX:
            continue
        show = FIELDS.get(key, plain)
        rows.append((field_label(key, language), show(value, language)))
    return rows


def changes(before: Any, after: Any, language: str) -> list[tuple[str, str, str]]:
    """An audit row's change: (field, before, after) for each field that is
    in either; a value that is not an object is one row."""
    if not isinstance(before, Mapping) and not isinstance(after, Mapping):
        if before is None and after is None:
            return []
        return [("", plain(before, language), plain(after, language))]
    old = before if isinstance(before, Mapping) else {}
    new = after if isinstance(after, Mapping) else {}
    keys = list(dict.fromkeys([*old, *new]))
    return [
        (
            field_label(k, language),
            plain(old.get(k), language) if k in old else "",
            plain(new.get(k), language) if k in new else "",
        )
        for k in keys
        if old.get(k) != new.get(k) or k not in old or k not in new
    ]


def command_output(output: Any, language: str) -> str:
    """A command's answer: its fields labelled (``field.<key>``)."""
    if output in (None, {}, []):
        return ""
    if isinstance(output, str):
        text: str = output
        try:
            output = json.loads(text)
        except ValueError:
            return text
    return plain(output, language)


def ago(value: datetime | None, language: str, now: datetime | None = None) -> str:
    return i18n.format_ago(value, language, now)


#: Jinja filters: ``{{ value | name(lang) }}``.
FILTERS: dict[str, Callable[..., str | list[Any]]] = {
    "when": i18n.format_time,
    "number": i18n.format_number,
    "duration": i18n.format_duration,
    "ago": ago,
    "money": i18n.format_money,
    "day": i18n.format_day,
    "incident_title": incident_title,
    "ticket_title": ticket_title,
    "reason": reason,
    "note": note,
    "event_note": event_note,
    "actor": actor,
    "team": team,
    "audit_action": audit_action,
    "details": details,
    "field": field_label,
    "value": plain,
    "command_output": command_output,
}
