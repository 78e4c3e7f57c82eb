"""Reading the console's forms (tickets, maintenance, preventive schedules,
rule thresholds, the administration pages) into the API's own request
models: the first problem becomes an ``Invalid`` naming the field (shown in
the reader's language), times typed in Vietnam time, the "yes, really" box,
and the one "where" select (a whole site, or one of its boards) the
operational forms share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Form
from pydantic import BaseModel, ValidationError

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Conn
from fleet_server.boards.schemas import BoardOut
from fleet_server.boards.service import list_boards
from fleet_server.errors import Invalid
from fleet_server.localtime import LOCAL_TZ
from fleet_server.organisations.schemas import SiteOut
from fleet_server.organisations.service import list_sites

M = TypeVar("M", bound=BaseModel)
#: The most sites and boards a "where" select offers.
ALL = ListParams(limit=500, offset=0, sort=None)
#: What ``<input type="datetime-local">`` sends.
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
#: The "where" select of a form (``site:<id>`` or ``board:<id>``, see ``where``).
WhereField = Annotated[str, Form(alias="where", max_length=100)]
#: A "yes, really" box (a browser sends "on" when it is ticked).
ConfirmField = Annotated[str, Form(max_length=10)]


def checked(model: type[M], /, **values: Any) -> M:
    """The form's values as the API's model; its first problem as Invalid,
    naming the field (a problem of the whole form: just the reason)."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "form"
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
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


@dataclass(frozen=True, slots=True)
class SiteChoice:
    site: SiteOut
    boards: list[BoardOut]


def places(conn: Conn, user: Principal, *, site_id: int | None = None) -> list[SiteChoice]:
    """The sites the reader sees (or just ``site_id``), each with its boards,
    for a "where" select."""
    sites = list_sites(conn, user, ALL).items
    if site_id is not None:
        sites = [s for s in sites if s.id == site_id]
    boards = list_boards(conn, user, ALL, site_id=site_id).items
    by_site: dict[int, list[BoardOut]] = {}
    for board in boards:
        by_site.setdefault(board.site_id, []).append(board)
    return [SiteChoice(s, by_site.get(s.id, [])) for s in sites]
