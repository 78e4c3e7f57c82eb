"""Why a board is offline, in words: Vietnamese first, then English. The
notice, the API and the console's board and incident pages all say the
cause through these functions (``offline_cause`` holds codes and readings
only)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fleet_server.engine.offline_verdict import Cause, Explanation, Line
from fleet_server.localtime import LOCAL_TZ
from fleet_server.vocabulary import Language

#: cause code -> (Vietnamese, English)
CAUSES: dict[str, tuple[str, str]] = {
    "power": (
        "Nguồn điện: mất điện lưới và UPS đã cạn pin",
        "Power: the mains failed and the UPS ran out",
    ),
    "site_power": (
        "Mất điện cả điểm lắp đặt: mọi bảng tại điểm tắt cùng lúc",
        "Site power: every board at the site went down together",
    ),
    "site_uplink": (
        "Mất đường truyền cả điểm lắp đặt: mọi bảng tại điểm mất liên lạc cùng lúc",
        "Site uplink: every board at the site lost its connection together",
    ),
    "uplink": (
        "Đường truyền 4G của bảng bị mất",
        "4G uplink: the board's mobile link went down",
    ),
    "restart": (
        "Phần mềm trên bảng hoặc bộ điều khiển đã khởi động lại (treo hoặc lỗi)",
        "The agent or the board restarted (it crashed or hung)",
    ),
    "shutdown": (
        "Bảng được tắt chủ động",
        "Shut down on purpose",
    ),
    "platform": (
        "Phía máy chủ: broker hoặc ingest ngừng hoạt động, không phải do bảng",
        "Our side: the broker or ingest was down, not the board",
    ),
    "unknown": (
        "Chưa rõ nguyên nhân: không có đủ số liệu để kết luận",
        "Unknown: not enough evidence to say",
    ),
}
CONFIDENCE: dict[str, tuple[str, str]] = {
    "high": ("rất có thể", "very likely"),
    "medium": ("có thể", "likely"),
    "low": ("chưa chắc chắn", "possible"),
}
#: evidence line key -> (Vietnamese, English); ``{name}`` are the line's params
#: as read (``_values``); a missing one reads "…".
LINES: dict[str, tuple[str, str]] = {
    "mains_lost": (
        "mất điện lưới, bảng chạy pin UPS (pin {battery_percent}, còn chạy được {runtime_s})",
        "mains lost, the board ran on its UPS (battery {battery_percent}, runtime {runtime_s})",
    ),
    "ups_on_battery": (
        "vẫn chạy pin UPS: pin {battery_percent}, còn chạy được {runtime_s}",
        "still on the UPS: battery {battery_percent}, runtime {runtime_s}",
    ),
    "ups_low": (
        "UPS báo pin yếu: pin {battery_percent}, còn chạy được {runtime_s}",
        "the UPS reported low battery: {battery_percent}, runtime {runtime_s}",
    ),
    "runtime_out": (
        "thời gian chạy pin còn lại ({runtime_s}) hết vào lúc này, khi bảng mất liên lạc",
        "the UPS runtime left ({runtime_s}) ran out about now, when the board went",
    ),
    "ups_fine": (
        "mất điện lưới nhưng UPS còn pin {battery_percent} ({runtime_s}): không phải do nguồn",
        "mains lost but the UPS still had {battery_percent} ({runtime_s}): not the power",
    ),
    "no_ups": (
        "không có UPS báo số liệu: mất điện lưới là bảng tắt",
        "no UPS readings: without mains the board goes off",
    ),
    "mains_present": (
        "có điện lưới, không chạy pin UPS",
        "mains present, not on the UPS battery",
    ),
    "new_boot": (
        "bảng kết nối lại với lần khởi động mới (boot {boot})",
        "the board came back on a new boot ({boot})",
    ),
    "new_boot_board": (
        "lần khởi động mới (boot {boot}), bộ điều khiển mới bật được {uptime_s}: bảng đã"
        " khởi động lại",
        "a new boot ({boot}) with the controller up only {uptime_s}: the board rebooted",
    ),
    "new_boot_agent": (
        "lần khởi động mới (boot {boot}) nhưng bộ điều khiển đã chạy {uptime_s}: phần mềm"
        " (agent) khởi động lại, bảng không tắt",
        "a new boot ({boot}) but the controller had been up {uptime_s}: the agent"
        " restarted, the board stayed on",
    ),
    "clean_offline": (
        "bảng báo tắt bình thường ({reason})",
        "the board said it was stopping ({reason})",
    ),
    "will": (
        "broker báo bảng mất kết nối (last will, boot {boot})",
        "the broker delivered the board's last will (boot {boot})",
    ),
    "link_down": (
        "mạng của bảng mất kết nối (sóng {signal_percent})",
        "the board's link was down (signal {signal_percent})",
    ),
    "signal_fell": (
        "sóng di động giảm từ {from} xuống {to}",
        "the mobile signal fell from {from} to {to}",
    ),
    "signal_weak": (
        "sóng di động yếu: {signal_percent}",
        "weak mobile signal: {signal_percent}",
    ),
    "loss_rose": (
        "mất gói tăng lên {loss_percent} (độ trễ {rtt_ms})",
        "packet loss rose to {loss_percent} (round trip {rtt_ms})",
    ),
    "gap_link_down": (
        "số đo của bảng trong lúc mất liên lạc (gửi lại sau): mạng mất, mất gói {loss_percent},"
        " sóng {signal_percent}",
        "the board's own readings during the outage (sent later): link down, loss"
        " {loss_percent}, signal {signal_percent}",
    ),
    "gap_link_fine": (
        "trong lúc mất liên lạc mạng của bảng vẫn tốt: mất gói {loss_percent}, sóng"
        " {signal_percent}",
        "during the outage the board's own link was fine: loss {loss_percent}, signal"
        " {signal_percent}",
    ),
    "delivered_late": (
        "bảng vẫn chạy và gửi đúng giờ, nhưng bản tin đến máy chủ trễ {delay_s}",
        "the board kept running and sending on time, but its messages reached us {delay_s} late",
    ),
    "site_together": (
        "{down}/{total} bảng tại điểm mất liên lạc cùng lúc (trong {window_s})",
        "{down} of {total} boards at the site went down together (within {window_s})",
    ),
    "site_mains_lost": (
        "{boards}/{known} bảng tại điểm đã báo mất điện lưới",
        "{boards} of {known} boards at the site had reported mains lost",
    ),
    "site_mains_on": (
        "{boards} bảng tại điểm vẫn có điện lưới",
        "{boards} boards at the site still had mains power",
    ),
    "site_others_up": (
        "các bảng khác tại điểm ({boards}) vẫn hoạt động: không phải điện hay mạng của điểm",
        "the site's other boards ({boards}) stayed up: not the site's power or uplink",
    ),
    "fleet_silent": (
        "không nhận được tin từ bảng nào trong {boards} bảng khác ({sites} điểm) đang hoạt động",
        "nothing arrived from any of the {boards} other running boards ({sites} sites)",
    ),
    "fleet_heard": (
        "các bảng khác vẫn gửi tin bình thường ({heard}/{boards}): máy chủ vẫn nhận",
        "other boards were heard as usual ({heard} of {boards}): our side was receiving",
    ),
    "fleet_wave": (
        "{boards} bảng ở {sites} điểm khác cũng mất kết nối cùng lúc",
        "{boards} boards at {sites} other sites went at the same time",
    ),
    "platform_gap": (
        "{component} của máy chủ không hoạt động (đến {until})",
        "our {component} was down (until {until})",
    ),
    "platform_up": (
        "{component} của máy chủ vẫn hoạt động",
        "our {component} was up",
    ),
    "no_power_readings": (
        "không có số đo nguồn điện trước khi mất liên lạc",
        "no power readings before the loss",
    ),
    "no_network_readings": (
        "không có số đo mạng trước khi mất liên lạc",
        "no network readings before the loss",
    ),
    "nothing_abnormal": (
        "số đo trước khi mất liên lạc không có gì bất thường",
        "nothing abnormal in the readings before the loss",
    ),
}
_LEAD = ("Nguyên nhân có thể nhất", "Most likely cause")
_ALSO = ("Cũng có thể", "Also possible")
_AGAINST = ("Loại trừ", "Ruled out")
_UNITS_PERCENT = ("battery_percent", "signal_percent", "loss_percent", "from", "to")


def _pick(pair: tuple[str, str], language: Language) -> str:
    return pair[1] if language == "en" else pair[0]


def cause_words(code: str, language: Language) -> str:
    """A cause code in words (an unknown code reads as itself)."""
    return _pick(CAUSES[code], language) if code in CAUSES else code


def confidence_words(confidence: str, language: Language) -> str:
    return _pick(CONFIDENCE[confidence], language) if confidence in CONFIDENCE else confidence


def line_text(line: Line, language: Language) -> str:
    """One evidence line with its time: ``14:02:10 28/11: mất điện lưới, …``."""
    template = _pick(LINES[line.key], language) if line.key in LINES else line.key
    return f"{time_text(line.at, language)}: {template.format_map(_values(line.params, language))}"


def headline(explanation: Explanation, language: Language) -> str:
    """The most likely cause and its confidence, one sentence."""
    top = explanation.top
    return (
        f"{_pick(_LEAD, language)}: {cause_words(top.code, language)}"
        f" ({confidence_words(top.confidence, language)})."
    )


def cause_text(cause: Cause, language: Language) -> str:
    return f"{cause_words(cause.code, language)} ({confidence_words(cause.confidence, language)})"


def evidence_lines(explanation: Explanation, language: Language, limit: int = 6) -> list[str]:
    """The top cause's evidence, then the other causes and what was ruled
    out, each a line."""
    lines = [line_text(line, language) for line in explanation.top.lines[:limit]]
    others = explanation.causes[1:]
    if others:
        lines.append(
            f"{_pick(_ALSO, language)}: " + "; ".join(cause_text(c, language) for c in others)
        )
    lines += [
        f"{_pick(_AGAINST, language)}: {line_text(line, language)}"
        for line in explanation.ruled_out[:3]
    ]
    return lines


def sentence(explanation: Explanation, language: Language) -> str:
    """The headline and its evidence as one text (notices, the console)."""
    return "\n".join(
        [
            headline(explanation, language),
            *(f"- {x}" for x in evidence_lines(explanation, language)),
        ]
    )


def time_text(at: datetime, language: Language) -> str:
    local = at.astimezone(LOCAL_TZ)
    return local.strftime("%Y-%m-%d %H:%M:%S" if language == "en" else "%H:%M:%S %d/%m/%Y")


def span_text(seconds: float, language: Language) -> str:
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    units = ("giờ", "phút", "giây") if language == "vi" else ("h", "min", "s")
    if hours:
        return f"{hours} {units[0]} {minutes} {units[1]}"
    if minutes:
        return f"{minutes} {units[1]} {secs} {units[2]}" if secs else f"{minutes} {units[1]}"
    return f"{secs} {units[2]}"


def _values(params: Mapping[str, Any], language: Language) -> _Missing:
    values = _Missing()
    for key, value in params.items():
        values[key] = _value(key, value, language)
    return values


def _value(key: str, value: Any, language: Language) -> str:
    if value is None:
        return "?" if key != "until" else ("chưa rõ" if language == "vi" else "not yet known")
    if isinstance(value, bool):
        return ("có" if value else "không") if language == "vi" else ("yes" if value else "no")
    if isinstance(value, str) and key in ("until", "since"):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return time_text(value, language)
    if isinstance(value, (int, float)):
        return _number(key, value, language)
    return str(value)


def _number(key: str, value: float, language: Language) -> str:
    if key.endswith("_s"):
        return span_text(value, language)
    text = f"{float(value):.1f}".removesuffix(".0")
    if language == "vi":
        text = text.replace(".", ",")
    if key in _UNITS_PERCENT:
        return f"{text} %"
    return f"{text} ms" if key == "rtt_ms" else text


class _Missing(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return "…"
