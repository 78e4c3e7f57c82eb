"""The annual report (Điều 14) as a DOCX, section by section as the annex
"ĐỀ CƯƠNG BÁO CÁO" of the regulation lays it out, in Vietnamese.

The figures the platform knows are filled in; what only people know (the
documents issued, staffing decisions, the assessment, next year's plan,
the requests) is left as clearly marked, highlighted places to write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from docx import Document
from docx.document import Document as Doc
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.shared import Pt

from fleet_server.private_files import open_private
from fleet_server.reports.figures import AnnualFigures, Availability

#: The outline's headings, in order (the annex of the regulation).
OUTLINE: tuple[tuple[int, str], ...] = (
    (1, "I. ĐẶC ĐIỂM TÌNH HÌNH"),
    (1, "II. KẾT QUẢ THỰC HIỆN"),
    (2, "1. Công tác xây dựng, ban hành văn bản quản lý, vận hành Cụm thông tin điện tử công cộng"),
    (2, "2. Việc thực hiện bố trí nhân sự quản lý, vận hành Cụm thông tin điện tử công cộng"),
    (2, "3. Xây dựng nội dung chương trình đăng tải trên Cụm thông tin điện tử công cộng"),
    (2, "4. Thực hiện tổ chức đăng tải chương trình do Sở Thông tin và Truyền thông cung cấp"),
    (2, "5. Kinh phí thực hiện duy trì hằng năm"),
    (1, "III. ĐÁNH GIÁ CHUNG"),
    (2, "1. Thuận lợi, khó khăn"),
    (2, "2. Hạn chế, tồn tại; nguyên nhân"),
    (2, "3. Giải pháp thực hiện"),
    (1, "IV. PHƯƠNG HƯỚNG NHIỆM VỤ NĂM TỚI"),
    (1, "V. ĐỀ XUẤT, KIẾN NGHỊ"),
    (2, "1. Kiến nghị Ủy ban nhân dân tỉnh"),
    (2, "2. Kiến nghị Bộ Thông tin và Truyền thông"),
)

PLACEHOLDER = "[ĐƠN VỊ BÁO CÁO VIẾT NỘI DUNG / TO BE WRITTEN: {what}]"

SITE_KINDS = {
    "border_gate": "cửa khẩu",
    "district_centre": "trung tâm huyện",
    "city": "thành phố",
    "other": "khác",
}
ROLES = {
    "admin": "quản trị",
    "operator": "vận hành",
    "technician": "kỹ thuật",
    "border_guard": "biên phòng",
    "viewer": "xem",
}
COMPLIANCE = (
    ("compliant", "Đạt"),
    ("non_compliant", "Không đạt"),
    ("unknown", "Không đủ dữ liệu"),
    ("exempt", "Phát khẩn cấp (Điều 8.2)"),
    ("no_windows", "Chưa đặt khung giờ"),
    ("pending", "Chưa kết thúc"),
)
KINDS = {"propaganda": "Tuyên truyền", "advertising": "Quảng cáo", "emergency": "Khẩn cấp"}
CLASSES = {
    "technical": "Kỹ thuật",
    "security": "An toàn thông tin",
    "compliance": "Thời lượng phát",
}
SEVERITIES = {"critical": "Nghiêm trọng", "major": "Lớn", "minor": "Nhỏ", "warning": "Cảnh báo"}
TICKET_KINDS = {
    "corrective": "Sửa chữa",
    "preventive": "Bảo dưỡng định kỳ",
    "inspection": "Kiểm tra",
}
# The budget lines of Điều 11.
COST_LINES = (
    ("power", "Điện năng"),
    ("maintenance", "Bảo trì, bảo dưỡng"),
    ("repair", "Sửa chữa, thay thế"),
    ("internet", "Đường truyền Internet"),
    ("other", "Vận hành, chi phí khác"),
)


#: Characters XML 1.0 (and so DOCX) cannot hold; names are only length-checked.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` without the control characters a DOCX cannot hold."""
    return _NOT_XML.sub("", text)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %".replace(".", ",")


