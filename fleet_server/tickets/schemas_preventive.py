"""The API's preventive maintenance schedule models
(``/api/v1/preventive-schedules``)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.tickets.models import Priority

MAX_ID = 2**62
NO_NUL = r"^[^\x00]*$"
BOARD_ID = DEVICE_ID_PATTERN
#: Every day to every two years (the table's own limit).
MIN_EVERY_DAYS, MAX_EVERY_DAYS = 1, 730


class ScheduleOut(BaseModel):
    id: int
    #: Exactly one of site_id (one ticket for the whole site) and board_id is set.
    site_id: int | None
    board_id: str | None
    #: The site the work is at (the board's site for a board schedule).
    at_site_id: int
    site_name: str
    site_name_en: str | None
    board_name: str | None
    title: str
    #: What the technician checks: the opened ticket's description.
    checklist: str
    priority: Priority
    every_days: int
    #: The day the next preventive ticket opens (Vietnam date).
    next_due_on: date
    created_by: str
    created_at: datetime
    updated_by: str | None
    updated_at: datetime | None


class ScheduleCreate(BaseModel):
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    board_id: str | None = Field(default=None, pattern=BOARD_ID)
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    checklist: str = Field(default="", max_length=4000, pattern=NO_NUL)
    priority: Priority = "normal"
    every_days: int = Field(ge=MIN_EVERY_DAYS, le=MAX_EVERY_DAYS)
    next_due_on: date

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleCreate:
        if (self.site_id is None) == (self.board_id is None):
            raise ValueError("give either site_id (the whole site) or board_id (one board)")
        if not self.title.strip():
            raise ValueError("title must not be blank")
        return self


class SchedulePatch(BaseModel):
    """Change some of a schedule's fields (where it is stays)."""

    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    checklist: str | None = Field(default=None, max_length=4000, pattern=NO_NUL)
    priority: Priority | None = None
    every_days: int | None = Field(default=None, ge=MIN_EVERY_DAYS, le=MAX_EVERY_DAYS)
    next_due_on: date | None = None

    @model_validator(mode="after")
    def _something(self) -> SchedulePatch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for name in ("title", "checklist", "priority", "every_days", "next_due_on"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        if self.title is not None and not self.title.strip():
            raise ValueError("title must not be blank")
        return self
