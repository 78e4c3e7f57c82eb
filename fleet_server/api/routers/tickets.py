"""/api/v1 tickets (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["tickets"])
