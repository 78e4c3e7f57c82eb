"""/api/v1 a person's own notification preferences, and the SMS gateway's
delivery reports. The operations are in
``fleet_server.notifications.service_preferences`` (the console calls them too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from fleet_server.api.deps import Ctx, Db, Now, User, client_address
from fleet_server.notifications import service_preferences as service
from fleet_server.notifications.schemas_preferences import (
    DeliveryReportIn,
    DeliveryReportOut,
    PreferencesIn,
    PreferencesOut,
)

router = APIRouter(tags=["notifications"])


@router.get("/me/notification-preferences", summary="my channels, severities and quiet hours")
def preferences_get(conn: Db, user: User) -> PreferencesOut:
    return service.get_mine(conn, user)


@router.put(
    "/me/notification-preferences",
    summary="set my channels (the fallback chain, in order), severities and quiet hours",
)
def preferences_put(
    request: Request, conn: Db, now: Now, user: User, body: PreferencesIn
) -> PreferencesOut:
    actor = user.acting_from(client_address(request))
    return service.put_mine(conn, user, body, actor=actor, now=now)


@router.post(
    "/notifications/sms/delivery-reports",
    summary="an SMS gateway reports a message delivered or failed (shared secret)",
    responses={403: {"description": "wrong or missing X-Fleet-Callback-Secret"}},
)
def sms_delivery_report(
    ctx: Ctx,
    conn: Db,
    now: Now,
    body: DeliveryReportIn,
    secret: Annotated[str | None, Header(alias="X-Fleet-Callback-Secret", max_length=200)] = None,
) -> DeliveryReportOut:
    configured = ctx.settings.sms_callback_secret
    return service.delivery_report(
        conn,
        body,
        given_secret=secret,
        secret=configured.get_secret_value() if configured else None,
        now=now,
    )
