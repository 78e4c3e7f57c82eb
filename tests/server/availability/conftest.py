"""A small hand-built fleet: two organisations, three sites, boards whose
connectivity history each test writes itself."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from fleet_server.localtime import LOCAL_TZ
from tests.support import seed

Conn = psycopg.Connection[Any]
HOUR = 3600.0
DAY = 24 * HOUR
#: A day in the past (the functions never count time after now()).
T0 = datetime(2026, 10, 1, tzinfo=LOCAL_TZ)


class Fleet:
    """Writes boards, history and maintenance windows; reads the functions."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.orgs: dict[str, int] = {}
        self.sites: dict[str, int] = {}

    def org(self, code: str) -> int:
        if code not in self.orgs:
            self.orgs[code] = seed.organisation(self.conn, code)
        return self.orgs[code]

    def site(self, code: str, org: str = "org-a") -> int:
        if code not in self.sites:
            self.sites[code] = seed.site(self.conn, code, self.org(org))
        return self.sites[code]

    def board(
        self,
        board_id: str,
        site: str = "site-1",
        *,
        installed_on: date | None = date(2026, 1, 1),
        created_at: datetime | None = None,
        org: str = "org-a",
    ) -> str:
        return seed.board(
            self.conn,
            board_id,
            self.site(site, org),
            installed_on=installed_on,
            created_at=created_at,
        )

    def history(self, board_id: str, *changes: tuple[datetime, str]) -> None:
        for at, state in changes:
            self.conn.execute(
                "INSERT INTO board_status_history (board_id, at, state) VALUES (%s, %s, %s)",
                (board_id, at, state),
            )

    def window(
        self,
        starts: datetime,
        ends: datetime,
        *,
        board_id: str | None = None,
        site: str | None = None,
        recurrence: str = "none",
    ) -> None:
        self.conn.execute(
            "INSERT INTO maintenance_windows (site_id, board_id, starts_at, ends_at,"
            " recurrence, reason, created_by) VALUES (%s, %s, %s, %s, %s, 'bảo trì', 'test')",
            (self.sites[site] if site else None, board_id, starts, ends, recurrence),
        )

    def boards(
        self,
        start: datetime = T0,
        end: datetime = T0 + timedelta(days=1),
        exclude: bool = True,
        site_ids: list[int] | None = None,
    ) -> dict[str, dict[str, Any]]:
        return self._rows(
            "SELECT * FROM fleet_board_availability(%s, %s, %s, %s)",
            (start, end, exclude, site_ids),
        )

    def sites_of(
        self, start: datetime = T0, end: datetime = T0 + timedelta(days=1)
    ) -> dict[Any, dict[str, Any]]:
        return self._rows("SELECT * FROM fleet_site_availability(%s, %s)", (start, end))

    def organisations(
        self, start: datetime = T0, end: datetime = T0 + timedelta(days=1)
    ) -> dict[Any, dict[str, Any]]:
        return self._rows("SELECT * FROM fleet_organisation_availability(%s, %s)", (start, end))

    def _rows(self, sql: str, params: tuple[Any, ...]) -> dict[Any, dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            return {next(iter(r.values())): r for r in cur.execute(sql, params).fetchall()}


@pytest.fixture
def fleet(db: Conn) -> Fleet:
    return Fleet(db)
