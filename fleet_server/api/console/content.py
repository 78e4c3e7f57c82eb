"""The approved content page (``/content``, admins, operators, viewers) and
the broadcast windows of the site and board pages: shown to everyone who sees
the page, changed with a small form by administrators and the site's
operators. The forms go through the same checks and audit rows as
``PUT /api/v1/sites|boards/{id}/broadcast-windows``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import content_workflow, forms
from fleet_server.api.console.web import form_for, page_for, redirect, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.broadcast.models import PARTS, Window, WindowError, shortfalls
from fleet_server.broadcast.schemas import WindowIO, WindowsIn
from fleet_server.broadcast.service import (
    board_windows,
    set_board_windows,
    set_site_windows,
    site_windows,
)
from fleet_server.content import storage
from fleet_server.content.models import KINDS, LANGUAGES, validity_status
from fleet_server.content.service import list_content
from fleet_server.content.service_files import archived
from fleet_server.errors import Invalid, RequestError, Unprocessable

router = APIRouter(include_in_schema=False)
#: the workflow's pages (Điều 10.1) and the suppliers
router.include_router(content_workflow.router)

ContentReader = Annotated[Principal, Depends(page_for("content.read"))]
WindowWriter = Annotated[Principal, Depends(form_for("broadcast_window.write"))]
PAGE_SIZE = 50
TimeField = Annotated[str, Form(max_length=8)]
BoardId = Annotated[str, Path(max_length=64, pattern=DEVICE_ID_PATTERN)]


class WindowsFormError(Invalid):
    """The windows form is not filled in right (a time that is not one, a
    part with only one of its times); its own page message."""

    kind = "windows-form"


class WindowsRefused(Unprocessable):
    """The windows from the form broke a rule (an end not after its start,
    an overlap): a page that says what to fix."""

    kind = "windows-invalid"


def window_notes(windows: list[WindowIO]) -> list[tuple[str, str | None]]:
    """(part, hours shown or None when missing) of what falls short of Điều 8.1."""
    found = shortfalls([Window(w.part, w.starts_at, w.ends_at) for w in windows])
    return [(part, None if hours is None else f"{hours:.1f}") for part, hours in found]


def _form_values(windows: list[WindowIO]) -> dict[str, tuple[str, str]]:
    by_part = {w.part: w for w in windows}
    return {
        part: (
            (f"{by_part[part].starts_at:%H:%M}", f"{by_part[part].ends_at:%H:%M}")
            if part in by_part
            else ("", "")
        )
        for part in PARTS
    }


def site_windows_section(conn: Conn, user: Principal, site_id: int) -> dict[str, Any]:
    """What the site page shows of its windows, and its form's values."""
    found = site_windows(conn, user, site_id)
    return {
        "owner": "site",
        "action": f"/sites/{site_id}/broadcast-windows",
        "source": "site" if found.windows else "none",
        "items": found.windows,
        "notes": window_notes(found.windows),
        "can_edit": user.can("broadcast_window.write"),
        "values": _form_values(found.windows),
    }


def board_windows_section(conn: Conn, user: Principal, board_id: str) -> dict[str, Any]:
    """What the board page shows of its windows: those in force and where
    they come from; the form starts from them."""
    found = board_windows(conn, user, board_id)
    return {
        "owner": "board",
        "action": f"/boards/{board_id}/broadcast-windows",
        "source": found.source,
        "items": found.windows,
        "notes": window_notes(found.windows),
        "can_edit": user.can("broadcast_window.write"),
        "values": _form_values(found.windows),
    }


@contextmanager
def _windows_refusal(body: WindowsIn | None) -> Iterator[None]:
    """The windows' rules refused them: the field at fault is the form's
    input of that part (``windows.1.ends_at`` -> ``afternoon_ends_at``)."""
    try:
        yield
    except WindowError as exc:
        field = getattr(exc, "field", None) or ""
        parts = field.split(".")
        if body is not None and len(parts) == 3 and parts[1].isdigit():
            index = int(parts[1])
            if index < len(body.windows):
                field = f"{body.windows[index].part}_{parts[2]}"
        detail = exc.detail.split(": ", 1)[-1]
        raise WindowsRefused(f"{field}: {detail}", field=field or None) from None


#: The windows form's fields -> the label they are shown under (the part).
WINDOW_LABELS = {
    f"{part}_{end}": f"part.{part}" for part in PARTS for end in ("starts_at", "ends_at")
}


