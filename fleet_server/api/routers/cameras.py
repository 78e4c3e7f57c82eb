"""/api/v1 cameras (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["cameras"])
