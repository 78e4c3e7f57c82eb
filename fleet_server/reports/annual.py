"""The annual report (Điều 14.1), or an ad hoc report over any period
(Điều 14.3), as a DOCX, section by section as the annex "ĐỀ CƯƠNG BÁO CÁO"
of the regulation lays it out, in Vietnamese. Times are Vietnam time.

The figures the platform knows are filled in; what only people know (the
documents issued, staffing decisions, the assessment, next year's plan,
the requests) is left as clearly marked, highlighted places to write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from docx import Document
from docx.document import Document as Doc
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.shared import Pt

from fleet_server.private_files import open_private
from fleet_server.reports import budget
from fleet_server.reports.figures import AnnualFigures, Availability
from fleet_server.reports.uptime import NONE
from fleet_server.reports.wording import (
    AVAILABILITY_RULE,
    CLASSES,
    COMPLIANCE,
    KINDS,
    ROLES,
    SEVERITIES,
    SITE_KINDS,
    TICKET_KINDS,
    at,
    availability_line,
    basis,
    hours,
    number,
    percent,
    ratio_cell,
    xml_text,
)

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
    _estimate(doc, fig)
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
    when = (
        f"từ ngày {fig.period.first_day:%d/%m/%Y} đến ngày {fig.period.last_day:%d/%m/%Y}"
        if fig.adhoc
        else f"năm {fig.year}"
    )
    sub.add_run(
        f"Hoạt động quản lý, vận hành cụm thông tin điện tử công cộng {when}{scope}"
    ).bold = True
    if fig.adhoc:
        kind = doc.add_paragraph()
        kind.alignment = WD_ALIGN_PARAGRAPH.CENTER
        kind.add_run(
            "Báo cáo đột xuất theo yêu cầu của cơ quan có thẩm quyền (Điều 14.3)"
        ).italic = True
    period = doc.add_paragraph()
    period.alignment = WD_ALIGN_PARAGRAPH.CENTER
    ended = fig.generated_at >= fig.period.end
    running = "" if ended else f" (kỳ chưa kết thúc: số liệu tính đến {at(fig.generated_at)})"
    period.add_run(
        f"Kỳ báo cáo: từ ngày {fig.period.first_day:%d/%m/%Y} đến ngày"
        f" {fig.period.last_day:%d/%m/%Y}{running}"
    ).italic = True


def _situation(doc: Doc, fig: AnnualFigures) -> None:
    kinds = ", ".join(
        f"{count} {SITE_KINDS.get(kind, kind)}" for kind, count in fig.sites_by_kind.items()
    )
    doc.add_paragraph(
        f"Số điểm đặt cụm thông tin điện tử công cộng: {fig.sites} ({kinds or 'không có'});"
        f" số bảng đang vận hành: {fig.boards}; số camera giám sát: {fig.cameras}."
    )
    doc.add_paragraph(availability_line(fig.fleet_uptime))
    doc.add_paragraph(AVAILABILITY_RULE).runs[0].italic = True
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
    """A row per site or board, then their exact total: section I's line."""
    total = sum((a.uptime for a in rows), NONE)
    _table(
        doc,
        (
            what,
            "Mã",
            "Giờ hoạt động",
            "Giờ ngừng",
            "Giờ không rõ",
            "Không rõ (% kỳ)",
            "Tỷ lệ hoạt động",
        ),
        [
            (
                a.name,
                a.code,
                hours(a.up_s),
                hours(a.down_s),
                hours(a.unknown_s),
                percent(a.uptime.unknown_share),
                ratio_cell(a.uptime),
            )
            for a in rows
        ]
        + [
            (
                "Tổng cộng",
                "",
                hours(total.up_s),
                hours(total.down_s),
                hours(total.unknown_s),
                percent(total.unknown_share),
                ratio_cell(total),
            )
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
    b = fig.budget
    doc.add_paragraph(
        "Kinh phí trong kỳ theo các khoản mục của Điều 11.1.b (nguồn điện, bảo trì, bảo dưỡng,"
        " sửa chữa, vận hành, đường truyền internet và sản xuất các sản phẩm truyền thông phục"
        " vụ tuyên truyền), đồng:"
    )
    _table(
        doc,
        ("Khoản mục", "Ghi trên phiếu bảo trì", "Đơn vị nhập thêm", "Cộng"),
        [
            *(
                (
                    budget.LINE_LABELS[s.line][0],
                    number(s.on_tickets),
                    number(s.entered),
                    number(s.total),
                )
                for s in b.spent
            ),
            (
                "Tổng cộng",
                number(sum((s.on_tickets for s in b.spent), Decimal(0))),
                number(sum((s.entered for s in b.spent), Decimal(0))),
                number(b.spent_total),
            ),
        ],
    )
    if b.entered_spent_left_out:
        doc.add_paragraph(
            "Báo cáo theo kỳ chỉ gồm chi phí ghi trên phiếu bảo trì trong kỳ; các khoản đơn vị"
            " nhập theo năm báo cáo (vận hành, sản xuất sản phẩm truyền thông…) có trong báo cáo"
            " năm."
        )


def _estimate(doc: Doc, fig: AnnualFigures) -> None:
    """Next year's estimate per line (Điều 11.1.b), and where each comes from."""
    b = fig.budget
    doc.add_paragraph(f"Dự toán kinh phí năm {b.estimate_year} theo các khoản mục, đồng:")
    _table(
        doc,
        ("Khoản mục", "Dự toán", "Căn cứ"),
        [
            *((budget.LINE_LABELS[e.line][0], number(e.amount), basis(e)) for e in b.estimates),
            ("Tổng cộng", number(b.estimate_total), ""),
        ],
    )
    if b.scale != 1:
        doc.add_paragraph(
            f"Khoản ước tính theo chi phí: chi phí của kỳ {fig.period.day_count} ngày quy đổi"
            " ra 365 ngày."
        )
    _placeholder(doc, "thuyết minh dự toán kinh phí năm tới")


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
        f" {at(fig.generated_at)} (giờ Việt Nam, UTC+7)."
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
