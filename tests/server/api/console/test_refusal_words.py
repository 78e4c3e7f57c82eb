"""Every reason a console form can show back as a refusal is worded in the
reader's language (refusal_reasons.REASONS -> messages.toml), the JSON
API keeping the English text. Found by reading the source: each refusal
(``Invalid(...)``, a pydantic validator's ``ValueError(...)``, ...) that
the console's handlers and the services they call raise, its text with
each value filled in. A new refusal without its words fails here, unless
it is listed in NOT_SHOWN with why no form shows it."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from fleet_server.api.console import forms, i18n
from fleet_server.api.console.refusal_reasons import REASONS

ROOT = Path(__file__).resolve().parents[4]
#: The modules whose refusals a console form shows: the console's own, and
#: the services (with their request models) its form handlers call.
FORM_MODULES = (
    "fleet_server/api/console/*.py",
    "fleet_server/broadcast/models.py",
    "fleet_server/broadcast/service.py",
    "fleet_server/commands/service.py",
    "fleet_server/commands/validation.py",
    "fleet_server/compliance/schemas.py",
    "fleet_server/compliance/service_orders.py",
    "fleet_server/content/files.py",
    "fleet_server/content/schemas.py",
    "fleet_server/content/service.py",
    "fleet_server/content/service_history.py",
    "fleet_server/content/service_files.py",
    "fleet_server/content/service_suppliers.py",
    "fleet_server/content/service_workflow.py",
    "fleet_server/datausage/schemas.py",
    "fleet_server/incidents/photos.py",
    "fleet_server/incidents/schemas.py",
    "fleet_server/incidents/service.py",
    "fleet_server/incidents/service_reports.py",
    "fleet_server/maintenance/models.py",
    "fleet_server/maintenance/schemas.py",
    "fleet_server/maintenance/service.py",
    "fleet_server/notifications/channels/vietnam.py",
    "fleet_server/notifications/models.py",
    "fleet_server/notifications/schemas.py",
    "fleet_server/notifications/schemas_preferences.py",
    "fleet_server/notifications/service.py",
    "fleet_server/notifications/service_preferences.py",
    "fleet_server/reports/archive.py",
    "fleet_server/reports/archive_pictures.py",
    "fleet_server/reports/service.py",
    "fleet_server/reports/service_budget.py",
    "fleet_server/provisioning/*.py",
    "fleet_server/rollouts/service.py",
    "fleet_server/snapshots/references.py",
    "fleet_server/thresholds/models.py",
    "fleet_server/thresholds/schemas.py",
    "fleet_server/tickets/schemas.py",
    "fleet_server/tickets/schemas_preventive.py",
    "fleet_server/tickets/service.py",
    "fleet_server/tickets/service_preventive.py",
    "fleet_server/tickets/storage_costs.py",
    "fleet_server/users/models.py",
    "fleet_server/users/passwords.py",
    "fleet_server/users/service.py",
)
#: Refusals with the message first: ``Invalid(detail, ...)``, ``Conflict(detail)``.
DETAIL_FIRST = {
    "Invalid", "Unprocessable", "ValueError", "TooLarge", "WeakPassword", "UnsupportedPhoto",
    "WindowsFormError", "UserError", "WrongPassword", "ArchiveError", "TicketValueError",
    "AssigneeOutOfScope", "ImportFileError", "Conflict", "InvalidTransition",
}  # fmt: skip
#: Refusals made of (field or kind, message): the field becomes the detail's code.
FIELD_FIRST = {"ReleaseInvalid", "_bad", "_invalid", "invalid_field", "WindowError"}
#: (module, the text as read here) of refusals no console form shows, and why.
NOT_SHOWN = {
    # the API's JSON only: the console sends no command arguments, no configuration
    ("fleet_server.commands.validation", r"^args"): "the console sends no command arguments",
    ("fleet_server.commands.validation", r"^\{\} takes no arguments \(the reason is the note\)"): (
        "the console sends no command arguments"
    ),
    ("fleet_server.commands.service", r"^(args|config): "): "the console sends no arguments",
    # a PATCH of the API (JSON null, a field that cannot change)
    ("fleet_server.tickets.schemas_preventive", r"^\{\} cannot be null$"): "JSON null, API only",
    ("fleet_server.content.service", r"^\{\}: cannot be changed$"): "the API's PATCH",
    ("fleet_server.content.service", r"^from_department: must be true or false$"): "API's PATCH",
    ("fleet_server.content.service", r"^content \{\} not found$"): "a not-found: the error page",
    ("fleet_server.provisioning.checks", r"^board \{\} not found$"): "a not-found: the error page",
    # the photo checker's own, caught as "not a readable image" (worded)
    ("fleet_server.incidents.photos", r"^(not a JPEG|a (JPEG|PNG|WebP) )"): "caught inside",
    # notices are made by the server, not typed
    ("fleet_server.notifications.models", r"^Notice\."): "made by the engine",
    ("fleet_server.notifications.schemas_preferences", r"^a delivery report"): "an SMS gateway's",
    # a broken archive store: the server's fault, not the reader's
    ("fleet_server.reports.archive", r"^broadcast file"): "the store, not the form",
    # a forwarded reason, worded where it is made (pydantic's, float()'s, a
    # service's: "could not convert string to float", "tick the box to …")
    ("*", r"^([\w.{}]+: )?\{\}$"): "forwarded",
}


def _sample(node: ast.expr) -> str | None:
    """A message's text, each value as ``{}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.JoinedStr):
        parts = [_sample(v) if isinstance(v, ast.Constant) else "{}" for v in node.values]
        return None if None in parts else "".join(p or "" for p in parts)
    return None


