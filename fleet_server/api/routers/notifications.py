"""/api/v1 notifications (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["notifications"])
