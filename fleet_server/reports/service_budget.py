"""The amounts people enter on the budget lines of Điều 11.1.b: next year's
estimate, and this year's costs spent outside tickets (operation, content
production). The annual report's II.5 uses them (``reports.budget``).

An operator or admin enters their own organisation's amounts; a
province-wide account names the organisation. Every change is audited.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fleet_server.access import audit
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Invalid, NotFound
from fleet_server.reports import storage, storage_budget
from fleet_server.reports.budget import BASES, LINES, Basis, Entry, Line
from fleet_server.reports.schemas import BudgetEntryIn, BudgetEntryOut
from fleet_server.reports.storage import Conn

FIRST_YEAR, LAST_YEAR = 2020, 2100


def _out(e: Entry) -> BudgetEntryOut:
    return BudgetEntryOut(
        organisation_id=e.organisation_id,
        year=e.year,
        line=e.line,
        basis=e.basis,
        amount_vnd=int(e.amount_vnd),
        note=e.note,
        entered_by=e.entered_by,
        entered_at=e.entered_at,
    )


def _organisation(conn: Conn, user: Principal, organisation_id: int | None) -> int:
    """The organisation whose amounts these are: the one named (a
    province-wide account may name any), else the caller's own."""
    if organisation_id is None:
        if user.organisation_id is None:
            raise Invalid(
                "name the organisation (organisation_id) whose budget this is",
                field="organisation_id",
            )
        organisation_id = user.organisation_id
    elif not user.province_wide and organisation_id != user.organisation_id:
        raise NotFound("organisation", organisation_id)
    if storage.organisation_code(conn, organisation_id) is None:
        raise NotFound("organisation", organisation_id)
    return organisation_id


def _check(year: int, basis: str, line: str | None = None) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(f"year {year} is not between {FIRST_YEAR} and {LAST_YEAR}", field="year")
    if basis not in BASES:
        raise Invalid(f"basis must be one of {', '.join(BASES)}", field="basis")
    if line is not None and line not in LINES:
        raise Invalid(f"line must be one of {', '.join(LINES)}", field="line")


def list_entries(
    conn: Conn, user: Principal, *, year: int, basis: Basis, organisation_id: int | None = None
) -> list[BudgetEntryOut]:
    """The amounts of one year and basis: the caller's organisation, or for a
    province-wide account the one named (none: every organisation)."""
    user.need("report.read")
    _check(year, basis)
    org = organisation_id
    if not (user.province_wide and organisation_id is None):
        org = _organisation(conn, user, organisation_id)
    return [_out(e) for e in storage_budget.entries(conn, year, basis, org)]


def put_entry(
    conn: Conn,
    user: Principal,
    actor: Actor,
    body: BudgetEntryIn,
    *,
    year: int,
    basis: Basis,
    line: Line,
    organisation_id: int | None,
    now: datetime,
) -> BudgetEntryOut:
    """Enter (or replace) one amount; audited with the amount it replaced."""
    user.need("report.budget")
    _check(year, basis, line)
    org = _organisation(conn, user, organisation_id)
    before = storage_budget.entry(conn, org, year, line, basis)
    note = (body.note or "").strip() or None
    entry = storage_budget.put_entry(
        conn, Entry(org, year, line, basis, Decimal(body.amount_vnd), note, actor.username, now)
    )
    out = _out(entry)
    audit.record(
        conn,
        actor,
        "report.budget.put",
        target_type="organisation",
        target_id=org,
        before=_out(before) if before else None,
        after=out,
    )
    return out


def delete_entry(
    conn: Conn,
    user: Principal,
    actor: Actor,
    *,
    year: int,
    basis: Basis,
    line: Line,
    organisation_id: int | None,
) -> None:
    """Remove an amount: the report derives the estimate again (404 if none)."""
    user.need("report.budget")
    _check(year, basis, line)
    org = _organisation(conn, user, organisation_id)
    before = storage_budget.entry(conn, org, year, line, basis)
    if before is None:
        raise NotFound("budget amount", f"{org}/{year}/{basis}/{line}")
    storage_budget.delete_entry(conn, org, year, line, basis)
    audit.record(
        conn,
        actor,
        "report.budget.delete",
        target_type="organisation",
        target_id=org,
        before=_out(before),
    )
