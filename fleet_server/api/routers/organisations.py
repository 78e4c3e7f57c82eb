"""/api/v1 organisations (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["organisations"])
