"""API shapes of the report's budget amounts (Điều 11.1.b, report II.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from fleet_server.reports.budget import MAX_AMOUNT, Basis, Line


class BudgetEntryIn(BaseModel):
    """An amount in whole đồng, and why (optional)."""

    model_config = ConfigDict(extra="forbid")

    amount_vnd: Annotated[int, Field(ge=0, le=int(MAX_AMOUNT), description="whole đồng")]
    note: Annotated[str | None, Field(max_length=500)] = None


class BudgetEntryOut(BaseModel):
    organisation_id: int
    year: int = Field(description="estimate: the year it is for; spent: the report year")
    line: Line
    basis: Basis
    amount_vnd: int
    note: str | None
    entered_by: str
    entered_at: datetime
