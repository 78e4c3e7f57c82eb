"""The figures of the annual report (Điều 14), read from the database.

One organisation's boards, or the whole province (``organisation=None``),
over a report period: the year of Điều 14.1, or any period asked for ad hoc
(Điều 14.3). Availability comes from the same SQL functions the API and the
dashboards use (migration 0016); compliance from ``compliance_days``;
content from ``play_log``; the budget from ticket costs and the amounts
people enter (``reports.budget``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from fleet_server.availability import storage as availability
from fleet_server.availability.models import Figures
from fleet_server.availability.models import Period as AvailabilityPeriod
from fleet_server.availability.period import until
from fleet_server.compliance.models import day_bounds
from fleet_server.reports import budget
from fleet_server.reports import storage_budget as budget_storage
from fleet_server.reports.uptime import NONE, Uptime

Conn = psycopg.Connection[Any]
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in local time; ``last_day`` is the last day included."""

    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @classmethod
    def annual(cls, year: int) -> Period:
        """15 Dec of the previous year to 14 Dec of ``year`` (Điều 14)."""
        return cls.days(date(year - 1, 12, 15), date(year, 12, 14))

    @classmethod
    def days(cls, first: date, last: date) -> Period:
        return cls(day_bounds(first)[0], day_bounds(last)[1])

    @property
    def day_count(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True, slots=True)
class Availability:
    name: str
    code: str
    boards: int
    up_s: float
    down_s: float
    unknown_s: float
    availability: float | None

    @property
    def uptime(self) -> Uptime:
        return Uptime(self.up_s, self.down_s, self.unknown_s)


@dataclass
class AnnualFigures:
    """The figures of one report. ``year`` is the report year (for an ad hoc
    report, the year of its last day); ``adhoc``: a period asked for under
    Điều 14.3 rather than the year of Điều 14.1."""

    year: int
    period: Period
    organisation: tuple[int, str, str] | None  # id, code, name; None: the province
    generated_at: datetime
    adhoc: bool = False
    sites_by_kind: dict[str, int] = field(default_factory=dict)
    boards: int = 0
    cameras: int = 0
    organisations: list[tuple[str, str, int, int]] = field(default_factory=list)
    accounts_by_role: dict[str, int] = field(default_factory=dict)
    #: the sum of the board table's rows (section I)
    fleet_uptime: Uptime = NONE
    site_availability: list[Availability] = field(default_factory=list)
    board_availability: list[Availability] = field(default_factory=list)
    compliance: dict[str, int] = field(default_factory=dict)
    compliance_by_site: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    content_by_kind: dict[str, tuple[int, float]] = field(default_factory=dict)
    content_by_language: dict[str, float] = field(default_factory=dict)
    advertising_share: float | None = None
    department_items: int = 0
    department_hours: float = 0.0
    department_boards: int = 0
    department_top: list[tuple[str, float]] = field(default_factory=list)
    incidents: list[tuple[str, str, int, float | None, float | None]] = field(default_factory=list)
    tickets_by_kind: dict[str, int] = field(default_factory=dict)
    costs_by_category: dict[str, Decimal] = field(default_factory=dict)
    budget: budget.Budget = field(default_factory=budget.Budget)

    @property
    def sites(self) -> int:
        return sum(self.sites_by_kind.values())

    @property
    def total_cost(self) -> Decimal:
        return sum(self.costs_by_category.values(), Decimal(0))


def organisation(conn: Conn, code: str) -> tuple[int, str, str]:
    row = conn.execute(
        "SELECT id, code, name FROM organisations WHERE code = %s", (code,)
    ).fetchone()
    if row is None:
        raise LookupError(f"no organisation with code {code!r}")
    return row[0], row[1], row[2]


def collect(
    conn: Conn,
    year: int,
    org_code: str | None,
    *,
    now: datetime,
    progress: Progress = lambda _step: None,
) -> AnnualFigures:
    """Every figure the annual report (Điều 14.1) fills in; ``progress`` is
    told each step."""
    org = organisation(conn, org_code) if org_code else None
    return _collect(conn, AnnualFigures(year, Period.annual(year), org, now), progress)


def collect_period(
    conn: Conn,
    first: date,
    last: date,
    org_code: str | None,
    *,
    now: datetime,
    progress: Progress = lambda _step: None,
) -> AnnualFigures:
    """The same figures over any period of local days (an ad hoc report,
    Điều 14.3). The caller has checked the dates (``service.check_period``)."""
    org = organisation(conn, org_code) if org_code else None
    fig = AnnualFigures(last.year, Period.days(first, last), org, now, adhoc=True)
    return _collect(conn, fig, progress)


def _collect(conn: Conn, fig: AnnualFigures, progress: Progress) -> AnnualFigures:
    org = fig.organisation
    scope = _Scope.read(conn, org[0] if org else None)
    for step, fill in (
        ("boards", _fleet),
        ("availability", _availability),
        ("compliance", _compliance),
        ("content", _content),
        ("incidents", _incidents),
        ("tickets", _tickets),
    ):
        progress(step)
        fill(conn, fig, scope)
    fig.budget = _budget(conn, fig, scope)
    return fig


