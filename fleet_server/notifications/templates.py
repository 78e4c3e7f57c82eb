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
    "ticket_due": Text("Phiếu bảo trì sắp đến hạn", "Maintenance ticket due soon"),
    "ticket_overdue": Text("Phiếu bảo trì quá hạn", "Maintenance ticket overdue"),
    "ticket_escalated": Text(
        "Phiếu bảo trì quá hạn, chuyển cấp xử lý", "Overdue maintenance ticket escalated"
    ),
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
    "cause": Text("Nguyên nhân", "Cause"),
    "details": Text("Số đo và chi tiết", "Readings and details"),
    "link": Text("Xem trên hệ thống", "Open in the console"),
}
#: The readings and facts a notice's ``details`` may carry, in the order
#: they are listed, with their label and how the value reads.
READING_LABELS: Mapping[str, Text] = {
    "boards_down": Text("Số bảng mất liên lạc", "Boards down"),
    "boards": Text("Các bảng", "Boards"),
    "last_seen_at": Text("Liên lạc lần cuối", "Last seen"),
    "mains_present": Text("Điện lưới", "Mains power"),
    "battery_percent": Text("Pin UPS", "UPS battery"),
    "runtime_s": Text("UPS còn chạy được", "UPS runtime left"),
    "signal_percent": Text("Sóng di động", "Mobile signal"),
    "rtt_ms": Text("Độ trễ mạng", "Network round trip"),
    "loss_percent": Text("Mất gói", "Packet loss"),
    "temperature_c": Text("Nhiệt độ bộ điều khiển", "Controller temperature"),
    "disk_percent": Text("Bộ nhớ đã dùng", "Disk used"),
    "rtt_avg": Text("Độ trễ mạng (trung bình)", "Network round trip (average)"),
    "loss_avg": Text("Mất gói (trung bình)", "Packet loss (average)"),
    "camera_id": Text("Camera", "Camera"),
    "status": Text("Trạng thái", "Status"),
    "firmware": Text("Phần mềm camera", "Camera firmware"),
    "luma_mean": Text("Độ sáng trung bình (0–255)", "Mean brightness (0–255)"),
    "same_count": Text("Số lần chụp giống nhau liên tiếp", "Identical captures in a row"),
    "reference_distance": Text(
        "Khác hình chuẩn (0–64)", "Distance from the reference picture (0–64)"
    ),
    "priority": Text("Độ ưu tiên", "Priority"),
    "assignee": Text("Người được giao", "Assigned to"),
    "team": Text("Tổ", "Team"),
    "due_at": Text("Hạn xử lý", "Due"),
    "overdue_s": Text("Quá hạn", "Overdue by"),
}
UNITS: Mapping[str, str] = {
    "battery_percent": " %",
    "signal_percent": " %",
    "loss_percent": " %",
    "disk_percent": " %",
    "rtt_ms": " ms",
    "rtt_avg": " ms",
    "loss_avg": " %",
    "temperature_c": " °C",
}
PRIORITY_LABELS: Mapping[str, Text] = {
    "urgent": Text("Khẩn", "Urgent"),
    "high": Text("Cao", "High"),
    "normal": Text("Bình thường", "Normal"),
    "low": Text("Thấp", "Low"),
}
YES_NO = (Text("không", "no"), Text("có", "yes"))
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


def format_span(seconds: float, language: Language) -> str:
    """``3 phút 15 giây`` / ``3 min 15 s``; hours and minutes past an hour."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    units = ("giờ", "phút", "giây") if language == "vi" else ("h", "min", "s")
    if hours:
        parts = [(hours, units[0]), (minutes, units[1])]
    else:
        parts = [(minutes, units[1]), (secs, units[2])] if minutes else [(secs, units[2])]
    return " ".join(f"{n} {u}" for n, u in parts if n or len(parts) == 1)


def render(notice: Notice, language: Language) -> Rendered:
    """Subject and text body of one notice for one language.

    The subject says what and where, each once: ``[Khẩn cấp] Sự cố toàn điểm
    lắp đặt: Toàn điểm mất liên lạc (mất điện lưới, 3 bảng) — Cửa khẩu Ma Lù
    Thàng``; a board is named by its name and id, unless the title names it."""
    label = KIND_LABELS[notice.kind].get(language)
    severity = SEVERITY_LABELS[notice.severity].get(language)
    title = notice.title.get(language)
    place = _place(notice, title, language)
    subject = f"[{severity}] {label}: {title}"
    if place:
        subject += f" — {place}"
    return Rendered(subject=_one_line(subject), body_text=_body(notice, language, label, severity))


def _body(notice: Notice, language: Language, label: str, severity: str) -> str:
    lines = [f"{label}: {notice.title.get(language)}", ""]
    fields: list[tuple[str, str | None]] = [
        ("site", notice.site_name.get(language) if notice.site_name else None),
        ("board", _board(notice)),
        ("cause", (notice.summary.get(language) or None) if notice.incident_id else None),
        ("time", format_time(notice.occurred_at, language)),
        ("severity", severity),
        ("class", _class_label(notice, language)),
        ("incident", f"#{notice.incident_id}" if notice.incident_id is not None else None),
        ("ticket", f"#{notice.ticket_id}" if notice.ticket_id is not None else None),
        ("escalation", ESCALATED.get(language) if notice.escalation_level else None),
    ]
    lines += [f"{FIELD_LABELS[key].get(language)}: {value}" for key, value in fields if value]
    summary = notice.summary.get(language)
    if summary and not notice.incident_id:
        lines += ["", summary]
    if notice.details:
        lines += ["", f"{FIELD_LABELS['details'].get(language)}:"]
        lines += [f"- {line}" for line in _readings(notice.details, language)]
    lines += ["", "--", FOOTER.get(language)]
    return "\n".join(lines) + "\n"


def _readings(details: Mapping[str, DetailValue], language: Language) -> list[str]:
    known = [key for key in READING_LABELS if key in details]
    others = [key for key in details if key not in READING_LABELS]
    lines = [
        f"{READING_LABELS[key].get(language)}: {reading(key, details[key], language)}"
        for key in known
    ]
    return lines + [f"{key}: {_detail(details[key])}" for key in others]


def reading(key: str, value: DetailValue, language: Language) -> str:
    """One reading as people read it: a time in Vietnam time, a duration in
    minutes, a percentage with its sign, yes or no."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return YES_NO[value].get(language)
    if key.endswith("_at") and isinstance(value, str):
        return _time_text(value, language)
    if key.endswith("_s") and isinstance(value, (int, float)):
        return format_span(value, language)
    if key == "priority" and isinstance(value, str) and value in PRIORITY_LABELS:
        return PRIORITY_LABELS[value].get(language)
    return _number(value, language) + UNITS.get(key, "")


