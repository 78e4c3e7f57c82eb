"""Incident titles as data: a rule's title is its ``title_key`` and
``title_params`` (the board, the day, the figures), rendered in the reader's
language when shown; the ``title`` column keeps the Vietnamese and English
text together ("vi / en", as before) for old clients and old rows.

Incidents a person reported have no key: their ``title`` is what the person
wrote. Rows from before titles were data have no key either; their title is
"vi / en" and :func:`of` shows the half in the reader's language.

``WHAT`` says what happened (no place): notices add the site and board
themselves; the full title adds the board (`` — lc-mlt-01``). ``RULES`` names
each rule in words for lists and filters (the console's ``rule.<name>``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

#: rule -> (Vietnamese, English): what the rule watches, in words.
RULES: dict[str, tuple[str, str]] = {
    "board_lost": ("Mất kết nối với bảng", "Board lost"),
    "board_stale": ("Bảng ngừng gửi nhịp tim", "Board heartbeat overdue"),
    "site_outage": ("Toàn điểm mất liên lạc", "Whole site down"),
    "mains_lost": ("Mất điện lưới", "Mains power lost"),
    "battery_low": ("Pin UPS yếu", "UPS battery low"),
    "network_degraded": ("Đường truyền kém", "Network degraded"),
    "camera_unreachable": ("Camera không trả lời", "Camera unreachable"),
    "display_dark": ("Màn hình tắt trong khung giờ phát", "Display dark during broadcast hours"),
    "clock_skew": ("Đồng hồ bảng lệch", "Board clock off"),
    "disk_full": ("Bộ nhớ gần đầy", "Disk nearly full"),
    "overheating": ("Bộ điều khiển quá nhiệt", "Controller overheating"),
    "agent_restarting": ("Phần mềm bảng khởi động lại liên tục", "Agent restarting repeatedly"),
    "spool_dropping": ("Bộ đệm bỏ bớt dữ liệu", "Agent spool dropping data"),
    "spool_degraded": ("Bộ đệm không ghi được đĩa", "Agent spool cannot write its disk"),
    "content_unapproved": ("Nội dung chưa được duyệt đang phát", "Unapproved content on screen"),
    "screen_black": ("Màn hình đen trong khung giờ phát", "Screen black during broadcast hours"),
    "screen_frozen": ("Màn hình đứng hình", "Screen frozen"),
    "screen_wrong_content": ("Màn hình hiển thị sai nội dung", "Screen shows the wrong content"),
    "camera_black": ("Camera mất hình (hình đen)", "Camera picture black"),
    "camera_frozen": ("Camera đứng hình", "Camera picture frozen"),
    "camera_covered": ("Camera bị che", "Camera covered"),
    "camera_moved": ("Camera bị xoay lệch hướng", "Camera turned away"),
    "camera_default_credentials": (
        "Camera còn dùng mật khẩu mặc định (QCVN 135:2024)",
        "Camera default credentials (QCVN 135:2024)",
    ),
    "camera_firmware_unknown": (
        "Camera không báo phiên bản firmware (QCVN 135:2024)",
        "Camera firmware unknown (QCVN 135:2024)",
    ),
    "data_budget_forecast": ("Dữ liệu 4G sắp vượt ngân sách tháng", "4G data forecast over budget"),
    "data_budget_spent": ("Đã dùng hết ngân sách dữ liệu 4G tháng", "4G data budget spent"),
    "broadcast_noncompliant": ("Không đủ thời lượng phát", "Broadcast time not met"),
    "advertising_share_exceeded": ("Quảng cáo vượt mức", "Advertising over its ceiling"),
    "security_reported": ("Báo sự cố an toàn thông tin", "Security incident reported"),
    "screen_reported": ("Báo sự cố màn hình", "Screen fault reported"),
    "camera_reported": ("Báo sự cố camera", "Camera fault reported"),
    "power_reported": ("Báo sự cố nguồn điện", "Power fault reported"),
    "network_reported": ("Báo sự cố mạng", "Network fault reported"),
    "other_reported": ("Báo sự cố khác", "Other fault reported"),
}

#: title key -> (Vietnamese, English) templates of what happened; ``{name}``
#: placeholders are the title's params, formatted for the language.
WHAT: dict[str, tuple[str, str]] = {
    "board_lost": ("Mất kết nối với bảng", "Board lost"),
    "board_stale": ("Bảng ngừng gửi nhịp tim", "Board heartbeat overdue"),
    "site_outage.power": (
        "Toàn điểm mất liên lạc (mất điện lưới, {boards} bảng)",
        "Whole site down (mains power, {boards} boards)",
    ),
    "site_outage.uplink": (
        "Toàn điểm mất liên lạc (mất đường truyền, {boards} bảng)",
        "Whole site down (uplink, {boards} boards)",
    ),
    "mains_lost": ("Mất điện lưới, bảng chạy bằng UPS", "Mains lost, running on UPS"),
    "battery_low": ("Pin UPS yếu", "UPS battery low"),
    "network_degraded": ("Đường truyền kém (mất gói/trễ cao)", "Network degraded (loss/RTT)"),
    "camera_unreachable": ("Camera không trả lời", "Camera unreachable"),
    "display_dark": ("Màn hình tắt trong khung giờ phát", "Display dark during broadcast hours"),
    "clock_skew": ("Đồng hồ bảng lệch quá 5 phút", "Board clock off by more than 5 minutes"),
    "disk_full": ("Bộ nhớ gần đầy", "Disk nearly full"),
    "overheating": ("Bộ điều khiển quá nhiệt", "Controller overheating"),
    "agent_restarting": ("Agent khởi động lại liên tục", "Agent restarting repeatedly"),
    "spool_dropping": ("Bộ đệm agent bỏ bớt dữ liệu", "Agent spool dropping data"),
    "spool_degraded": (
        "Bộ đệm agent không ghi được đĩa (đầy hoặc hỏng)",
        "Agent spool cannot write its disk (full or failing)",
    ),
    "content_unapproved": ("Nội dung chưa được duyệt đang phát", "Unapproved content on screen"),
    "screen_black": (
        "Màn hình đen trong khung giờ phát dù trình phát đang chạy",
        "Screen black during broadcast hours while the player runs",
    ),
    "screen_frozen": (
        "Màn hình đứng hình: cùng một khung hình dù nội dung đã chuyển",
        "Screen frozen: the same picture although the content moved on",
    ),
    "screen_wrong_content": (
        "Màn hình hiển thị khác nội dung đã duyệt đang phát",
        "Screen shows something other than the approved item on air",
    ),
    "camera_black": ("Camera {camera} mất hình (hình đen)", "Camera {camera}: picture black"),
    "camera_frozen": ("Camera {camera} đứng hình", "Camera {camera}: picture frozen"),
    "camera_covered": ("Camera {camera} bị che ống kính", "Camera {camera}: lens covered"),
    "camera_moved": (
        "Camera {camera} bị xoay lệch khỏi góc nhìn chuẩn",
        "Camera {camera} turned away from its reference view",
    ),
    "camera_default_credentials": (
        "Camera {camera} còn mở được bằng mật khẩu mặc định (QCVN 135:2024)",
        "Camera {camera} still opens with its default credentials (QCVN 135:2024)",
    ),
    "camera_firmware_unknown": (
        "Camera {camera} không báo phiên bản firmware (QCVN 135:2024)",
        "Camera {camera} reports no firmware version (QCVN 135:2024)",
    ),
    "data_budget_forecast": (
        "Dữ liệu 4G dự kiến vượt ngân sách tháng",
        "4G data forecast to exceed the month's budget",
    ),
    "data_budget_spent": (
        "Đã dùng hết ngân sách dữ liệu 4G của tháng",
        "The month's 4G data budget is spent",
    ),
    "broadcast_noncompliant": (
        "Không đủ thời lượng phát ngày {day}",
        "Broadcast time not met on {day}",
    ),
    "advertising_share_exceeded": (
        "Quảng cáo vượt mức ngày {day} ({share} % > {ceiling} %)",
        "Advertising over its ceiling on {day} ({share} % > {ceiling} %)",
    ),
}

#: Params that are days (ISO dates): dd/mm/yyyy in Vietnamese.
_DAYS = frozenset({"day"})
#: Params that are figures: a decimal comma in Vietnamese.
_FIGURES = frozenset({"share", "ceiling"})


def _figure(value: Any, language: str) -> str:
    number = float(value)
    text = f"{number:.1f}" if number != int(number) else f"{int(number)}"
    return text.replace(".", ",") if language == "vi" else text


def _param(name: str, value: Any, language: str) -> str:
    if name in _DAYS and isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value
        return f"{day:%d/%m/%Y}" if language == "vi" else day.isoformat()
    if name in _FIGURES and isinstance(value, (int, float)):
        return _figure(value, language)
    return str(value)


def what(key: str, params: Mapping[str, Any], language: str) -> str:
    """What happened, in ``language`` (KeyError for an unknown key; a missing
    param is left as its placeholder name, never an error)."""
    template = WHAT[key][1 if language == "en" else 0]
    values = {name: _param(name, value, language) for name, value in params.items()}
    return template.format_map(_Missing(values))


class _Missing(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return "…"


def render(key: str, params: Mapping[str, Any], language: str) -> str:
    """The whole title: what happened, then the board."""
    text = what(key, params, language)
    board = params.get("board")
    return f"{text} — {board}" if board else text


def legacy(key: str, params: Mapping[str, Any]) -> str:
    """The ``title`` column's text: Vietnamese, then English."""
    return f"{render(key, params, 'vi')} / {render(key, params, 'en')}"


