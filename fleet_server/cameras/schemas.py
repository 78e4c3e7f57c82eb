"""The API's models of cameras."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class CameraOut(BaseModel):
    board_id: str
    camera_id: str
    name: str
    board_name: str
    board_state: str
    site_id: int
    site_name: str
    site_name_en: str | None
    site_kind: str
    #: ok / failing / unknown (no fresh report)
    health: str
    status: str | None
    reachable: bool | None
    rtsp_answered: bool | None
    latency_ms: float | None
    error: str | None
    measured_at: datetime | None
    open_incident_id: int | None