def _time_text(value: str, language: Language) -> str:
    try:
        return format_time(datetime.fromisoformat(value), language)
    except ValueError:
        return value


def _number(value: str | int | float, language: Language) -> str:
    if not isinstance(value, float):
        return str(value)
    text = f"{value:.1f}".removesuffix(".0")
    return text.replace(".", ",") if language == "vi" else text


def _one_line(text: str, limit: int = 250) -> str:
    """A subject: no line breaks (a header), not absurdly long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _class_label(notice: Notice, language: Language) -> str | None:
    if notice.incident_class is None:
        return None
    return CLASS_LABELS[notice.incident_class].get(language)


def _board(notice: Notice) -> str | None:
    if notice.board_id and notice.board_name and notice.board_name != notice.board_id:
        return f"{notice.board_name} ({notice.board_id})"
    return notice.board_id


def _detail(value: DetailValue) -> str:
    return "—" if value is None else str(value)


def _place(notice: Notice, title: str, language: Language) -> str:
    """Where, for the subject: the board (unless the title names it
    already) and the site, each once."""
    parts: list[str] = []
    board = _board(notice)
    if board and (notice.board_id or "") not in title:
        parts.append(board)
    if notice.site_name is not None:
        site = notice.site_name.get(language)
        if site and site not in title:
            parts.append(site)
    return ", ".join(parts)


def link_for(payload: Mapping[str, Any], console_base_url: str | None) -> str | None:
    """The console page of a queued notice (its ``link_path`` under
    ``console_base_url``), or None without either."""
    path = payload.get("link_path")
    if not console_base_url or not isinstance(path, str) or not path.startswith("/"):
        return None
    return console_base_url.rstrip("/") + path


def _with_link(body: str, link: str | None, language: Language) -> str:
    """The body with the link to its console page before the footer."""
    if link is None:
        return body
    line = f"{FIELD_LABELS['link'].get(language)}: {link}"
    marker = f"\n--\n{FOOTER.get(language)}\n"
    if body.endswith(marker):
        return body.removesuffix(marker).rstrip("\n") + f"\n\n{line}\n{marker}"
    return body.rstrip("\n") + f"\n\n{line}\n"


def render_group(rows: Sequence[OutboxRow], console_base_url: str | None = None) -> Rendered:
    """What one message says: one row as queued, or a digest of several for
    one contact (same language), most severe first in the subject, in the
    order they were queued in the body. With ``console_base_url`` each
    notice carries the link to its console page."""
    language = rows[0].language
    if len(rows) == 1:
        link = link_for(rows[0].payload, console_base_url)
        return Rendered(rows[0].subject, _with_link(rows[0].body_text, link, language))
    place = _group_place([row.payload for row in rows], language)
    worst = _worst([row.payload.get("severity") for row in rows])
    severity = SEVERITY_LABELS[worst].get(language)
    count = len(rows)
    subject = _one_line(
        f"[{severity}] " + GROUP_SUBJECT.get(language).format(count=count, place=place)
    )
    parts = [GROUP_INTRO.get(language).format(count=count, place=place), ""]
    for number, row in enumerate(rows, start=1):
        body = _strip_footer(row.body_text, language)
        link = link_for(row.payload, console_base_url)
        if link:
            body += f"\n{FIELD_LABELS['link'].get(language)}: {link}"
        parts += [f"{number}. {row.subject}", body, ""]
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
