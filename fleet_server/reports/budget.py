"""The budget lines of Điều 11.1.b, this year's costs on them, and next
year's estimate (the report's II.5). No SQL here.

Điều 11.1.b: "Hàng năm cơ quan, đơn vị quản lý, vận hành Cụm Thông tin điện
tử công cộng căn cứ hiện trạng thực tế, nhu cầu hoạt động của Cụm Thông tin
điện tử công cộng xây dựng dự toán kinh phí gửi cơ quan tài chính cùng cấp
tổng hợp, tham mưu Ủy ban nhân dân cùng cấp bố trí kinh phí đảm bảo các hoạt
động của Cụm Thông tin điện tử công cộng bao gồm: nguồn điện, bảo trì, bảo
dưỡng, sửa chữa, vận hành, đường truyền internet và sản xuất các sản phẩm
truyền thông phục vụ tuyên truyền trên cụm Thông tin điện tử công cộng."

This year's cost on a line = what technicians recorded on tickets (power,
maintenance, repair, internet, other) + what a person entered as spent
outside tickets (operation and content production have no ticket). Next
year's estimate per organisation and line = the amount a person entered, or,
when none was, this year's cost on that line (for an ad hoc period, scaled
to a year) — and the report says which.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

Line = Literal[
    "power", "maintenance", "repair", "operation", "internet", "content_production", "other"
]
LINES: tuple[Line, ...] = get_args(Line)
Basis = Literal["estimate", "spent"]
BASES: tuple[Basis, ...] = get_args(Basis)

#: The lines in the words of Điều 11.1.b (Vietnamese, English).
LINE_LABELS: Mapping[Line, tuple[str, str]] = {
    "power": ("Nguồn điện", "Power"),
    "maintenance": ("Bảo trì, bảo dưỡng", "Maintenance"),
    "repair": ("Sửa chữa", "Repair"),
    "operation": ("Vận hành", "Operation"),
    "internet": ("Đường truyền internet", "Internet line"),
    "content_production": (
        "Sản xuất các sản phẩm truyền thông phục vụ tuyên truyền",
        "Content production for propaganda",
    ),
    "other": ("Chi phí khác", "Other costs"),
}
#: Lines technicians record on tickets (ticket_costs.category).
TICKET_LINES: frozenset[str] = frozenset({"power", "maintenance", "repair", "internet", "other"})
#: The largest amount one entry may hold (numeric(15, 0) in the database).
MAX_AMOUNT = Decimal(10**15 - 1)

EstimateBasis = Literal["entered", "derived", "mixed", "none"]


@dataclass(frozen=True, slots=True)
class Entry:
    """An amount a person entered for an organisation, year and line."""

    organisation_id: int
    year: int
    line: Line
    basis: Basis
    amount_vnd: Decimal
    note: str | None
    entered_by: str
    entered_at: datetime


@dataclass(frozen=True, slots=True)
class Spent:
    """This period's cost on a line: on tickets, entered by people, total."""

    line: Line
    on_tickets: Decimal
    entered: Decimal

    @property
    def total(self) -> Decimal:
        return self.on_tickets + self.entered


@dataclass(frozen=True, slots=True)
class Estimate:
    """Next year's estimate on a line, and where it comes from: ``entered``
    by people for every organisation, ``derived`` from the costs for every
    one, ``mixed``; ``entered_for`` of ``organisations`` were entered."""

    line: Line
    amount: Decimal
    basis: EstimateBasis
    entered_for: int
    organisations: int
    #: the entry's author and time when a single organisation entered it
    entry: Entry | None = None


@dataclass
class Budget:
    spent: list[Spent] = field(default_factory=list)
    estimate_year: int = 0
    estimates: list[Estimate] = field(default_factory=list)
    #: the derived estimates were scaled from a period that is not one year
    scale: Decimal = Decimal(1)
    #: entered "spent" amounts (per report year) were left out: an ad hoc period
    entered_spent_left_out: bool = False

    @property
    def spent_total(self) -> Decimal:
        return sum((s.total for s in self.spent), Decimal(0))

    @property
    def estimate_total(self) -> Decimal:
        return sum((e.amount for e in self.estimates), Decimal(0))


def whole(amount: Decimal) -> Decimal:
    """Whole đồng, halves up."""
    return amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def build(
    *,
    costs: Mapping[tuple[int, str], Decimal],
    spent_entries: Iterable[Entry],
    estimate_entries: Iterable[Entry],
    organisations: Iterable[int],
    estimate_year: int,
    scale: Decimal = Decimal(1),
    entered_spent_left_out: bool = False,
) -> Budget:
    """The budget section from ticket ``costs`` per (organisation, line), the
    entries, and the organisations the report covers."""
    orgs = sorted(set(organisations))
    spent_by: dict[tuple[int, str], Decimal] = {}
    for e in spent_entries:
        spent_by[(e.organisation_id, e.line)] = e.amount_vnd
    entered_by: dict[tuple[int, str], Entry] = {}
    for e in estimate_entries:
        entered_by[(e.organisation_id, e.line)] = e
    result = Budget(
        estimate_year=estimate_year, scale=scale, entered_spent_left_out=entered_spent_left_out
    )
    for line in LINES:
        on_tickets = sum((costs.get((o, line), Decimal(0)) for o in orgs), Decimal(0))
        entered = sum((spent_by.get((o, line), Decimal(0)) for o in orgs), Decimal(0))
        result.spent.append(Spent(line, on_tickets, entered))
        amount, count, single = Decimal(0), 0, None
        for o in orgs:
            entry = entered_by.get((o, line))
            if entry is not None:
                amount += entry.amount_vnd
                count, single = count + 1, entry
            else:
                own = costs.get((o, line), Decimal(0)) + spent_by.get((o, line), Decimal(0))
                amount += whole(own * scale)
        basis: EstimateBasis = "derived" if count == 0 else "mixed"
        if not orgs or count == len(orgs):
            basis = "entered" if orgs else "none"
        result.estimates.append(
            Estimate(line, amount, basis, count, len(orgs), single if count == 1 else None)
        )
    return result
