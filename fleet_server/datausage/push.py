"""Which boards are told their budget (``data_budget`` in their desired
configuration), and the engine's round that tells those who missed it.

An agent from before the 4G data budget rejects a whole desired version
holding a setting it does not know, so ``data_budget`` goes only to boards
whose agent reads it: those that have reported 4G data usage (the agent
release that reads ``data_budget`` is the one that counts its bytes; the
birth carries no list of capabilities), or whose newest birth or heartbeat
names ``FLEET_DATA_BUDGET_AGENT_VERSION`` or a later version.

Every round (``DataBudgetJob``) the boards whose budget (their own, else
their site's) differs from their desired configuration's are given a new
version, audited as the engine's ``board.config``; the API's command sweep
publishes it. So a board added at a site with a budget, or a board whose
agent was just upgraded, gets the budget without it being saved again."""

from __future__ import annotations

import copy
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from fleet_server.access import audit
from fleet_server.commands import storage as commands_store
from fleet_server.commands.validation import check_config
from fleet_server.datausage.models import Budget
from fleet_server.datausage.storage import Conn
from fleet_server.errors import RequestError

log = logging.getLogger(__name__)

ACTOR = "engine"
#: what a desired configuration without ``data_budget`` amounts to
NO_BUDGET: dict[str, Any] = {"monthly_bytes": None, "adaptive": False}
_NUMBERS = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def version_at_least(version: str, first: str) -> bool:
    """Whether ``version`` is ``first`` or later, compared by the numbers
    they begin with (``1.10.0`` after ``1.9``; ``2.0.0~rc1`` counts as
    2.0.0). A version that does not begin with a number is never later."""
    ours, theirs = _NUMBERS.match(version), _NUMBERS.match(first)
    if ours is None or theirs is None:
        return False
    a = [int(n) for n in ours.group().split(".")]
    b = [int(n) for n in theirs.group().split(".")]
    width = max(len(a), len(b))
    return a + [0] * (width - len(a)) >= b + [0] * (width - len(b))


def section(budget: Budget | None) -> dict[str, Any]:
    """The ``data_budget`` a board is told (the server's default is never
    pushed: it is not adaptive)."""
    if budget is None or budget.source == "default":
        return dict(NO_BUDGET)
    return {"monthly_bytes": budget.monthly_bytes, "adaptive": budget.adaptive}


def readers(conn: Conn, board_ids: list[str], first_version: str | None) -> set[str]:
    """The boards of ``board_ids`` whose agent reads ``data_budget``."""
    rows = conn.execute(
        """SELECT b.id,
                  EXISTS (SELECT 1 FROM board_data_usage u WHERE u.device_id = b.id),
                  (SELECT l.data->>'agent_version' FROM board_latest l
                    WHERE l.device_id = b.id AND l.kind IN ('heartbeat', 'state')
                      AND l.data->>'agent_version' IS NOT NULL
                    ORDER BY l.received_at DESC LIMIT 1)
             FROM boards b WHERE b.id = ANY(%s)""",
        (board_ids,),
    ).fetchall()
    return {
        str(board_id)
        for board_id, counted, version in rows
        if counted or (first_version and version and version_at_least(version, first_version))
    }


def out_of_date(conn: Conn) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Enabled boards with a budget (their own or their site's) that differs
    from their newest desired configuration's ``data_budget``: (board, that
    configuration, the section). Boards without one are left alone (a budget
    removed is pushed when it is removed; a section set by hand stays)."""
    rows = conn.execute(
        """SELECT b.id, own.monthly_bytes, own.adaptive, site.monthly_bytes, site.adaptive,
                  d.config
             FROM boards b
             LEFT JOIN data_budgets own ON own.board_id = b.id
             LEFT JOIN data_budgets site ON site.site_id = b.site_id
             LEFT JOIN LATERAL (SELECT config FROM board_config_desired c
                                 WHERE c.board_id = b.id ORDER BY version DESC LIMIT 1) d ON true
            WHERE b.enabled
              AND (own.id IS NOT NULL OR site.id IS NOT NULL)
            ORDER BY b.id"""
    ).fetchall()
    stale = []
    for board_id, own, own_adaptive, site, site_adaptive, config in rows:
        budget = (
            Budget(int(own), bool(own_adaptive), "board")
            if own is not None
            else Budget(int(site), bool(site_adaptive), "site")
        )
        wanted = section(budget)
        current = dict(config or {})
        if current.get("data_budget", NO_BUDGET) != wanted:
            stale.append((str(board_id), current, wanted))
    return stale


class DataBudgetJob:
    """The engine's round (docs/data-budget.md): a new desired version for
    each board that reads ``data_budget`` and was not told its budget.
    ``first_version``: FLEET_DATA_BUDGET_AGENT_VERSION."""

    def __init__(self, first_version: str | None = None, every_s: float = 60.0) -> None:
        self.first_version = first_version
        self.every_s = every_s
        self._due: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._due is None or now >= self._due

    def run(self, conn: Conn, now: datetime) -> list[str]:
        """Returns the boards given a new version (published by the API's sweep)."""
        self._due = now + timedelta(seconds=self.every_s)
        stale = out_of_date(conn)
        if not stale:
            return []
        reading = readers(conn, [board for board, _config, _wanted in stale], self.first_version)
        told = []
        for board_id, config, wanted in stale:
            if board_id not in reading:
                continue
            changed = copy.deepcopy(config) | {"data_budget": wanted}
            try:
                check_config(board_id, changed, field="config")
            except RequestError as exc:  # a stored configuration the agent would refuse
                log.warning("data budget not pushed to %s: %s", board_id, exc.detail)
                continue
            before = commands_store.latest_desired(conn, board_id)
            added = commands_store.add_desired(conn, board_id, changed, ACTOR, now)
            audit.record(
                conn,
                ACTOR,
                "board.config",
                target_type="board",
                target_id=board_id,
                before={"version": before.version, "config": before.config} if before else None,
                after={"version": added.version, "config": added.config},
                detail="data budget",
            )
            told.append(board_id)
        if told:
            log.info("data budget pushed to %d boards: %s", len(told), ", ".join(told[:20]))
        return told
