"""Reading the console's forms (tickets, maintenance, preventive schedules,
rule thresholds, the administration pages) into the API's own request
models: the first problem becomes an ``Invalid`` naming the field (shown in
the reader's language), times typed in Vietnam time and the "yes, really"
box. The "where" of the operational forms (a whole site, or one of its
boards) is the place picker's (place_search.py).

A refused form comes back as its own page (``refused``): what was typed
(never a secret), the field at fault marked and named by its label in the
reader's language, and the reason (a common problem in the reader's
language, ``REASONS``), so nothing has to be typed twice. Templates show it
with ``_refusal.html`` and mark the field with ``_forms.html``'s
``invalid``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Form
from fastapi.responses import Response
from pydantic import BaseModel, GetCoreSchemaHandler, ValidationError
from pydantic_core import core_schema

from fleet_server.access.pagination import ListParams
from fleet_server.api.console import i18n
from fleet_server.api.console.refusal_reasons import REASONS
from fleet_server.api.deps import Conn
from fleet_server.errors import Forbidden, Invalid, NotFound, RequestError
from fleet_server.localtime import LOCAL_TZ

M = TypeVar("M", bound=BaseModel)
#: The most rows a select of choices offers (organisations, contacts, ...).
ALL = ListParams(limit=500, offset=0, sort=None)
#: What ``<input type="datetime-local">`` sends.
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
#: The longest "where" a form takes: a picked suggestion is a place's label
#: and its id (``Bảng … · Điểm … [board:…]``), names up to 200 characters.
PICKED = 600
#: The "where" select of a form (``site:<id>`` or ``board:<id>``, see ``where``).
#: The most of a value the page shows again after a refusal (a script's
#: megabyte is cut, visibly, with "…").
SHOWN_MOST = 10_000


class TooLong(str):
    """A typed value longer than its field takes (``limit``; a number
    field's largest number: ``most``): handed to the handler as typed,
    refused by ``fit``."""

    limit: int
    most: int | None

    def __new__(cls, value: str, limit: int, most: int | None = None) -> TooLong:
        text = super().__new__(cls, value)
        text.limit = limit
        text.most = most
        return text

    def too_large(self) -> bool:
        """Digits only, in a number field, above its largest number: a
        number out of range rather than too many characters."""
        digits = self.lstrip("0")
        if self.most is None or not (self.isascii() and self.isdigit()):
            return False
        return len(digits) > len(str(self.most)) or int(digits or "0") > self.most


@dataclass(frozen=True)
class Longest:
    """The most characters a console form field takes (``Annotated[str,
    Form(), Longest(n)]``): a longer value reaches the handler as
    ``TooLong``, for ``fit`` to refuse with the form shown again. A number
    field names its largest number (``most``, as its model's bound): a
    longer number is refused as out of range, as a shorter one is."""

    limit: int
    most: int | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.mark, handler(source))

    def mark(self, value: Any) -> Any:
        too_long = isinstance(value, str) and len(value) > self.limit
        return TooLong(value, self.limit, self.most) if too_long else value


WhereField = Annotated[str, Form(alias="where"), Longest(PICKED)]
#: A "yes, really" box (a browser sends "on" when it is ticked).
ConfirmField = Annotated[str, Form(), Longest(10)]
#: Form fields never written back into a page after a refusal.
SECRET_FIELDS = frozenset({"password", "password_again", "new_password", "webhook_secret"})


def checked(model: type[M], /, **values: Any) -> M:
    """The form's values as the API's model; its first problem as Invalid,
    naming the field (a problem of the whole form: just the reason). A NUL
    character or a value too long for its form field is refused first,
    naming its field (``fit``)."""
    fit(values)
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "form"
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        if field == "form" and message.split(" ", 1)[0] in model.model_fields:
            # a check of the whole form that names its field first ("ends_at must be after…")
            field = message.split(" ", 1)[0]
        raise Invalid(message if field == "form" else f"{field}: {message}", field=field) from None


def confirmed(value: str, reason: str) -> None:
    """A "yes, really" box: unticked, Invalid naming ``confirm`` (``reason``:
    what to do, e.g. "tick the box to stop the schedule")."""
    if value not in ("on", "true", "1"):
        raise Invalid(f"confirm: {reason}", field="confirm")


def local_time(text: str, field: str) -> datetime:
    """A time typed in Vietnam time (``2026-12-06T21:30``), as an aware datetime."""
    try:
        return datetime.strptime(text.strip()[:16], LOCAL_INPUT).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise Invalid(f"{field}: give a date and time (Vietnam time)", field=field) from None


def local_input(value: datetime) -> str:
    """The value of a ``datetime-local`` input for ``value``, in Vietnam time."""
    return value.astimezone(LOCAL_TZ).strftime(LOCAL_INPUT)


def day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{field}: give a day (year-month-day)", field=field) from None


def whole(text: str, field: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise Invalid(f"{field}: give a whole number", field=field) from None


def where(text: str) -> tuple[int | None, str | None]:
    """``site:<id>`` or ``board:<id>`` as (site_id, board_id)."""
    kind, _, value = text.strip().partition(":")
    if kind == "site" and value.isdigit():
        return int(value), None
    if kind == "board" and value:
        return None, value
    raise Invalid("where: choose a site or a board", field="where")


def chosen(site_id: int | None, board_id: str | None) -> str:
    """The "where" select's value for a page of one board or site ("" for all)."""
    if board_id:
        return f"board:{board_id}"
    return f"site:{site_id}" if site_id else ""


# -- refusals ----------------------------------------------------------------------------


def fit(values: Mapping[str, Any]) -> None:
    """What was typed, before anything else is done with it: a NUL
    character (PostgreSQL cannot store it) or a value longer than its form
    field takes (``Longest``) is Invalid naming the first field at fault
    (one of a list's values: ``field.<index>``), like any other bad value;
    a number field's over-long number, by the range it is out of."""
    for name, value in values.items():
        listed = isinstance(value, list | tuple)
        for index, text in enumerate(value if listed else [value]):
            field = f"{name}.{index}" if listed else name
            if isinstance(text, str) and "\x00" in text:
                raise Invalid(f"{field}: may not contain the NUL character", field=field)
            if isinstance(text, TooLong) and text.too_large():
                raise Invalid(
                    f"{field}: Input should be less than or equal to {text.most}", field=field
                )
            if isinstance(text, TooLong):
                n = text.limit
                raise Invalid(f"{field}: String should have at most {n} characters", field=field)


def shown(exc: RequestError) -> bool:
    """Refusals a form shows on its own page: a bad value, a clash, the
    broker down. Not found and forbidden keep to the error page (no hint of
    what exists)."""
    return not isinstance(exc, NotFound | Forbidden) and exc.status not in (403, 404)


def field_of(exc: RequestError) -> str | None:
    """The field at fault; an order's unticked "yes, really" box (the
    command service's ``confirmation-required``) is the form's ``confirm``."""
    field = getattr(exc, "field", None)
    if field is None:
        errors = exc.extra.get("errors") or [{}]
        field = errors[0].get("field")
    if field is None and exc.kind == "confirmation-required":
        field = "confirm"
    return str(field) if field else None


def label_key(field: str | None, labels: Mapping[str, str] | None = None) -> str | None:
    """The catalog key of the label a field is shown under: the form's own
    (``labels``), else the console's common field labels; None: none (the
    template shows the field made readable)."""
    if not field or field == "form":
        return None
    head = field.split(".")[0]
    for name in (field, head):
        if labels and name in labels:
            return labels[name]
    for prefix in ("admin.field", "field"):
        for name in (field, head):
            if i18n.known(f"{prefix}.{name}"):
                return f"{prefix}.{name}"
    return None


def entry_of(field: str | None) -> int | None:
    """Which entry of a list field is at fault, counted from 1 as the reader
    counts (``site.1`` -> 2: the second of the site boxes); None: the field
    is not one entry of a list."""
    tail = field.rsplit(".", 1)[-1] if field and "." in field else ""
    return int(tail) + 1 if tail.isdigit() and len(tail) < 4 else None


def reason(detail: str, field: str | None) -> tuple[str, tuple[str, dict[str, str]] | None]:
    """A refusal's reason without its field's code ("amount_vnd: whole
    đồng…" -> "whole đồng…"), with the catalog key (and values) that words
    it in the reader's language, when the console has one."""
    text = detail
    if field:
        for name in (field, field.split(".")[0]):
            if text.startswith(f"{name}: "):
                text = text[len(name) + 2 :]
                break
    for pattern, key in REASONS:
        found = pattern.match(text)
        if found:
            values = {k: v for k, v in found.groupdict().items() if v is not None}
            return text, (key, values)
    return text, None


def shown_again(value: Any) -> Any:
    """A typed value as the page shows it again: a NUL (which HTML cannot
    carry) as U+FFFD, so the reader sees where it was and can remove it;
    beyond ``SHOWN_MOST`` characters cut, with "…" (lists: each value)."""
    if isinstance(value, list | tuple):
        return [shown_again(v) for v in value]
    if not isinstance(value, str):
        return value
    text = str.replace(value, "\x00", "\ufffd")
    return text if len(text) <= SHOWN_MOST else text[:SHOWN_MOST] + "…"


def refused(
    conn: Conn,
    exc: RequestError,
    form: Mapping[str, Any],
    again: Callable[[dict[str, Any]], Response],
    where: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Response:
    """The page again (``again``) with the reason, the field at fault and
    the values typed (secrets left out), at the refusal's status; the
    reason shows beside the form ``where`` (the section's id, which the
    form's action names, so a phone lands there) or, without one, on top.
    ``labels``: the form's field -> the catalog key of its label. Not found
    and forbidden are raised again (the error page). The transaction is
    rolled back first (a refused change leaves nothing)."""
    if not shown(exc):
        raise exc
    conn.rollback()
    field = field_of(exc)
    text, worded = reason(exc.detail, field)
    # the error page's words for its kind (a clash: for its status), then the reason
    keys = [f"error.{exc.status}.{exc.kind}"]
    if not isinstance(exc, Invalid):
        keys.append(f"error.{exc.status}")
    summary = next((key for key in keys if i18n.known(key)), None)
    if worded is not None and summary == worded[0]:
        summary = None  # said once
    context = {
        "error": exc.detail,
        "error_field": field,
        "error_form": where,
        "error_label": label_key(field, labels),
        "error_entry": entry_of(field),
        "error_text": text,
        "error_reason": worded,
        "error_summary": summary,
        "form": {k: shown_again(v) for k, v in form.items() if k not in SECRET_FIELDS},
    }
    response = again(context)
    response.status_code = exc.status
    return response


def no_refusal() -> dict[str, Any]:
    """A page's context before any refusal (an empty form)."""
    return {
        "error": None,
        "error_field": None,
        "error_form": None,
        "error_label": None,
        "error_entry": None,
        "error_text": None,
        "error_reason": None,
        "error_summary": None,
        "form": {},
    }
