"""Reading the operational forms (tickets, maintenance, preventive
schedules, rule thresholds) into the API's own request models: the first
problem becomes an ``Invalid`` naming the field (shown on the error page in
the reader's language), times typed in Vietnam time, and the one "where"
select (a whole site, or one of its boards) those forms share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

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


def checked(model: type[M], **values: Any) -> M:
    """The form's values as the API's model; its first problem as Invalid."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "form"
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise Invalid(f"{field}: {message}", field=field) from None


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
