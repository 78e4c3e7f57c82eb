"""Subjects and plain-text bodies in Vietnamese (default) or English. No SQL here.

One notice is rendered once per recipient language when it is queued; a group
of queued rows for one contact is joined into a digest when it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fleet_server.localtime import LOCAL_TZ
from fleet_server.notifications.models import (
    DetailValue,
    Notice,
    NoticeKind,
    OutboxRow,
    Rendered,
    Text,
)
from fleet_server.vocabulary import SEVERITIES, Language, Severity

KIND_LABELS: Mapping[NoticeKind, Text] = {
    "incident_opened": Text("Sự cố mới", "New incident"),
    "incident_resolved": Text("Sự cố đã được khắc phục", "Incident resolved"),
    "incident_reminder": Text("Nhắc lại: sự cố chưa được khắc phục", "Reminder: incident open"),
    "incident_escalated": Text("Sự cố được chuyển cấp xử lý", "Incident escalated"),
    "ticket_assigned": Text("Phiếu bảo trì được giao", "Maintenance ticket assigned"),
    "ticket_due": Text("Phiếu bảo trì sắp đến hạn", "Maintenance ticket due"),
    "site_incident": Text("Sự cố toàn điểm lắp đặt", "Site-wide incident"),
    "report_deadline": Text("Sắp đến hạn báo cáo định kỳ", "Periodic report due soon"),
    "content_overdue": Text(
        "Đơn vị chưa gửi sản phẩm truyền thông đúng hạn", "Content supply overdue"
    ),
}
SEVERITY_LABELS: Mapping[str, Text] = {
    "critical": Text("Khẩn cấp", "Critical"),
    "major": Text("Nghiêm trọng", "Major"),
    "minor": Text("Nhẹ", "Minor"),
    "warning": Text("Cảnh báo", "Warning"),
}
CLASS_LABELS: Mapping[str, Text] = {
    "technical": Text("Kỹ thuật", "Technical"),
    "security": Text("An toàn thông tin", "Information security"),
    "compliance": Text("Tuân thủ thời lượng phát sóng", "Broadcast compliance"),
}
FIELD_LABELS: Mapping[str, Text] = {
    "severity": Text("Mức độ", "Severity"),
    "class": Text("Loại sự cố", "Incident class"),
    "site": Text("Điểm lắp đặt", "Site"),
    "board": Text("Bảng tin", "Board"),
    "time": Text("Thời điểm", "Time"),
    "incident": Text("Mã sự cố", "Incident"),
    "ticket": Text("Mã phiếu", "Ticket"),
    "escalation": Text("Cấp xử lý", "Escalation"),
    "details": Text("Chi tiết", "Details"),
}
ESCALATED = Text("Danh sách chuyển cấp", "escalation list")
FOOTER = Text(
    "Thư tự động từ hệ thống quản lý bảng tin điện tử công cộng tỉnh Lai Châu."
    " Vui lòng không trả lời thư này.",
    "Automatic message from the Lai Chau public information board fleet system."
    " Please do not reply.",
)
GROUP_SUBJECT = Text("{count} thông báo tại {place}", "{count} notifications at {place}")
GROUP_INTRO = Text(
    "Có {count} thông báo mới về {place}:", "There are {count} new notifications about {place}:"
)
UNKNOWN_PLACE = Text("nhiều điểm", "several sites")


def format_time(moment: datetime, language: Language) -> str:
    local = moment.astimezone(LOCAL_TZ)
    if language == "en":
        return local.strftime("%Y-%m-%d %H:%M (UTC+7)")
    return local.strftime("%H:%M ngày %d/%m/%Y (giờ Việt Nam)")


def render(notice: Notice, language: Language) -> Rendered:
    """Subject and text body of one notice for one language."""
    label = KIND_LABELS[notice.kind].get(language)
    severity = SEVERITY_LABELS[notice.severity].get(language)
    place = _place(notice.site_name, notice.board_id, language)
    subject = f"[{severity}] {label}: {notice.title.get(language)}"
    if place:
        subject += f" — {place}"
    return Rendered(subject=_one_line(subject), body_text=_body(notice, language, label, severity))


def _body(notice: Notice, language: Language, label: str, severity: str) -> str:
    lines = [f"{label}: {notice.title.get(language)}", ""]
    fields: list[tuple[str, str | None]] = [
        ("severity", severity),
        ("class", _class_label(notice, language)),
        ("site", notice.site_name.get(language) if notice.site_name else None),
        ("board", _board(notice)),
        ("time", format_time(notice.occurred_at, language)),
        ("incident", f"#{notice.incident_id}" if notice.incident_id is not None else None),
        ("ticket", f"#{notice.ticket_id}" if notice.ticket_id is not None else None),
        ("escalation", ESCALATED.get(language) if notice.escalation_level else None),
    ]
    lines += [f"{FIELD_LABELS[key].get(language)}: {value}" for key, value in fields if value]
    summary = notice.summary.get(language)
    if summary:
        lines += ["", summary]
    if notice.details:
        lines += ["", f"{FIELD_LABELS['details'].get(language)}:"]
        lines += [f"- {key}: {_detail(value)}" for key, value in notice.details.items()]
    lines += ["", "--", FOOTER.get(language)]
    return "\n".join(lines) + "\n"


def _one_line(text: str, limit: int = 250) -> str:
    """A subject: no line breaks (a header), not absurdly long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _class_label(notice: Notice, language: Language) -> str | None:
    if notice.incident_class is None:
        return None
    return CLASS_LABELS[notice.incident_class].get(language)