def number(value: float | int | Decimal, digits: int = 0) -> str:
    """Vietnamese number format: 1.234.567,8"""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def write(fig: AnnualFigures, path: Path) -> Path:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)
    _front(doc, fig)
    headings = iter(OUTLINE)

    def heading() -> None:
        level, text = next(headings)
        doc.add_heading(text, level=level)

    heading()  # I
    _situation(doc, fig)
    heading()  # II
    heading()  # II.1
    _placeholder(doc, "các văn bản quản lý, vận hành đã ban hành trong năm")
    heading()  # II.2
    _staffing(doc, fig)
    heading()  # II.3
    _content(doc, fig)
    heading()  # II.4
    _department(doc, fig)
    heading()  # II.5
    _costs(doc, fig)
    heading()  # III
    heading()  # III.1
    _placeholder(doc, "thuận lợi, khó khăn trong năm")
    heading()  # III.2
    _problems(doc, fig)
    heading()  # III.3
    _placeholder(doc, "giải pháp thực hiện")
    heading()  # IV
    _placeholder(doc, "phương hướng, nhiệm vụ năm tới")
    heading()  # V
    heading()  # V.1
    _placeholder(doc, "kiến nghị Ủy ban nhân dân tỉnh")
    heading()  # V.2
    _placeholder(doc, "kiến nghị Bộ Thông tin và Truyền thông")
    _footer(doc, fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Names and costs of an organisation's staff: not for other users.
    with open_private(path, "wb") as out:
        doc.save(out)
    return path


def _front(doc: Doc, fig: AnnualFigures) -> None:
    unit = fig.organisation[2] if fig.organisation else "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text = xml_text(unit.upper())
    table.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    table.cell(1, 0).text = "Số:      /BC-…"
    table.cell(1, 1).text = "Lai Châu, ngày … tháng … năm ……"
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.add_run("BÁO CÁO").bold = True
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    scope = "" if fig.organisation else " (tổng hợp toàn tỉnh)"
    sub.add_run(
        f"Hoạt động quản lý, vận hành cụm thông tin điện tử công cộng năm {fig.year}{scope}"
    ).bold = True
    period = doc.add_paragraph()
    period.alignment = WD_ALIGN_PARAGRAPH.CENTER
    period.add_run(
        f"Kỳ báo cáo: từ ngày {fig.period.first_day:%d/%m/%Y} đến ngày"
        f" {fig.period.last_day:%d/%m/%Y}"
    ).italic = True


def _situation(doc: Doc, fig: AnnualFigures) -> None:
    kinds = ", ".join(
        f"{count} {SITE_KINDS.get(kind, kind)}" for kind, count in fig.sites_by_kind.items()
    )
    doc.add_paragraph(
        f"Số điểm đặt cụm thông tin điện tử công cộng: {fig.sites} ({kinds or 'không có'});"
        f" số bảng đang vận hành: {fig.boards}; số camera giám sát: {fig.cameras}."
    )
    doc.add_paragraph(
        "Tỷ lệ hoạt động (khả dụng) của toàn bộ các bảng trong kỳ, không tính thời gian"
        f" bảo trì theo kế hoạch: {percent(fig.fleet_availability)}."
    )
    if not fig.organisation and fig.organisations:
        _table(
            doc,
            ("Đơn vị quản lý", "Số điểm", "Số bảng"),
            [(name, str(sites), str(boards)) for _c, name, sites, boards in fig.organisations],
        )
    doc.add_paragraph("Tỷ lệ hoạt động theo điểm đặt:")
    _availability_table(doc, fig.site_availability, "Điểm đặt")
    doc.add_paragraph("Tỷ lệ hoạt động theo bảng:")
    _availability_table(doc, fig.board_availability, "Bảng")
    _placeholder(doc, "đặc điểm tình hình của đơn vị trong năm")


def _availability_table(
    doc: Doc,
    rows: Sequence[Availability],
    what: str,
) -> None:
    _table(
        doc,
        (what, "Mã", "Giờ hoạt động", "Giờ ngừng", "Giờ không rõ", "Tỷ lệ hoạt động"),
        [
            (
                a.name,
                a.code,
                number(a.up_s / 3600, 1),
                number(a.down_s / 3600, 1),
                number(a.unknown_s / 3600, 1),
                percent(a.availability),
            )
            for a in rows
        ],
    )


def _staffing(doc: Doc, fig: AnnualFigures) -> None:
    roles = ", ".join(
        f"{ROLES.get(role, role)}: {count}" for role, count in fig.accounts_by_role.items()
    )
    total = sum(fig.accounts_by_role.values())
    doc.add_paragraph(
        f"Số tài khoản cá nhân quản lý, vận hành trên hệ thống: {total}"
        f" ({roles or 'không có'}). Mỗi tài khoản gắn với một người chịu trách nhiệm"
        " (Điều 9.2); mọi đăng nhập và thao tác được ghi nhật ký."
    )
    _placeholder(doc, "bố trí nhân sự quản lý, vận hành")


def _content(doc: Doc, fig: AnnualFigures) -> None:
    doc.add_paragraph("Thời lượng phát trong kỳ theo loại nội dung:")
    _table(
        doc,
        ("Loại nội dung", "Số lượt phát", "Số giờ phát"),
        [
            (KINDS.get(kind, kind), number(plays), number(hours, 1))
            for kind, (plays, hours) in fig.content_by_kind.items()
        ],
    )
    doc.add_paragraph(f"Tỷ lệ thời lượng quảng cáo: {percent(fig.advertising_share)}.")
    if fig.content_by_language:
        langs = "; ".join(
            f"{lang}: {number(hours, 1)} giờ" for lang, hours in fig.content_by_language.items()
        )
        doc.add_paragraph(f"Theo ngôn ngữ: {langs}.")
    doc.add_paragraph(
        "Thời lượng phát theo khung giờ quy định (Điều 8.1: tối thiểu 3 giờ buổi sáng"
        " và 3 giờ buổi chiều) — số ngày-bảng:"
    )
    _table(
        doc,
        ("Kết quả", "Số ngày-bảng"),
        [(label, number(fig.compliance.get(status, 0))) for status, label in COMPLIANCE],
    )
    if fig.compliance_by_site:
        _table(
            doc,
            ("Điểm đặt", "Đạt", "Không đạt", "Không đủ dữ liệu"),
            [
                (
                    name,
                    number(counts.get("compliant", 0)),
                    number(counts.get("non_compliant", 0)),
                    number(counts.get("unknown", 0)),
                )
                for name, counts in fig.compliance_by_site
            ],
        )
    _placeholder(doc, "việc xây dựng nội dung chương trình")


def _department(doc: Doc, fig: AnnualFigures) -> None:
    doc.add_paragraph(
        f"Số nội dung do Sở Thông tin và Truyền thông cung cấp đã đăng tải: {fig.department_items};"
        f" tổng thời lượng: {number(fig.department_hours, 1)} giờ; số bảng đã phát:"
        f" {fig.department_boards}."
    )
    if fig.department_top:
        _table(
            doc,
            ("Nội dung", "Số giờ phát"),
            [(title, number(hours, 1)) for title, hours in fig.department_top],
        )
    _placeholder(doc, "việc tổ chức đăng tải chương trình do Sở cung cấp")


def _costs(doc: Doc, fig: AnnualFigures) -> None:
    tickets = ", ".join(
        f"{TICKET_KINDS.get(kind, kind)}: {count}" for kind, count in fig.tickets_by_kind.items()
    )
    doc.add_paragraph(
        f"Số phiếu bảo trì, sửa chữa trong kỳ: {sum(fig.tickets_by_kind.values())}"
        f" ({tickets or 'không có'})."
    )
    doc.add_paragraph("Kinh phí đã ghi nhận theo các khoản mục (Điều 11), đồng:")
    _table(
        doc,
        ("Khoản mục", "Số tiền (đồng)"),
        [
            *(
                (label, number(fig.costs_by_category.get(key, Decimal(0))))
                for key, label in COST_LINES
            ),
            ("Tổng cộng", number(fig.total_cost)),
        ],
    )
    _placeholder(doc, "dự toán kinh phí duy trì năm tới")


def _problems(doc: Doc, fig: AnnualFigures) -> None:
    total = sum(count for _c, _s, count, _a, _r in fig.incidents)
    doc.add_paragraph(f"Số sự cố ghi nhận trong kỳ: {total}.")
    _table(
        doc,
        ("Loại sự cố", "Mức độ", "Số sự cố", "TG tiếp nhận TB (phút)", "TG khắc phục TB (phút)"),
        [
            (
                CLASSES.get(klass, klass),
                SEVERITIES.get(severity, severity),
                number(count),
                "—" if ack is None else number(ack, 1),
                "—" if res is None else number(res, 1),
            )
            for klass, severity, count, ack, res in fig.incidents
        ],
    )
    failed = fig.compliance.get("non_compliant", 0)
    doc.add_paragraph(f"Số ngày-bảng không đạt thời lượng phát theo quy định: {failed}.")
    _placeholder(doc, "hạn chế, tồn tại và nguyên nhân")


def _footer(doc: Doc, fig: AnnualFigures) -> None:
    doc.add_paragraph(
        f"Số liệu do hệ thống quản lý cụm thông tin điện tử công cộng tổng hợp lúc"
        f" {fig.generated_at:%H:%M ngày %d/%m/%Y} (giờ UTC)."
    ).runs[0].italic = True


def _placeholder(doc: Doc, what: str) -> None:
    run = doc.add_paragraph().add_run(PLACEHOLDER.format(what=what))
    run.italic = True
    run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _table(
    doc: Doc,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = xml_text(text)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = xml_text(text)
