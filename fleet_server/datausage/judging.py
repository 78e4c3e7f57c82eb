"""Every budgeted board's month against its budget: the engine's input."""

from __future__ import annotations

from datetime import datetime

from fleet_server.datausage import forecast, storage
from fleet_server.datausage.models import Judgement
from fleet_server.datausage.storage import Conn


def judgements(conn: Conn, now: datetime, default: int | None) -> dict[str, Judgement]:
    """Every board with a budget, its month against it (the engine's input)."""
    budgets = storage.budgets(conn, None, default)
    _month, since = forecast.window_start(now)
    days = storage.days(conn, list(budgets), since)
    return {
        board_id: Judgement(forecast.month_usage(days.get(board_id, []), now), budget)
        for board_id, budget in budgets.items()
    }
