"""The API's broadcast window models (requests and answers)."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, Field

from fleet_server.broadcast.models import Part


class WindowIO(BaseModel):
    part: Part
    starts_at: time = Field(description="local time (Asia/Ho_Chi_Minh), e.g. 06:30")
    ends_at: time = Field(description="local time, after starts_at")


class WindowsIn(BaseModel):
    windows: list[WindowIO] = Field(max_length=3, description="at most one per part")


class SiteWindowsOut(BaseModel):
    site_id: int
    windows: list[WindowIO]
    #: what falls short of Điều 8.1 (3 h morning + 3 h afternoon)
    notes: list[str]


class BoardWindowsOut(BaseModel):
    board_id: str
    site_id: int
    #: where the windows in force come from
    source: Literal["board", "site", "none"]
    #: the windows in force: the board's own if it has any, else its site's
    windows: list[WindowIO]
    site_windows: list[WindowIO]
    board_windows: list[WindowIO]
    notes: list[str]
