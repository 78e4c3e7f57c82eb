"""The report's wording of its figures: Vietnamese numbers, percentages,
hours, the availability sentence and rule, and where an estimate comes from.
No figure is printed that the table beside it would contradict."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from fleet_server.localtime import LOCAL_TZ
from fleet_server.reports import budget
from fleet_server.reports.uptime import MIN_KNOWN_SHARE, Uptime

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

#: How the availability ratio is computed (section I and its tables).
AVAILABILITY_RULE = (
    "Cách tính: tỷ lệ hoạt động = giờ hoạt động / (giờ hoạt động + giờ ngừng), không tính thời"
    " gian bảo trì theo kế hoạch; thời gian không rõ trạng thái (không có dữ liệu từ bảng) không"
    " được tính vào tỷ lệ. Khi thời gian không rõ trạng thái chiếm quá"
    f" {MIN_KNOWN_SHARE * 100:.0f} % thời gian của kỳ, tỷ lệ không có ý nghĩa và không được nêu."
)
NOT_MEANINGFUL = "không có ý nghĩa"
ESTIMATE_BASIS = {
    "entered": "Do đơn vị nhập",
    "derived": "Ước tính theo chi phí năm nay",
    "mixed": "Nhập cho {entered}/{count} đơn vị, còn lại theo chi phí năm nay",
    "none": "—",
}


#: Characters XML 1.0 (and so DOCX) cannot hold; names are only length-checked.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` without the control characters a DOCX cannot hold."""
    return _NOT_XML.sub("", text)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %".replace(".", ",")


def hours(seconds: float) -> str:
    return number(seconds / 3600, 1)


def ratio_cell(u: Uptime) -> str:
    """The ratio, or why there is none (never a figure the row's hours belie)."""
    if u.ratio is None:
        return "—"
    return percent(u.ratio) if u.meaningful else NOT_MEANINGFUL


def availability_line(u: Uptime) -> str:
    """Section I's sentence: up, down and unknown hours, the rule, the ratio."""
    share = u.unknown_share
    head = (
        "Tỷ lệ hoạt động (khả dụng) của toàn bộ các bảng trong kỳ: hoạt động"
        f" {hours(u.up_s)} giờ, ngừng {hours(u.down_s)} giờ, không rõ trạng thái"
        f" {hours(u.unknown_s)} giờ ({percent(share or 0.0)} thời gian của kỳ, không tính vào"
        " tỷ lệ)"
    )
    if u.ratio is None:
        return head + "; tỷ lệ: không tính được — không có thời gian nào biết rõ trạng thái."
    if not u.meaningful:
        return (
            head + f"; tỷ lệ: {NOT_MEANINGFUL} — thời gian không rõ trạng thái chiếm"
            f" {percent(share)} thời gian của kỳ (quá {MIN_KNOWN_SHARE * 100:.0f} %), phần"
            " thời gian có dữ liệu quá nhỏ để nói về cả kỳ."
        )
    return head + f"; tỷ lệ: {percent(u.ratio)}."


def at(moment: datetime) -> str:
    """A moment in Vietnam time: 09:30 ngày 15/12/2025."""
    return f"{moment.astimezone(LOCAL_TZ):%H:%M ngày %d/%m/%Y}"


def number(value: float | int | Decimal, digits: int = 0) -> str:
    """Vietnamese number format: 1.234.567,8"""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def basis(e: budget.Estimate) -> str:
    text = ESTIMATE_BASIS[e.basis].format(entered=e.entered_for, count=e.organisations)
    if e.entry is not None:
        when = e.entry.entered_at.astimezone(LOCAL_TZ)
        text += f" ({xml_text(e.entry.entered_by)}, {when:%d/%m/%Y})"
    return text
