"""/api/v1 maintenance (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["maintenance"])
