"""API models of the data usage and budgets (/api/v1/boards/{id}/data-usage,
/api/v1/data-usage, /api/v1/data-budgets)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.datausage.models import BudgetSource

#: Where a board's month stands against its budget.
Status = Literal["no_budget", "ok", "forecast_over", "spent"]
MIN_BUDGET = 1_000_000
MAX_BUDGET = 10**15


class DayOut(BaseModel):
    day: date
    sent: int
    received: int


class BudgetOut(BaseModel):
    monthly_bytes: int
    adaptive: bool
    source: BudgetSource = Field(
        description="board: its own; site: its site's; default: FLEET_DATA_BUDGET_MB"
    )


class BoardDataUsage(BaseModel):
    board_id: str
    month: str = Field(description="the board's local month, YYYY-MM")
    sent: int
    received: int
    used: int = Field(description="bytes this month, sent and received")
    forecast: int = Field(description="bytes the month will have used at this rate")
    daily_rate: int = Field(description="bytes a day the forecast assumes")
    factor: int = Field(
        description="the adaptive mode's interval factor the board reports (1: default rates)"
    )
    counted: str | None = Field(description="tcp_info (at the socket) or payload")
    updated_at: datetime | None
    budget: BudgetOut | None
    percent: float | None = Field(description="used, in % of the budget")
    forecast_percent: float | None
    status: Status
    days: list[DayOut]


class FleetUsageItem(BaseModel):
    board_id: str
    board_name: str
    site_id: int
    site_name: str
    site_name_en: str | None = None
    month: str
    used: int
    forecast: int
    budget: int | None
    budget_source: BudgetSource | None
    adaptive: bool
    percent: float | None
    forecast_percent: float | None
    factor: int
    status: Status
    updated_at: datetime | None


class FleetUsage(BaseModel):
    items: list[FleetUsageItem]
    #: pass as ``after`` for the next page; None on the last
    next_after: str | None


class BudgetIn(BaseModel):
    """A board's or a site's monthly budget (exactly one of board_id, site_id)."""

    model_config = ConfigDict(extra="forbid")

    board_id: Annotated[str, Field(max_length=64, pattern=DEVICE_ID_PATTERN)] | None = None
    site_id: Annotated[int, Field(ge=1, le=2**62)] | None = None
    monthly_bytes: Annotated[int, Field(ge=MIN_BUDGET, le=MAX_BUDGET)] | None = Field(
        description="bytes a month; null removes the budget (the site's or the default applies)"
    )
    adaptive: bool = Field(
        default=False,
        description="let the boards lower their reporting rates while the month would overrun",
    )

    @model_validator(mode="after")
    def _one_target(self) -> BudgetIn:
        if (self.board_id is None) == (self.site_id is None):
            raise ValueError("give exactly one of board_id and site_id")
        return self


class BudgetSet(BaseModel):
    board_id: str | None
    site_id: int | None
    monthly_bytes: int | None
    adaptive: bool
    #: the boards whose desired configuration now carries the budget
    boards_told: list[str]
