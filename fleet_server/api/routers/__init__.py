"""Every ``/api/v1`` router, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from fleet_server.api.routers import auth

ROUTERS: list[APIRouter] = [auth.router]