def titled(key: str, **params: Any) -> dict[str, Any]:
    """An IncidentSpec's title fields: ``IncidentSpec(..., **titled("mains_lost", board=b))``."""
    if key not in WHAT:
        raise KeyError(f"no title {key!r}")
    return {"title": legacy(key, params), "title_key": key, "title_params": params}


def of(
    title: str,
    key: str | None,
    params: Mapping[str, Any] | None,
    language: str,
    *,
    bilingual: bool = True,
) -> str:
    """An incident's title in ``language``: from its key when it has one,
    else the half of an old "vi / en" title (``bilingual``), else the title
    as written (a person's words)."""
    if key and key in WHAT:
        return render(key, params or {}, language)
    if bilingual and " / " in title:
        vi, _, en = title.partition(" / ")
        return en.strip() if language == "en" and en.strip() else vi.strip()
    return title


def both(
    title: str, key: str | None, params: Mapping[str, Any] | None, *, bilingual: bool = True
) -> tuple[str, str]:
    """(Vietnamese, English) of what happened, without the board (notices
    name the place themselves)."""
    if key and key in WHAT:
        return what(key, params or {}, "vi"), what(key, params or {}, "en")
    return (
        of(title, key, params, "vi", bilingual=bilingual),
        of(title, key, params, "en", bilingual=bilingual),
    )
