"""/api/v1 telemetry (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["telemetry"])
