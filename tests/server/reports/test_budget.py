"""The budget lines of Điều 11.1.b in the annual report's II.5 ("Kinh phí
thực hiện duy trì hằng năm"), and next year's estimate per line: entered by a
person, or derived from this year's costs when not — and the report says
which.

Điều 11.1.b: "Hàng năm cơ quan, đơn vị quản lý, vận hành Cụm Thông tin điện
tử công cộng căn cứ hiện trạng thực tế, nhu cầu hoạt động của Cụm Thông tin
điện tử công cộng xây dựng dự toán kinh phí gửi cơ quan tài chính cùng cấp
tổng hợp, tham mưu Ủy ban nhân dân cùng cấp bố trí kinh phí đảm bảo các hoạt
động của Cụm Thông tin điện tử công cộng bao gồm: nguồn điện, bảo trì, bảo
dưỡng, sửa chữa, vận hành, đường truyền internet và sản xuất các sản phẩm
truyền thông phục vụ tuyên truyền trên cụm Thông tin điện tử công cộng."
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fleet_server.reports import annual, budget, figures
from fleet_server.reports import storage_budget as storage
from fleet_server.reports.budget import Entry
from tests.server.reports.test_annual import texts, year  # noqa: F401 (fixture)
from tests.server.reports.test_period import docx_text

Conn = psycopg.Connection[Any]
AT = datetime(2025, 12, 1, 3, 0, tzinfo=UTC)


def entry(org: int, year_: int, line: budget.Line, basis: budget.Basis, amount: int) -> Entry:
    return Entry(org, year_, line, basis, Decimal(amount), None, "ke.toan", AT)


def test_every_line_of_article_11_1_b_is_reported() -> None:
    """Power, maintenance, repair, operation, internet, content production
    (and the tickets' "other")."""
    assert budget.LINES == (
        "power",
        "maintenance",
        "repair",
        "operation",
        "internet",
        "content_production",
        "other",
    )
    labels = [budget.LINE_LABELS[line][0] for line in budget.LINES]
    assert "Vận hành" in labels
    assert "Sản xuất các sản phẩm truyền thông phục vụ tuyên truyền" in labels


def test_entered_derived_and_mixed_estimates() -> None:
    b = budget.build(
        costs={(1, "repair"): Decimal(1_500_000), (2, "repair"): Decimal(500_000)},
        spent_entries=[entry(1, 2025, "operation", "spent", 10_000_000)],
        estimate_entries=[
            entry(1, 2026, "repair", "estimate", 2_000_000),
            entry(1, 2026, "operation", "estimate", 12_000_000),
            entry(2, 2026, "operation", "estimate", 3_000_000),
        ],
        organisations=[1, 2],
        estimate_year=2026,
    )
    by_line = {e.line: e for e in b.estimates}
    assert (by_line["repair"].amount, by_line["repair"].basis) == (Decimal(2_500_000), "mixed")
    assert (by_line["operation"].amount, by_line["operation"].basis) == (
        Decimal(15_000_000),
        "entered",
    )
    assert (by_line["power"].amount, by_line["power"].basis) == (Decimal(0), "derived")
    spent = {s.line: s for s in b.spent}
    assert spent["operation"].on_tickets == 0
    assert spent["operation"].entered == Decimal(10_000_000)
    assert b.spent_total == Decimal(12_000_000)
    assert b.estimate_total == Decimal(2_500_000 + 15_000_000)


def test_a_derived_estimate_of_a_shorter_period_is_scaled_to_a_year() -> None:
    b = budget.build(
        costs={(1, "internet"): Decimal(200_000)},
        spent_entries=[],
        estimate_entries=[],
        organisations=[1],
        estimate_year=2026,
        scale=Decimal(365) / Decimal(31),
    )
    internet = next(e for e in b.estimates if e.line == "internet")
    assert internet.amount == Decimal(2_354_839)  # 200,000 × 365 / 31, whole đồng
    assert internet.basis == "derived"


def test_the_report_says_which_estimate_was_entered_and_which_derived(
    year: Conn,  # noqa: F811
    tmp_path: Path,
) -> None:
    bql = year.execute("SELECT id FROM organisations WHERE code = 'bqlkkt'").fetchone()
    assert bql is not None
    storage.put_entry(year, entry(bql[0], 2026, "operation", "estimate", 120_000_000))
    storage.put_entry(year, entry(bql[0], 2025, "content_production", "spent", 30_000_000))
    fig = figures.collect(year, 2025, "bqlkkt", now=datetime(2025, 12, 15, tzinfo=UTC))
    _, body = texts(annual.write(fig, tmp_path / "r.docx"))
    assert "Dự toán kinh phí năm 2026 theo các khoản mục, đồng:" in body
    assert "Vận hành | 120.000.000 | Do đơn vị nhập (ke.toan, 01/12/2025)" in body
    assert "Sửa chữa | 1.500.000 | Ước tính theo chi phí năm nay" in body
    assert "Đường truyền internet | 2.400.000 | Ước tính theo chi phí năm nay" in body
    assert (
        "Sản xuất các sản phẩm truyền thông phục vụ tuyên truyền | 30.000.000"
        " | Ước tính theo chi phí năm nay" in body
    )
    # this year's costs: on tickets, entered, total
    assert (
        "Sản xuất các sản phẩm truyền thông phục vụ tuyên truyền | 0 | 30.000.000 | 30.000.000"
        in body
    )
    assert "Tổng cộng | 3.900.000 | 30.000.000 | 33.900.000" in body
    assert "Tổng cộng | 153.900.000 |" in body  # 120 M + 1.5 M + 2.4 M + 30 M
    # the province: the other organisation entered nothing, so "mixed"
    fig = figures.collect(year, 2025, None, now=datetime(2025, 12, 15, tzinfo=UTC))
    _, body = texts(annual.write(fig, tmp_path / "p.docx"))
    assert "Vận hành | 120.000.000 | Nhập cho 1/2 đơn vị, còn lại theo chi phí năm nay" in body


# -- the API ------------------------------------------------------------------------

URL = "/api/v1/reports/budget"


def test_an_operator_enters_replaces_and_removes_an_estimate(as_: Any, api_db: str) -> None:
    op = as_("operator")
    put = op.put(f"{URL}/2027/estimate/operation", json={"amount_vnd": 120_000_000})
    assert put.status_code == 200, put.text
    assert put.json()["amount_vnd"] == 120_000_000
    assert put.json()["entered_by"] == "van.hanh"
    again = op.put(
        f"{URL}/2027/estimate/operation", json={"amount_vnd": 90_000_000, "note": "  bớt  "}
    )
    assert (again.json()["amount_vnd"], again.json()["note"]) == (90_000_000, "bớt")
    listed = op.get(URL, params={"year": 2027})
    assert [(e["line"], e["amount_vnd"]) for e in listed.json()] == [("operation", 90_000_000)]
    assert as_("viewer").get(URL, params={"year": 2027}).json() == listed.json()
    assert as_("district").get(URL, params={"year": 2027}).json() == []
    report = op.get("/api/v1/reports/annual", params={"year": 2026})
    assert "Vận hành | 90.000.000 | Do đơn vị nhập (van.hanh, 06/12/2026)" in docx_text(
        report.content
    )
    assert op.delete(f"{URL}/2027/estimate/operation").status_code == 204
    assert op.get(URL, params={"year": 2027}).json() == []
    with psycopg.connect(api_db) as conn:
        rows = conn.execute(
            "SELECT action, before->>'amount_vnd', after->>'amount_vnd' FROM audit_log"
            " WHERE action LIKE 'report.budget.%%' ORDER BY id"
        ).fetchall()
    assert rows == [
        ("report.budget.put", None, "120000000"),
        ("report.budget.put", "120000000", "90000000"),
        ("report.budget.delete", "90000000", None),
    ]


def test_a_province_admin_names_the_organisation(as_: Any, api_db: str) -> None:
    with psycopg.connect(api_db) as conn:
        org = conn.execute("SELECT id FROM organisations WHERE code = 'ubnd-phong-tho'").fetchone()
    assert org is not None
    admin = as_("admin")  # an account of no organisation
    response = admin.put(f"{URL}/2027/spent/content_production", json={"amount_vnd": 5})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "organisation_id"
    response = admin.put(
        f"{URL}/2026/spent/content_production",
        params={"organisation_id": org[0]},
        json={"amount_vnd": 5_000_000},
    )
    assert response.status_code == 200, response.text
    everything = admin.get(URL, params={"year": 2026, "basis": "spent"}).json()
    assert [(e["organisation_id"], e["line"]) for e in everything] == [
        (org[0], "content_production")
    ]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("2027/estimate/operation", {"amount_vnd": -1}, 422),
        ("2027/estimate/operation", {"amount_vnd": 10**15}, 422),
        ("2027/estimate/operation", {"amount_vnd": 1.5}, 422),
        ("2027/estimate/operation", {"amount_vnd": 1, "note": "x" * 501}, 422),
        ("2027/estimate/operation", {"amount_vnd": 1, "extra": 1}, 422),
        ("2027/estimate/operation", {}, 422),
        ("2027/estimate/lunch", {"amount_vnd": 1}, 422),
        ("2027/guess/operation", {"amount_vnd": 1}, 422),
        ("2019/estimate/operation", {"amount_vnd": 1}, 422),
        ("2101/estimate/operation", {"amount_vnd": 1}, 422),
    ],
    ids=[
        "negative",
        "too-large",
        "fraction",
        "long-note",
        "unknown-field",
        "no-amount",
        "unknown-line",
        "unknown-basis",
        "year-too-early",
        "year-too-late",
    ],
)
def test_bad_amounts_are_refused(as_: Any, path: str, body: Any, status: int) -> None:
    response = as_("operator").put(f"{URL}/{path}", json=body)
    assert response.status_code == status, response.text


def test_who_may_enter_amounts(as_: Any, api_db: str) -> None:
    with psycopg.connect(api_db) as conn:
        other = conn.execute(
            "SELECT id FROM organisations WHERE code = 'ubnd-phong-tho'"
        ).fetchone()
    assert other is not None
    body = {"amount_vnd": 1}
    for role in ("viewer", "technician", "guard"):
        assert as_(role).put(f"{URL}/2027/estimate/power", json=body).status_code == 403
    response = as_("operator").put(
        f"{URL}/2027/estimate/power", params={"organisation_id": other[0]}, json=body
    )
    assert response.status_code == 404  # another organisation's budget: not there for it
    response = as_("operator").get(URL, params={"year": 2027, "organisation_id": other[0]})
    assert response.status_code == 404
    assert as_("operator").delete(f"{URL}/2027/estimate/power").status_code == 404
