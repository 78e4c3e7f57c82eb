"""The API's maintenance window models (requests and answers)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.maintenance.models import PERIODS, Recurrence

MAX_ID = 2**62
NO_NUL = r"^[^\x00]*$"
BOARD_ID = DEVICE_ID_PATTERN


class WindowOut(BaseModel):
    id: int
    #: Exactly one of site_id and board_id is set.
    site_id: int | None
    board_id: str | None
    #: The site the window is at (the board's site for a board window).
    at_site_id: int
    starts_at: datetime
    ends_at: datetime
    #: daily / weekly windows repeat the first occurrence (starts_at..ends_at).
    recurrence: Recurrence
    reason: str
    created_by: str
    created_at: datetime
    #: An occurrence covers the present moment.
    active: bool
    #: End of the occurrence in progress, if any.
    current_ends_at: datetime | None


class WindowEnded(WindowOut):
    #: Held notifications made due now because nothing covers them any more.
    released_notifications: int


class WindowCreate(BaseModel):
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    board_id: str | None = Field(default=None, pattern=BOARD_ID)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    recurrence: Recurrence = "none"
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)

    @model_validator(mode="after")
    def _consistent(self) -> WindowCreate:
        if (self.site_id is None) == (self.board_id is None):
            raise ValueError("give either site_id (whole site) or board_id (one board)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        period = PERIODS.get(self.recurrence)
        if period is not None and self.ends_at - self.starts_at >= period:
            raise ValueError(f"a {self.recurrence} window must be shorter than its period")
        if not self.reason.strip():
            raise ValueError("reason must not be blank")
        return self