@dataclass(frozen=True, slots=True)
class _Scope:
    """The sites in the report: one organisation's, or all (read once)."""

    organisation_id: int | None
    site_ids: list[int]

    @classmethod
    def read(cls, conn: Conn, organisation_id: int | None) -> _Scope:
        rows = conn.execute(
            "SELECT id FROM sites WHERE %(org)s::bigint IS NULL OR organisation_id = %(org)s",
            {"org": organisation_id},
        ).fetchall()
        return cls(organisation_id, [r[0] for r in rows])


def _fleet(conn: Conn, fig: AnnualFigures, scope: _Scope) -> None:
    sites = scope.site_ids
    end = fig.period.end
    for kind, count in conn.execute(
        "SELECT kind, count(*) FROM sites WHERE id = ANY(%s) GROUP BY kind ORDER BY kind",
        (sites,),
    ).fetchall():
        fig.sites_by_kind[kind] = count
    row = conn.execute(
        "SELECT count(*) FROM boards WHERE site_id = ANY(%s) AND enabled"
        " AND COALESCE(installed_on, (created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) < %s",
        (sites, end.date()),
    ).fetchone()
    fig.boards = row[0] if row else 0
    row = conn.execute(
        "SELECT count(*) FROM cameras c JOIN boards b ON b.id = c.board_id"
        " WHERE b.site_id = ANY(%s) AND b.enabled",
        (sites,),
    ).fetchone()
    fig.cameras = row[0] if row else 0
    fig.organisations = [
        (r[0], r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT o.code, o.name, count(DISTINCT s.id), count(b.id) FILTER (WHERE b.enabled)"
            "  FROM organisations o JOIN sites s ON s.organisation_id = o.id"
            "  LEFT JOIN boards b ON b.site_id = s.id"
            " WHERE s.id = ANY(%s) GROUP BY o.code, o.name ORDER BY o.code",
            (sites,),
        ).fetchall()
    ]
    for role, count in conn.execute(
        "SELECT role, count(*) FROM users WHERE active AND (%(org)s::bigint IS NULL"
        " OR organisation_id = %(org)s) GROUP BY role ORDER BY role",
        {"org": scope.organisation_id},
    ).fetchall():
        fig.accounts_by_role[role] = count


def _availability(conn: Conn, fig: AnnualFigures, scope: _Scope) -> None:
    """The same figures as the API and the dashboards (fleet_server.availability),
    never past the moment of writing. The fleet's line is the sum of the
    board table's rows, so the two cannot disagree."""
    period = until(AvailabilityPeriod(fig.period.start, fig.period.end), fig.generated_at)
    if period.end <= period.start:
        return
    org = scope.organisation_id
    boards = availability.board_availability(conn, period, organisation_id=org)
    fig.board_availability = sorted(
        (_row(b.board_name, b.board_id, 1, b.figures) for b in boards), key=_worst_first
    )
    sites = availability.site_availability(conn, period, organisation_id=org)
    fig.site_availability = sorted(
        (_row(s.site_name, s.site_code, s.boards, s.figures) for s in sites), key=_worst_first
    )
    fig.fleet_uptime = sum((a.uptime for a in fig.board_availability), NONE)


def _row(name: str, code: str, boards: int, f: Figures) -> Availability:
    return Availability(name, code, boards, f.up_s, f.down_s, f.unknown_s, f.availability)


def _worst_first(a: Availability) -> tuple[bool, float, str]:
    """Unknown first, then the lowest availability, then by code."""
    return (a.availability is not None, a.availability or 0.0, a.code)


def _compliance(conn: Conn, fig: AnnualFigures, scope: _Scope) -> None:
    params = (fig.period.first_day, fig.period.last_day, scope.site_ids)
    for status, count in conn.execute(
        "SELECT c.status, count(*) FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        " WHERE c.day BETWEEN %s AND %s AND b.site_id = ANY(%s) GROUP BY c.status",
        params,
    ).fetchall():
        fig.compliance[status] = count
    by_site: dict[str, dict[str, int]] = {}
    for name, status, count in conn.execute(
        "SELECT s.name, c.status, count(*) FROM compliance_days c"
        "  JOIN boards b ON b.id = c.board_id JOIN sites s ON s.id = b.site_id"
        " WHERE c.day BETWEEN %s AND %s AND b.site_id = ANY(%s)"
        " GROUP BY s.name, c.status ORDER BY s.name",
        params,
    ).fetchall():
        by_site.setdefault(name, {})[status] = count
    fig.compliance_by_site = sorted(by_site.items())


