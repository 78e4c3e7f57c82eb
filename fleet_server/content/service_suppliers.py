"""Supplying units and their obligations (Điều 10.1.b, 10.1.c): who must
send the Department content and when, which of them are overdue, and the
overdue notice (once per unit and period, queued by the engine's periodic
round with its clock)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from fleet_server.access import audit
from fleet_server.access.principal import Actor, Principal
from fleet_server.content import storage_suppliers as store
from fleet_server.content.obligations import (
    ARTICLES,
    Obligation,
    last_due_period,
    local_date,
    next_due,
)
from fleet_server.content.schemas_workflow import (
    OverdueOut,
    SupplierIn,
    SupplierOut,
    SupplierPatch,
)
from fleet_server.content.storage import Conn
from fleet_server.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)


def _out(row: dict[str, Any], today: date) -> SupplierOut:
    obligation: Obligation = row["obligation"]
    return SupplierOut(
        **{k: row[k] for k in SupplierOut.model_fields if k in row},
        article=ARTICLES[obligation],
        next_due=next_due(obligation, today) if row["active"] else None,
    )


def list_suppliers(conn: Conn, user: Principal, now: datetime) -> list[SupplierOut]:
    user.need("content.read")
    return [_out(r, local_date(now)) for r in store.all_suppliers(conn)]


def get_supplier(conn: Conn, user: Principal, supplier_id: int, now: datetime) -> SupplierOut:
    user.need("content.read")
    row = store.get(conn, supplier_id)
    if row is None:
        raise NotFound("supplier", supplier_id)
    return _out(row, local_date(now))


_CLASHES = {
    "name": "name: another supplier has this name",
    "organisation_id": "organisation_id: no such organisation, or it has a supplier already",
    "contact_id": "contact_id: no such contact",
}


def _clash(exc: store.Clash) -> Exception:
    message = _CLASHES.get(exc.what)
    if message is None:
        return Conflict("the supplier clashes with another row")
    if exc.what == "name":
        return Conflict(message)
    return Invalid(message, field=exc.what)


def create_supplier(
    conn: Conn, user: Principal, actor: Actor, body: SupplierIn, now: datetime
) -> SupplierOut:
    user.need("content.approve")
    fields = body.model_dump()
    fields["name"] = fields["name"].strip()
    fields["obligation_from"] = fields["obligation_from"] or local_date(now)
    with conn.transaction():
        try:
            row = store.insert(conn, fields)
        except store.Clash as exc:
            raise _clash(exc) from None
        audit.record(
            conn, actor, "content.supplier.create", target_type="content_supplier",
            target_id=row["id"], after=fields,
        )  # fmt: skip
    return _out(row, local_date(now))


def update_supplier(
    conn: Conn,
    user: Principal,
    actor: Actor,
    supplier_id: int,
    *,
    body: SupplierPatch,
    now: datetime,
) -> SupplierOut:
    user.need("content.approve")
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "obligation", "min_items", "obligation_from", "active"):
        if required in changes and changes[required] is None:
            raise Invalid(f"{required}: cannot be emptied", field=required)
    if not changes:
        raise Invalid("nothing to change: send at least one field")
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    with conn.transaction():
        before = store.get(conn, supplier_id, lock=True)
        if before is None:
            raise NotFound("supplier", supplier_id)
        try:
            row = store.update(conn, supplier_id, changes)
        except store.Clash as exc:
            raise _clash(exc) from None
        audit.record(
            conn, actor, "content.supplier.update", target_type="content_supplier",
            target_id=supplier_id, before={k: before[k] for k in changes}, after=changes,
        )  # fmt: skip
    return _out(row, local_date(now))


def overdue(conn: Conn, now: datetime) -> list[OverdueOut]:
    """Active units whose last period due before today (Vietnam time) ended
    with fewer items than they owe, in name order."""
    today = local_date(now)
    found = []
    for row in store.all_suppliers(conn, active_only=True):
        period = last_due_period(row["obligation"], today)
        if period is None or period.due < row["obligation_from"]:
            continue
        sent = store.submitted_between(conn, row["id"], period.start_at, period.end_at)
        if sent < row["min_items"]:
            found.append(
                OverdueOut(
                    supplier_id=row["id"],
                    supplier_name=row["name"],
                    obligation=row["obligation"],
                    article=ARTICLES[row["obligation"]],
                    period=period.key,
                    period_starts=period.starts,
                    due=period.due,
                    required=row["min_items"],
                    submitted=sent,
                )
            )
    return found


def list_overdue(conn: Conn, user: Principal, now: datetime) -> list[OverdueOut]:
    user.need("content.read")
    return overdue(conn, now)


def queue_overdue_notices(conn: Conn, now: datetime) -> int:
    """Queue the overdue notice of each overdue unit and period that has
    none yet (the engine's periodic round calls this with its clock); the
    number queued. Runs in the caller's transaction."""
    from fleet_server.notifications import Notice, Text, enqueue  # noqa: PLC0415

    queued = 0
    for item in overdue(conn, now):
        if not store.claim_notice(conn, item.supplier_id, item.period, item.due, now):
            continue
        row = store.get(conn, item.supplier_id)
        assert row is not None
        due = f"{item.due:%d/%m/%Y}"
        notice = Notice(
            kind="content_overdue",
            severity="warning",
            title=Text(
                f"{item.supplier_name}: chưa gửi sản phẩm truyền thông kỳ {item.period}",
                f"{item.supplier_name}: content for {item.period} not received",
            ),
            summary=Text(
                f"Theo {item.article}, hạn gửi Sở Thông tin và Truyền thông là ngày {due};"
                f" đã nhận {item.submitted}/{item.required} sản phẩm.",
                f"Under {item.article} the content was due at the Department on {due};"
                f" {item.submitted} of {item.required} item(s) received.",
            ),
            occurred_at=now,
            organisation_id=row["organisation_id"],
            details={"period": item.period, "due": item.due.isoformat()},
            contact_ids=(row["contact_id"],) if row["contact_id"] else (),
            dedup_key=f"content_overdue:{item.supplier_id}:{item.period}",
        )
        enqueue(conn, notice, now=now)
        queued += 1
    if queued:
        log.info("queued %d content overdue notice(s)", queued)
    return queued
