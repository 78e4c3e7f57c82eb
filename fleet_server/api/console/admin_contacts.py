"""Notification contacts in the console (``/admin/contacts``): who is told
about incidents, tickets and reports, and how to reach them. Everyone with
``route.read`` reads those of their organisation; admins (``route.write``)
add, change, disable and delete them — the API's
``/api/v1/contacts`` through the same service (notifications/service.py).

A contact's webhook secret is write-only: the page says whether one is set,
never what it is; leaving the field empty keeps it."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import admin
from fleet_server.api.console.forms import ALL, Longest, checked, fit
from fleet_server.api.console.web import form_for, page_for, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import RequestError
from fleet_server.notifications import service
from fleet_server.notifications.models import ContactKind
from fleet_server.notifications.schemas import ContactIn, ContactPatch
from fleet_server.vocabulary import LANGUAGES

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("route.read"))]
Writer = Annotated[Principal, Depends(form_for("route.write"))]
ContactId = Annotated[int, Path(ge=1, le=2**62)]
Field = Annotated[str, Form(), Longest(2000)]
KINDS: tuple[str, ...] = get_args(ContactKind)
#: Addresses on the channels beside e-mail and webhook, offered when the
#: API's contact model has them (Telegram, SMS, Zalo: docs/notifications.md).
EXTRA_FIELDS: tuple[str, ...] = tuple(
    f for f in ("phone", "telegram_chat_id", "zalo_consent") if f in ContactIn.model_fields
)


def _contact_form(
    name: Annotated[str, Form(), Longest(200)] = "",
    kind: Field = "person",
    organisation_id: Field = "",
    email: Annotated[str, Form(), Longest(254)] = "",
    webhook_url: Field = "",
    webhook_secret: Annotated[str, Form(), Longest(200)] = "",
    language: Field = "vi",
    phone: Annotated[str, Form(), Longest(30)] = "",
    telegram_chat_id: Annotated[str, Form(), Longest(40)] = "",
    zalo_consent: Annotated[str, Form(), Longest(5)] = "",
) -> dict[str, str]:
    """The contact form as typed (its secret never goes back into a page:
    admin.SECRET_FIELDS)."""
    return {
        "name": name,
        "kind": kind,
        "organisation_id": organisation_id,
        "email": email,
        "webhook_url": webhook_url,
        "webhook_secret": webhook_secret,
        "language": language,
        "phone": phone,
        "telegram_chat_id": telegram_chat_id,
        "zalo_consent": zalo_consent,
    }


ContactForm = Annotated[dict[str, str], Depends(_contact_form)]


def _values(form: dict[str, str]) -> dict[str, Any]:
    """The contact form as the API's fields, but the webhook secret (an
    empty text field: none; the new channels only where the model has them)."""
    extra = {
        "phone": admin.blank_none(form["phone"]),
        "telegram_chat_id": admin.blank_none(form["telegram_chat_id"]),
        "zalo_consent": form["zalo_consent"] == "yes",
    }
    return {
        "name": form["name"],
        "kind": form["kind"],
        "organisation_id": admin.number_or_none(form["organisation_id"], "organisation_id"),
        "email": admin.blank_none(form["email"]),
        "webhook_url": admin.blank_none(form["webhook_url"]),
        "language": form["language"],
        **{k: v for k, v in extra.items() if k in EXTRA_FIELDS},
    }


def _common(
    conn: Conn, user: Principal, site_ids: list[int | None] | None = None
) -> dict[str, Any]:
    """The pages' common context; ``site_ids``: the sites the page's routes name."""
    return admin.common(
        conn,
        user,
        site_ids=site_ids or [],
        kinds=KINDS,
        languages=LANGUAGES,
        extra_fields=EXTRA_FIELDS,
        may_write=user.can("route.write"),
    )


def _list_page(
    request: Request, conn: Conn, user: Principal, extra: dict[str, Any] | None = None
) -> Response:
    query = admin.filters(request.query_params)
    page = service.list_contacts(conn, user, query.page, active=query.active, q=query.q)
    context = _common(conn, user)
    context.update({"page": page, "q": query.q or "", "active": query.active_text})
    context.update(extra or {})
    return render(request, "admin_contacts.html", user, context)


def _item_page(
    request: Request,
    conn: Conn,
    user: Principal,
    contact_id: int,
    extra: dict[str, Any] | None = None,
) -> Response:
    contact = service.get_contact(conn, user, contact_id)
    routes = service.list_routes(conn, user, ALL, contact_id=contact_id).items
    context = _common(conn, user, [r.site_id for r in routes])
    context.update({"contact": contact, "routes": routes})
    context.update(extra or {})
    return render(request, "admin_contact.html", user, context)


def _actor(request: Request, user: Principal) -> Any:
    return user.acting_from(client_address(request))


# -- pages -------------------------------------------------------------------------------


@router.get("/admin/contacts")
def contacts_page(
    request: Request,
    conn: Db,
    user: Reader,
    q: Annotated[str, Query(max_length=100)] = "",
    active: Annotated[str, Query(max_length=5)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    return _list_page(request, conn, user)


@router.get("/admin/contacts/{contact_id}")
def contact_page(request: Request, conn: Db, user: Reader, contact_id: ContactId) -> Response:
    return _item_page(request, conn, user, contact_id)


# -- forms -------------------------------------------------------------------------------


@router.post("/admin/contacts")
def contact_create(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    form: ContactForm,
) -> Response:
    """Add a contact (Vietnamese by default; active at once)."""
    try:
        fit(form)
        body = checked(
            ContactIn,
            **_values(form),
            webhook_secret=admin.blank_none(form["webhook_secret"]),
        )
        created = service.create_contact(conn, user, body, actor=_actor(request, user), now=now)
    except RequestError as exc:
        return admin.refused(
            conn, exc, form, lambda ctx: _list_page(request, conn, user, ctx), "new"
        )
    return admin.done(f"/admin/contacts/{created.id}", "contact_created")


@router.post("/admin/contacts/{contact_id}")
def contact_update(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    contact_id: ContactId,
    form: ContactForm,
) -> Response:
    """Change a contact: an empty e-mail or webhook URL clears it (and the
    URL's secret with it); an empty secret keeps the one set."""
    try:
        fit(form)
        values = _values(form)
        secret = admin.blank_none(form["webhook_secret"])
        if secret is not None:
            values["webhook_secret"] = secret
        body = checked(ContactPatch, **values)
        service.update_contact(conn, user, contact_id, body, actor=_actor(request, user), now=now)
    except RequestError as exc:
        return admin.refused(
            conn, exc, form, lambda ctx: _item_page(request, conn, user, contact_id, ctx), "edit"
        )
    return admin.done(f"/admin/contacts/{contact_id}", "contact_updated")


@router.post("/admin/contacts/{contact_id}/active")
def contact_active(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    contact_id: ContactId,
    active: Annotated[str, Form(), Longest(5)] = "",
) -> Response:
    """Disable a contact (kept, with its routes and history, but sent
    nothing) or enable it again."""
    on = active == "yes"
    try:
        fit({"active": active})
        body = ContactPatch(active=on)
        service.update_contact(conn, user, contact_id, body, actor=_actor(request, user), now=now)
    except RequestError as exc:
        return admin.refused(
            conn, exc, {}, lambda ctx: _item_page(request, conn, user, contact_id, ctx), "lifecycle"
        )
    return admin.done(
        f"/admin/contacts/{contact_id}", "contact_enabled" if on else "contact_disabled"
    )


@router.post("/admin/contacts/{contact_id}/delete")
def contact_delete(request: Request, conn: Db, user: Writer, contact_id: ContactId) -> Response:
    """Delete a contact and its routes; one that was ever sent a notice is
    kept for the record (the page says so: disable it instead)."""
    try:
        service.delete_contact(conn, user, contact_id, actor=_actor(request, user))
    except RequestError as exc:
        return admin.refused(
            conn, exc, {}, lambda ctx: _item_page(request, conn, user, contact_id, ctx), "lifecycle"
        )
    return admin.done("/admin/contacts", "contact_deleted")