_PLAYS = """
SELECT {group}, count(*), sum(extract(epoch FROM p.ended_at - p.started_at)) / 3600
  FROM play_log p JOIN boards b ON b.id = p.device_id
  LEFT JOIN content_items ci ON ci.sha256 = p.content_sha256
 WHERE p.started_at >= %(start)s AND p.started_at < %(end)s AND b.site_id = ANY(%(sites)s)
   {where}
 GROUP BY 1 ORDER BY 1
"""


def _content(conn: Conn, fig: AnnualFigures, scope: _Scope) -> None:
    params = {"start": fig.period.start, "end": fig.period.end, "sites": scope.site_ids}
    sql = _PLAYS.format(group="COALESCE(p.content_kind, ci.kind, 'unknown')", where="")
    for kind, plays, hours in conn.execute(sql, params).fetchall():
        fig.content_by_kind[kind] = (plays, float(hours or 0))
    sql = _PLAYS.format(group="COALESCE(p.content_language, ci.language, 'unknown')", where="")
    for language, _plays, hours in conn.execute(sql, params).fetchall():
        fig.content_by_language[language] = float(hours or 0)
    total = sum(h for _, h in fig.content_by_kind.values())
    ads = fig.content_by_kind.get("advertising", (0, 0.0))[1]
    fig.advertising_share = ads / total if total > 0 else None
    row = conn.execute(
        "SELECT count(DISTINCT p.content_sha256), count(DISTINCT p.device_id),"
        "       COALESCE(sum(extract(epoch FROM p.ended_at - p.started_at)) / 3600, 0)"
        "  FROM play_log p JOIN boards b ON b.id = p.device_id"
        "  JOIN content_items ci ON ci.sha256 = p.content_sha256 AND ci.from_department"
        " WHERE p.started_at >= %(start)s AND p.started_at < %(end)s"
        "   AND b.site_id = ANY(%(sites)s)",
        params,
    ).fetchone()
    if row:
        fig.department_items, fig.department_boards = row[0], row[1]
        fig.department_hours = float(row[2])
    sql = _PLAYS.format(group="ci.title", where="AND ci.from_department")
    top = [(title, float(hours or 0)) for title, _p, hours in conn.execute(sql, params)]
    fig.department_top = sorted(top, key=lambda t: -t[1])[:10]


def _incidents(conn: Conn, fig: AnnualFigures, scope: _Scope) -> None:
    fig.incidents = [
        (r[0], r[1], r[2], _minutes(r[3]), _minutes(r[4]))
        for r in conn.execute(
            "SELECT class, severity, count(*),"
            "       avg(extract(epoch FROM acknowledged_at - opened_at)),"
            "       avg(extract(epoch FROM resolved_at - opened_at))"
            "  FROM incidents"
            " WHERE opened_at >= %s AND opened_at < %s AND site_id = ANY(%s)"
            "   AND parent_id IS NULL"
            " GROUP BY class, severity ORDER BY class,"
            "   array_position(ARRAY['critical', 'major', 'minor', 'warning'], severity)",
            (fig.period.start, fig.period.end, scope.site_ids),
        ).fetchall()
    ]


def _minutes(seconds: Any) -> float | None:
    return None if seconds is None else float(seconds) / 60


def _tickets(conn: Conn, fig: AnnualFigures, scope: _Scope) -> None:
    params = (fig.period.start, fig.period.end, scope.site_ids)
    for kind, count in conn.execute(
        "SELECT kind, count(*) FROM tickets WHERE created_at >= %s AND created_at < %s"
        " AND site_id = ANY(%s) GROUP BY kind ORDER BY kind",
        params,
    ).fetchall():
        fig.tickets_by_kind[kind] = count


def _budget(conn: Conn, fig: AnnualFigures, scope: _Scope) -> budget.Budget:
    """II.5: costs on the lines of Điều 11.1.b and next year's estimate.

    The annual report adds the amounts entered as spent in its year; an ad
    hoc period leaves them out (they are per report year) and scales its
    costs to a year for the derived estimate."""
    costs = budget_storage.ticket_costs(conn, fig.period.start, fig.period.end, scope.site_ids)
    for (_org, category), amount in costs.items():
        fig.costs_by_category[category] = fig.costs_by_category.get(category, Decimal(0)) + amount
    org = scope.organisation_id
    next_year = fig.year + 1
    spent = [] if fig.adhoc else budget_storage.entries(conn, fig.year, "spent", org)
    estimates = budget_storage.entries(conn, next_year, "estimate", org)
    if org is not None:
        organisations = [org]
    else:
        organisations = budget_storage.site_organisations(conn, scope.site_ids)
        organisations += [e.organisation_id for e in (*spent, *estimates)]
    scale = Decimal(1) if not fig.adhoc else Decimal(365) / Decimal(fig.period.day_count)
    return budget.build(
        costs=costs,
        spent_entries=spent,
        estimate_entries=estimates,
        organisations=organisations,
        estimate_year=next_year,
        scale=scale,
        entered_spent_left_out=fig.adhoc,
    )
