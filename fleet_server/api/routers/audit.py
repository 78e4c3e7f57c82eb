"""/api/v1 audit (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["audit"])
