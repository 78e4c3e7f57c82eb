"""My account → Notices (``/account/notifications``): each person chooses
the channels their notices come by, in order (the fallback chain), which
severities they want, and quiet hours in which only critical notices come.
Every signed-in person may edit their own; the service audits it. A
refused form comes back with what was typed, the field to correct named in
the reader's language and the reason."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.web import Viewer, redirect, render
from fleet_server.api.deps import Db, Now, check_csrf, client_address
from fleet_server.errors import Invalid
from fleet_server.notifications import service_preferences as service
from fleet_server.notifications.models import PERSON_CHANNELS
from fleet_server.notifications.schemas_preferences import PreferencesIn, QuietHours
from fleet_server.vocabulary import SEVERITIES

router = APIRouter(include_in_schema=False)
PAGE = "/account/notifications"


def _own_form(
    user: Viewer, csrf_token: Annotated[str | None, Form(max_length=200)] = None
) -> Principal:
    """A form about the signed-in person themself: no capability, the CSRF token."""
    check_csrf(user, csrf_token)
    return user


Person = Annotated[Principal, Depends(_own_form)]


#: A refused field -> the label the form shows it under.
FIELD_LABELS = {
    "channels": "prefs.chain",
    "severities": "prefs.severities",
    "quiet_hours": "prefs.quiet",
    "quiet_start": "prefs.quiet_start",
    "quiet_end": "prefs.quiet_end",
    "phone": "prefs.phone",
    "telegram_chat_id": "prefs.telegram",
}


def _page(
    request: Request, user: Principal, prefs: Any, *, error: Invalid | None = None
) -> Response:
    field = error.field if error else None
    text, worded = forms.reason(error.detail, field) if error else (None, None)
    return render(
        request,
        "account_notifications.html",
        user,
        {
            "prefs": prefs,
            "channels": PERSON_CHANNELS,
            "severities": SEVERITIES,
            "saved": request.query_params.get("saved") == "1" and error is None,
            "error": error.detail if error else None,
            "error_text": text,
            "error_reason": worded,
            "error_field": field,
            "error_label": FIELD_LABELS.get(field or ""),
        },
        status=error.status if error else 200,
    )


@router.get(PAGE)
def preferences_page(request: Request, conn: Db, user: Viewer) -> Response:
    return _page(request, user, service.get_mine(conn, user))


def _time(value: str, field: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field}: a time such as 22:00", field=field) from None


@router.post(PAGE)
def preferences_save(
    request: Request,
    conn: Db,
    now: Now,
    user: Person,
    channel: Annotated[list[str], Form(max_length=4)],
    severity: Annotated[list[str], Form(max_length=4)],
    quiet: Annotated[str, Form(), Longest(5)] = "",
    quiet_start: Annotated[str, Form(), Longest(8)] = "",
    quiet_end: Annotated[str, Form(), Longest(8)] = "",
    phone: Annotated[str, Form(), Longest(30)] = "",
    telegram_chat_id: Annotated[str, Form(), Longest(40)] = "",
    zalo_consent: Annotated[str, Form(), Longest(5)] = "",
) -> Response:
    """The form posts ``channel`` once per rank (empty: none)."""
    chosen = [c for c in channel if c]
    severities = ["critical", *(s for s in severity if s != "critical")]
    typed: dict[str, Any] = {
        "channels": chosen,
        "severities": severities,
        # shown again after a refusal: a NUL as U+FFFD (forms.shown_again)
        "phone": forms.shown_again(phone.strip()) or None,
        "telegram_chat_id": forms.shown_again(telegram_chat_id.strip()) or None,
        "zalo_consent": bool(zalo_consent),
    }
    try:
        forms.fit(
            {"channel": channel, "severity": severity, "quiet": quiet, "quiet_start": quiet_start,
             "quiet_end": quiet_end, "phone": phone, "telegram_chat_id": telegram_chat_id,
             "zalo_consent": zalo_consent}
        )  # fmt: skip
        quiet_hours = None
        if quiet:
            quiet_hours = {
                "start": _time(quiet_start, "quiet_start"),
                "end": _time(quiet_end, "quiet_end"),
            }
            typed["quiet_hours"] = QuietHours.model_construct(
                start=quiet_hours["start"], end=quiet_hours["end"]
            )
        else:
            typed["quiet_hours"] = None
        try:
            body = PreferencesIn.model_validate({**typed, "quiet_hours": quiet_hours})
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"][:1]) or "form"
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            raise Invalid(f"{field}: {message}", field=field) from None
        service.put_mine(conn, user, body, actor=user.acting_from(client_address(request)), now=now)
    except Invalid as exc:
        # The page again with what was typed (nothing was saved).
        conn.rollback()
        return _page(
            request, user, service.get_mine(conn, user).model_copy(update=typed), error=exc
        )
    return redirect(f"{PAGE}?saved=1")
