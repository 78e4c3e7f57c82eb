"""The broadcast windows of the site and board pages: what the pages show of
them (those in force, where they come from, what falls short of Điều 8.1) and
how their small form is read and refused. The forms themselves are
``windows_forms``; the pages (``overview``, ``boards``) use the sections."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time
from typing import Any

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Conn
from fleet_server.broadcast.models import PARTS, Window, WindowError, shortfalls
from fleet_server.broadcast.schemas import WindowIO, WindowsIn
from fleet_server.broadcast.service import board_windows, site_windows
from fleet_server.errors import Invalid, Unprocessable


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


def form_values(windows: list[WindowIO]) -> dict[str, tuple[str, str]]:
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
        "values": form_values(found.windows),
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
        "values": form_values(found.windows),
    }


@contextmanager
def windows_refusal(body: WindowsIn | None) -> Iterator[None]:
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


def typed_windows(values: dict[str, tuple[str, str]]) -> dict[str, Any]:
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