def _refusals() -> list[tuple[str, int, str, str | None]]:
    """(module, line, the text with ``{}`` for each value, its field) of
    each refusal of FORM_MODULES whose text is written where it is raised."""
    found = []
    for pattern in FORM_MODULES:
        for path in sorted(ROOT.glob(pattern)):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = getattr(func, "id", None) or getattr(func, "attr", None)
                field = None
                if name in FIELD_FIRST and len(node.args) >= 2:
                    head, text = _sample(node.args[0]), _sample(node.args[1])
                    text = None if head is None or text is None else f"{head}: {text}"
                    field = head
                elif name in ("ContentError", "ProvisioningError") and len(node.args) >= 2:
                    text = _sample(node.args[1])
                elif name == "CommandRefused" and len(node.args) >= 3:
                    text = _sample(node.args[2])
                elif name in DETAIL_FIRST:
                    text = _sample(node.args[0])
                else:
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "field":
                        field = _sample(keyword.value)
                if text is not None:
                    found.append((module, node.lineno, text, field))
    return found


def _filled(text: str, value: str) -> str:
    return text.replace("{}", value).replace("{{", "{").replace("}}", "}")


def _worded(text: str, field: str | None) -> bool:
    """Worded for some value in each ``{}`` (a number, a quoted word, a day)."""
    head = text.split(": ", 1)[0] if ": " in text else None
    if field is None and head and re.fullmatch(r"[\w.`/{}]+", head):
        field = head
    for value in ("12", "'x'", "2026-12-07", "site", "board", "FLEET_X"):
        filled = _filled(text, value)
        if forms.reason(filled, _filled(field, value) if field else None)[1] is not None:
            return True
    return False


def _not_shown(module: str, text: str) -> bool:
    return any(where in (module, "*") and re.search(pattern, text) for where, pattern in NOT_SHOWN)


def test_every_refusal_a_console_form_shows_is_worded_in_the_readers_language() -> None:
    found = _refusals()
    assert len(found) > 150  # the scan reads what it should
    unworded = [
        f"{module}:{line}: {text!r}"
        for module, line, text, field in found
        if not _worded(text, field) and not _not_shown(module, text)
    ]
    assert not unworded, "\n".join(unworded)


def test_the_scan_would_catch_a_refusal_left_in_english() -> None:
    assert not _worded("cameras: line {} needs an id and a camera", "cameras")
    assert _worded("cameras: line {} needs an id and a name", "cameras")
    assert not _not_shown("fleet_server.api.console.admin_boards", "cameras: line {} …")


def test_each_worded_reason_has_both_languages_with_the_values_it_names() -> None:
    for pattern, key in REASONS:
        assert i18n.known(key), key
        for language in ("vi", "en"):
            text = i18n.STRINGS[key][0 if language == "vi" else 1]
            named = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            assert named <= set(pattern.groupindex), (key, language, named)


@pytest.mark.parametrize(
    ("detail", "field", "key", "values"),
    [
        ("cameras: line 3 needs an id and a name", "cameras", "refusal.camera_line",
         {"line": "3"}),
        ("installed_on: not a date", "installed_on", "refusal.day", {}),
        ("observed_at: not a date and time", "observed_at", "refusal.date_time", {}),
        ("heartbeat_interval_s: a whole number of seconds", "heartbeat_interval_s",
         "refusal.seconds", {}),
        ("password_again: the two passwords differ", "password_again",
         "refusal.passwords_differ", {}),
        ("password: a password needs at least 12 characters", "password",
         "refusal.password_short", {"n": "12"}),
        ("next_due_on: 2026-01-02 is in the past (today is 2026-12-07)", "next_due_on",
         "refusal.due_past", {"day": "2026-01-02", "today": "2026-12-07"}),
        ("params.open_after_s: 5 is outside 60..86400 (s)", "params.open_after_s",
         "refusal.outside", {"value": "5", "low": "60", "high": "86400", "unit": "s"}),
        ("waves: 'abc' is neither a number nor a percentage", "waves", "refusal.wave", {}),
        ("photos: at most 5 photos per incident", "photos", "refusal.photos_most", {"n": "5"}),
        ("file: larger than 2097152 bytes; split it", "file", "refusal.file_large",
         {"n": "2097152"}),
        ("channel: contact 4 has no webhook URL", "channel", "refusal.contact_lacks",
         {"what": "webhook URL"}),
    ],
)  # fmt: skip
def test_a_reason_is_worded_with_its_values_in_vi_and_en(
    detail: str, field: str, key: str, values: dict[str, str]
) -> None:
    _text, worded = forms.reason(detail, field)
    assert worded == (key, values)
    for language in ("vi", "en"):
        said = i18n.translator(language)(key, **values)
        assert all(v in said for v in values.values() if v != "s"), said
    assert i18n.translator("vi")(key, **values) != i18n.translator("en")(key, **values)