def _board(notice: Notice) -> str | None:
    if notice.board_id and notice.board_name:
        return f"{notice.board_name} ({notice.board_id})"
    return notice.board_id


def _detail(value: DetailValue) -> str:
    return "—" if value is None else str(value)


def _place(site_name: Text | None, board_id: str | None, language: Language) -> str:
    if site_name is not None:
        return site_name.get(language)
    return board_id or ""


def render_group(rows: Sequence[OutboxRow]) -> Rendered:
    """A digest of several queued rows for one contact (same language), most
    severe first in the subject, in the order they were queued in the body."""
    if len(rows) == 1:
        return Rendered(rows[0].subject, rows[0].body_text)
    language = rows[0].language
    place = _group_place([row.payload for row in rows], language)
    worst = _worst([row.payload.get("severity") for row in rows])
    severity = SEVERITY_LABELS[worst].get(language)
    count = len(rows)
    subject = _one_line(
        f"[{severity}] " + GROUP_SUBJECT.get(language).format(count=count, place=place)
    )
    parts = [GROUP_INTRO.get(language).format(count=count, place=place), ""]
    for number, row in enumerate(rows, start=1):
        parts += [f"{number}. {row.subject}", _strip_footer(row.body_text, language), ""]
    parts += ["--", FOOTER.get(language)]
    return Rendered(subject=subject, body_text="\n".join(parts) + "\n")


def _group_place(payloads: Sequence[Mapping[str, Any]], language: Language) -> str:
    names = {_payload_text(p.get("site_name"), language) for p in payloads}
    names.discard(None)
    if len(names) == 1:
        return str(names.pop())
    return UNKNOWN_PLACE.get(language)


def _payload_text(value: object, language: Language) -> str | None:
    if not isinstance(value, Mapping):
        return None
    text = value.get(language) or value.get("vi")
    return str(text) if text else None


def _worst(severities: Sequence[object]) -> Severity:
    known = [s for s in SEVERITIES if s in severities]
    return known[0] if known else "warning"


def _strip_footer(body: str, language: Language) -> str:
    marker = f"\n--\n{FOOTER.get(language)}\n"
    return body.removesuffix(marker).rstrip("\n")
