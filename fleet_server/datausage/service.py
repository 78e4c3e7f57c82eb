"""Data usage and budgets below the HTTP layer: a board's month, the fleet
list, and setting a budget (audited, then carried to the boards in their
desired configuration, ``data_budget``, for their adaptive mode; only to
boards whose agent reads it, see push.py).

Reading needs ``telemetry.read`` and is scoped like a board read; setting a
budget needs ``command.send`` (admins and operators): it changes what the
boards are told, within the caller's sites."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from fleet_server.access import audit
from fleet_server.access.principal import Actor, Principal
from fleet_server.boards.service import board_in_scope
from fleet_server.commands import service as commands_service
from fleet_server.commands import storage as commands_store
from fleet_server.commands.delivery import CommandService
from fleet_server.commands.schemas import ConfigIn
from fleet_server.datausage import forecast, push, storage
from fleet_server.datausage.models import Budget, Judgement, MonthUsage
from fleet_server.datausage.schemas import (
    BoardDataUsage,
    BudgetIn,
    BudgetOut,
    BudgetSet,
    DayOut,
    FleetUsage,
    FleetUsageItem,
    Status,
)
from fleet_server.datausage.storage import Conn
from fleet_server.errors import Conflict, NotFound

MAX_PAGE = 200


def default_bytes(megabytes: int | None) -> int | None:
    """FLEET_DATA_BUDGET_MB in bytes (MB = 10^6 bytes, as operators bill)."""
    return None if megabytes is None else megabytes * 1_000_000


def status_of(usage: MonthUsage, budget: Budget | None) -> Status:
    if budget is None:
        return "no_budget"
    if usage.used >= budget.monthly_bytes:
        return "spent"
    return "forecast_over" if usage.forecast > budget.monthly_bytes else "ok"


def board_usage(
    conn: Conn, user: Principal, board_id: str, *, default: int | None, now: datetime
) -> BoardDataUsage:
    user.need("telemetry.read")
    board_in_scope(conn, user.scope, board_id)
    _month, since = forecast.window_start(now)
    usage = forecast.month_usage(storage.days(conn, [board_id], since).get(board_id, []), now)
    budget = storage.budgets(conn, [board_id], default).get(board_id)
    judged = Judgement(usage, budget) if budget else None
    return BoardDataUsage(
        board_id=board_id,
        month=usage.month,
        sent=usage.sent,
        received=usage.received,
        used=usage.used,
        forecast=usage.forecast,
        daily_rate=usage.daily_rate,
        factor=usage.factor,
        counted=usage.counted,
        updated_at=usage.updated_at,
        budget=None if budget is None else BudgetOut(**_plain(budget)),
        percent=judged.percent(usage.used) if judged else None,
        forecast_percent=judged.percent(usage.forecast) if judged else None,
        status=status_of(usage, budget),
        days=[DayOut(day=d.day, sent=d.sent, received=d.received) for d in usage.days],
    )


def fleet_usage(
    conn: Conn,
    user: Principal,
    *,
    site_id: int | None,
    after: str | None,
    limit: int,
    default: int | None,
    now: datetime,
) -> FleetUsage:
    """One page of the boards the caller sees (by board id), each month's use."""
    user.need("telemetry.read")
    limit = max(1, min(limit, MAX_PAGE))
    rows = storage.board_page(conn, user.scope, site_id=site_id, after=after, limit=limit + 1)
    page = rows[:limit]
    ids = [r["board_id"] for r in page]
    _month, since = forecast.window_start(now)
    days = storage.days(conn, ids, since)
    budgets = storage.budgets(conn, ids, default)
    items = []
    for row in page:
        usage = forecast.month_usage(days.get(row["board_id"], []), now)
        budget = budgets.get(row["board_id"])
        judged = Judgement(usage, budget) if budget else None
        items.append(
            FleetUsageItem(
                **row,
                month=usage.month,
                used=usage.used,
                forecast=usage.forecast,
                budget=budget.monthly_bytes if budget else None,
                budget_source=budget.source if budget else None,
                adaptive=budget.adaptive if budget else False,
                percent=judged.percent(usage.used) if judged else None,
                forecast_percent=judged.percent(usage.forecast) if judged else None,
                factor=usage.factor,
                status=status_of(usage, budget),
                updated_at=usage.updated_at,
            )
        )
    more = len(rows) > limit
    return FleetUsage(items=items, next_after=ids[-1] if more and ids else None)


def set_budget(
    conn: Conn,
    user: Principal,
    actor: Actor,
    body: BudgetIn,
    *,
    commands: CommandService | None,
    now: datetime,
    agent_version: str | None = None,
) -> BudgetSet:
    """Set or remove a board's or a site's budget (audited ``data_budget.set``),
    then tell the boards it applies to whose agent reads it (a desired
    configuration version each, only where their ``data_budget`` changes;
    ``agent_version``: FLEET_DATA_BUDGET_AGENT_VERSION). The others are told
    by the engine once their agent reads it (push.py)."""
    user.need("command.send")
    if body.board_id is not None:
        board_in_scope(conn, user.scope, body.board_id)
        target_type, target_id = "board", str(body.board_id)
    else:
        assert body.site_id is not None
        if not storage.site_visible(conn, user.scope, body.site_id):
            raise NotFound("site", str(body.site_id))
        target_type, target_id = "site", str(body.site_id)
    before = storage.budget_row(conn, body.board_id, body.site_id)
    storage.set_budget(
        conn,
        board_id=body.board_id,
        site_id=body.site_id,
        monthly_bytes=body.monthly_bytes,
        adaptive=body.adaptive,
        actor=user.actor,
        now=now,
    )
    audit.record(
        conn,
        actor,
        "data_budget.set",
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=storage.budget_row(conn, body.board_id, body.site_id),
    )
    boards = (
        [body.board_id]
        if body.board_id is not None
        else storage.site_boards_without_own(conn, int(body.site_id or 0))
    )
    reading = push.readers(conn, boards, agent_version)
    told = _tell(conn, user, actor, [b for b in boards if b in reading], commands=commands, now=now)
    return BudgetSet(
        board_id=body.board_id,
        site_id=body.site_id,
        monthly_bytes=body.monthly_bytes,
        adaptive=body.adaptive,
        boards_told=told,
    )


def _tell(
    conn: Conn,
    user: Principal,
    actor: Actor,
    boards: list[str],
    *,
    commands: CommandService | None,
    now: datetime,
) -> list[str]:
    """Push each board's budget (its own or its site's; the server's default
    is never pushed: it is not adaptive) where it differs from what the
    board's desired configuration says."""
    if commands is None:
        return []
    budgets = storage.budgets(conn, boards, None)
    told = []
    for board_id in boards:
        section = push.section(budgets.get(board_id))
        latest = commands_store.latest_desired(conn, board_id)
        config: dict[str, Any] = copy.deepcopy(dict(latest.config)) if latest else {}
        if config.get("data_budget", push.NO_BUDGET) == section:
            continue
        config["data_budget"] = section
        try:
            commands_service.set_desired_config(
                conn, user, actor, board_id, ConfigIn(config=config), commands=commands, now=now
            )
        except (NotFound, Conflict):
            continue  # disabled: it gets its configuration when enabled again
        told.append(board_id)
    return told


def _plain(budget: Budget) -> dict[str, Any]:
    return {
        "monthly_bytes": budget.monthly_bytes,
        "adaptive": budget.adaptive,
        "source": budget.source,
    }
