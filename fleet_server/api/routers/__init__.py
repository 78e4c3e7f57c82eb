"""Every ``/api/v1`` router, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from fleet_server.api.routers import (
    audit,
    auth,
    availability,
    boards,
    broadcast_windows,
    cameras,
    commands,
    compliance,
    content,
    content_files,
    emergency_orders,
    incidents,
    maintenance,
    notification_preferences,
    notifications,
    organisations,
    preventive_schedules,
    provisioning,
    rule_overrides,
    snapshots,
    telemetry,
    tickets,
    users,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    organisations.router,
    boards.router,
    provisioning.router,
    commands.router,
    telemetry.router,
    cameras.router,
    snapshots.router,
    broadcast_windows.router,
    content_files.router,
    content.router,
    compliance.router,
    emergency_orders.router,
    incidents.router,
    maintenance.router,
    preventive_schedules.router,
    rule_overrides.router,
    availability.router,
    tickets.router,
    notifications.router,
    notification_preferences.router,
    users.router,
    audit.router,
]