def _typed_windows(values: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {
        f"{part}_{end}": v
        for part, pair in values.items()
        for end, v in zip(("starts_at", "ends_at"), pair, strict=True)
    }


def _time(text: str, field: str) -> time | None:
    value = text.strip()
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise WindowsFormError(f"{field}: {value[:8]!r} is not a time", field=field) from None


def windows_from_form(values: dict[str, tuple[str, str]]) -> WindowsIn:
    """part -> (start, end) from the form; both empty: no window that part."""
    windows = []
    for part in PARTS:
        start = _time(values[part][0], f"{part}_starts_at")
        end = _time(values[part][1], f"{part}_ends_at")
        if start is None and end is None:
            continue
        if start is None or end is None:
            field = f"{part}_{'starts_at' if start is None else 'ends_at'}"
            raise WindowsFormError(f"{field}: give both times or neither", field=field)
        windows.append(WindowIO.model_validate({"part": part, "starts_at": start, "ends_at": end}))
    return WindowsIn(windows=windows)


@router.get("/content")
def content_page(
    request: Request,
    conn: Db,
    now: Now,
    user: ContentReader,
    show: Annotated[str, Query(pattern=r"^(current|all)$")] = "current",
    kind: Annotated[str, Query(max_length=20)] = "",
    language: Annotated[str, Query(max_length=10)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    filters = storage.Filters(
        kind=kind if kind in KINDS else None,
        language=language if language in LANGUAGES else None,
        valid_at=now if show == "current" else None,
        q=q.strip() or None,
    )
    page = list_content(conn, ListParams(limit=PAGE_SIZE, offset=offset, sort=None), filters)
    stored = archived(conn, (item.sha256 for item in page.items))  # Điều 9.1
    rows: list[dict[str, Any]] = [
        {
            "item": item,
            "status": validity_status(item.valid_from, item.valid_to, now),
            "archived": item.sha256 in stored,
        }
        for item in page.items
    ]
    return render(
        request,
        "content.html",
        user,
        {
            "page": page,
            "rows": rows,
            "kinds": KINDS,
            "languages": list(LANGUAGES),
            "form": {"show": show, "kind": kind, "language": language, "q": q},
        },
    )


@router.post("/sites/{site_id}/broadcast-windows")
def site_windows_form(
    request: Request,
    conn: Db,
    now: Now,
    user: WindowWriter,
    site_id: Annotated[int, Path(ge=1, le=2**62)],
    morning_starts_at: TimeField = "",
    morning_ends_at: TimeField = "",
    afternoon_starts_at: TimeField = "",
    afternoon_ends_at: TimeField = "",
    evening_starts_at: TimeField = "",
    evening_ends_at: TimeField = "",
) -> Response:
    from fleet_server.api.console.overview import site_view  # noqa: PLC0415 - it shows these

    values = {
        "morning": (morning_starts_at, morning_ends_at),
        "afternoon": (afternoon_starts_at, afternoon_ends_at),
        "evening": (evening_starts_at, evening_ends_at),
    }
    body = None
    try:
        body = windows_from_form(values)
        with _windows_refusal(body):
            set_site_windows(conn, user, user.acting_from(client_address(request)), site_id, body)
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            _typed_windows(values),
            lambda ctx: site_view(request, conn, now, user, site_id, ctx),
            "windows",
            WINDOW_LABELS,
        )
    conn.commit()
    return redirect(f"/sites/{site_id}#windows")


@router.post("/boards/{board_id}/broadcast-windows")
def board_windows_form(
    request: Request,
    conn: Db,
    now: Now,
    user: WindowWriter,
    board_id: BoardId,
    morning_starts_at: TimeField = "",
    morning_ends_at: TimeField = "",
    afternoon_starts_at: TimeField = "",
    afternoon_ends_at: TimeField = "",
    evening_starts_at: TimeField = "",
    evening_ends_at: TimeField = "",
    reset: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Set the board's own windows, or (the reset button) drop them."""
    from fleet_server.api.console.boards import board_view  # noqa: PLC0415 - it shows these

    values = {
        "morning": (morning_starts_at, morning_ends_at),
        "afternoon": (afternoon_starts_at, afternoon_ends_at),
        "evening": (evening_starts_at, evening_ends_at),
    }
    try:
        body = None if reset else windows_from_form(values)
        with _windows_refusal(body):
            set_board_windows(conn, user, user.acting_from(client_address(request)), board_id, body)
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            _typed_windows(values),
            lambda ctx: board_view(request, conn, now, user, board_id, ctx),
            "windows",
            WINDOW_LABELS,
        )
    conn.commit()
    return redirect(f"/boards/{board_id}#windows")
