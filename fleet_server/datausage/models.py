"""Data usage and budgets as the domain sees them (no SQL, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

BudgetSource = Literal["board", "site", "default"]


@dataclass(frozen=True, slots=True)
class DayUsage:
    """One board's local day as stored (the largest counters it reported)."""

    day: date
    sent: int
    received: int
    month_sent: int
    month_received: int
    factor: int
    counted: str
    updated_at: datetime

    @property
    def total(self) -> int:
        return self.sent + self.received


@dataclass(frozen=True, slots=True)
class Budget:
    monthly_bytes: int
    adaptive: bool
    #: whose budget it is: the board's own, its site's, or the server's default
    source: BudgetSource


@dataclass(frozen=True, slots=True)
class MonthUsage:
    """A board's month so far and its forecast (``forecast.month_usage``)."""

    month: str
    sent: int
    received: int
    used: int
    forecast: int
    #: bytes a day the forecast assumes for the days left
    daily_rate: int
    #: the factor the board's adaptive mode uses now (1: default rates)
    factor: int
    counted: str | None
    updated_at: datetime | None
    days: list[DayUsage]


@dataclass(frozen=True, slots=True)
class Judgement:
    """A board's month against its budget (what the engine's rules read)."""

    usage: MonthUsage
    budget: Budget

    @property
    def spent(self) -> bool:
        return self.usage.used >= self.budget.monthly_bytes

    def percent(self, value: int) -> float:
        return round(100.0 * value / self.budget.monthly_bytes, 1)
