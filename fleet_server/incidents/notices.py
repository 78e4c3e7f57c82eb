"""What a notice about an incident says besides its title: where (the site's
and board's names), why (the cause in words, Vietnamese first), the key
readings (last contact, UPS battery and runtime, mobile signal…) and the
console page it links to. ``lifecycle.notice`` adds these to every incident
notice; the texts are rendered by ``notifications.templates``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet_server.engine import offline_verdict, offline_words
from fleet_server.incidents import storage_notices
from fleet_server.incidents.models import Incident
from fleet_server.incidents.storage import Conn
from fleet_server.incidents.storage_notices import BoardReadings, NoticePlace
from fleet_server.notifications.models import DetailValue, Text

#: rule -> (Vietnamese, English): the cause in words; ``{name}`` are the
#: incident's details (a missing one reads "…").
CAUSES: dict[str, tuple[str, str]] = {
    "board_lost": (
        "Máy chủ mất kết nối với bảng: bảng không còn gửi tín hiệu qua mạng.",
        "The server lost its connection to the board: nothing arrives from it any more.",
    ),
    "board_stale": (
        "Bảng không gửi nhịp tim đúng hạn: có thể treo phần mềm hoặc mạng chập chờn.",
        "The board's heartbeats are overdue: its software may hang or its link flicker.",
    ),
    "site_outage.power": (
        "Mất điện lưới tại điểm: {boards_down} bảng mất liên lạc cùng lúc sau khi báo mất"
        " điện lưới.",
        "Mains power lost at the site: {boards_down} boards went silent together after"
        " reporting mains lost.",
    ),
    "site_outage.uplink": (
        "Mất đường truyền tại điểm: {boards_down} bảng mất liên lạc cùng lúc trong khi vẫn"
        " có điện lưới.",
        "Uplink lost at the site: {boards_down} boards went silent together while mains"
        " power was on.",
    ),
    "mains_lost": (
        "Mất điện lưới; bảng đang chạy bằng pin UPS.",
        "Mains power lost; the board runs on its UPS battery.",
    ),
    "battery_low": (
        "Pin UPS yếu; bảng sẽ tắt khi pin cạn.",
        "UPS battery low; the board shuts down when it runs out.",
    ),
    "network_degraded": (
        "Đường truyền kém: mất gói hoặc độ trễ cao.",
        "Network degraded: packet loss or a long round trip.",
    ),
    "camera_unreachable": (
        "Camera {camera_id} không trả lời ({status}).",
        "Camera {camera_id} does not answer ({status}).",
    ),
    "display_dark": (
        "Màn hình tắt hoặc trình phát không chạy trong khung giờ phát.",
        "The screen is off or the player stopped during broadcast hours.",
    ),
    "clock_skew": (
        "Đồng hồ của bảng lệch {skew_s} giây so với máy chủ.",
        "The board's clock is {skew_s} s off the server's.",
    ),
    "disk_full": (
        "Bộ nhớ của bảng đã dùng {disk_percent} %.",
        "The board's disk is {disk_percent} % full.",
    ),
    "overheating": (
        "Bộ điều khiển nóng {temperature_c} °C.",
        "The controller runs at {temperature_c} °C.",
    ),
    "agent_restarting": (
        "Phần mềm trên bảng khởi động lại {boots} lần trong một giờ.",
        "The board's software restarted {boots} times within an hour.",
    ),
    "spool_dropping": (
        "Bộ đệm của bảng đã bỏ {dropped} bản tin trong giờ qua.",
        "The board's spool dropped {dropped} messages in the last hour.",
    ),
    "spool_degraded": (
        "Bộ đệm của bảng không ghi được đĩa (đầy hoặc hỏng); mất kết nối lúc này sẽ mất dữ liệu.",
        "The board's spool cannot write its disk (full or failing); an outage now loses data.",
    ),
    "screen_black": (
        "Màn hình đen trong khung giờ phát dù trình phát báo đang chạy (độ sáng trung bình"
        " {luma_mean}/255).",
        "The screen is black during broadcast hours although the player says it is playing"
        " (mean brightness {luma_mean}/255).",
    ),
    "screen_frozen": (
        "Màn hình đứng hình: {same_count} lần chụp liên tiếp cho cùng một hình trong khi nội"
        " dung đã đổi.",
        "The screen is frozen: {same_count} captures in a row show the same picture while the"
        " content changed.",
    ),
    "screen_wrong_content": (
        "Hình trên màn hình khác với nội dung đã duyệt đang phát (khoảng cách {reference_distance}"
        "/64).",
        "What is on the screen differs from the approved item on air (distance"
        " {reference_distance}/64).",
    ),
    "camera_black": (
        "Camera {camera_id} cho hình đen.",
        "Camera {camera_id} shows a black picture.",
    ),
    "camera_frozen": (
        "Camera {camera_id} đứng hình: {same_count} khung hình liên tiếp giống hệt nhau.",
        "Camera {camera_id} is frozen: {same_count} identical frames in a row.",
    ),
    "camera_covered": (
        "Camera {camera_id} bị che: hình sáng nhưng phẳng, không có chi tiết.",
        "Camera {camera_id} is covered: a bright but flat picture without detail.",
    ),
    "camera_moved": (
        "Camera {camera_id} bị xoay khỏi góc nhìn chuẩn (khoảng cách {reference_distance}/64).",
        "Camera {camera_id} has been turned away from its reference view (distance"
        " {reference_distance}/64).",
    ),
    "camera_default_credentials": (
        "Camera {camera_id} vẫn mở được bằng tài khoản mặc định của nhà sản xuất (QCVN 135:2024).",
        "Camera {camera_id} still opens with the maker's default account (QCVN 135:2024).",
    ),
    "camera_firmware_unknown": (
        "Camera {camera_id} không cho biết phiên bản phần mềm (QCVN 135:2024).",
        "Camera {camera_id} reports no firmware version (QCVN 135:2024).",
    ),
    "data_budget_forecast": (
        "Với mức dùng hiện nay, bảng sẽ dùng {forecast_mb} MB dữ liệu 4G trong tháng,"
        " vượt ngân sách {budget_mb} MB (đã dùng {used_mb} MB).",
        "At its current use the board will move {forecast_mb} MB of 4G data this month,"
        " over its {budget_mb} MB budget ({used_mb} MB used).",
    ),
    "data_budget_spent": (
        "Bảng đã dùng {used_mb} MB dữ liệu 4G, hết ngân sách {budget_mb} MB của tháng.",
        "The board has moved {used_mb} MB of 4G data, its whole {budget_mb} MB budget"
        " for the month.",
    ),
    "content_unapproved": (
        "Nội dung đang phát không có trong danh mục đã được phê duyệt (Điều 9.3).",
        "What is on screen is not in the approved registry (Điều 9.3).",
    ),
}
#: Incident details worth showing beside the readings, as they were when it opened.
_DETAIL_KEYS = (
    "battery_percent",
    "temperature_c",
    "disk_percent",
    "camera_id",
    "status",
    "rtt_avg",
    "loss_avg",
    "luma_mean",
    "same_count",
    "reference_distance",
    "firmware",
)


def described(conn: Conn, incident: Incident) -> dict[str, Any]:
    """The ``Notice`` fields that say where, why and what was measured, and
    its console page."""
    link = {"link_path": f"/incidents/{incident.id}"}
    place = storage_notices.place_of(conn, incident.id)
    if place is None:
        return link
    readings = readings_of(incident, place)
    return {
        **link,
        "site_name": Text(place.site_name, place.site_name_en) if place.site_name else None,
        "board_name": place.board_name,
        "summary": _with_offline_cause(
            cause(incident.rule, {**place.details, **readings}), place.details
        ),
        "details": readings,
    }


def _with_offline_cause(summary: Text, details: Mapping[str, Any]) -> Text:
    """A lost board's or a site's notice: after what the rule says, the
    likely cause the engine found and its evidence (``offline_words``)."""
    stored = details.get("offline_cause")
    if not isinstance(stored, dict):
        return summary
    explanation = offline_verdict.from_json(stored)
    vi, en = (offline_words.sentence(explanation, language) for language in ("vi", "en"))
    return Text(f"{summary.vi}\n{vi}".lstrip(), f"{summary.en or ''}\n{en}".lstrip())


def cause(rule: str, values: Mapping[str, Any]) -> Text:
    """The cause in words, Vietnamese and English; empty for a rule without
    one (a person's report says it in its own words)."""
    key = rule
    if rule == "site_outage":
        key = f"site_outage.{values.get('cause')}"
    if key not in CAUSES:
        return Text("")
    vi, en = CAUSES[key]
    filled = _Missing({k: _plain(v) for k, v in values.items()})
    return Text(vi.format_map(filled), en.format_map(filled))


def readings_of(incident: Incident, place: NoticePlace) -> dict[str, DetailValue]:
    """The key readings: boards down (a site), last contact, power (mains,
    UPS battery and runtime), mobile signal and round trip, then the
    incident's own figures."""
    found: dict[str, DetailValue] = {}
    boards = [r.board_id for r in place.readings]
    if incident.board_id is None and boards:
        named = place.details.get("boards")
        down = [str(b) for b in named] if isinstance(named, list) else boards
        found["boards_down"] = len(down)
        found["boards"] = ", ".join(down)
    seen = [r.last_seen_at for r in place.readings if r.last_seen_at is not None]
    if seen:
        found["last_seen_at"] = max(seen).isoformat()
    power = _newest(place.readings, "power")
    if power is not None:
        found["mains_present"] = power.power.get("mains_present")
        found["battery_percent"] = power.power.get("battery_percent")
        found["runtime_s"] = power.power.get("runtime_s")
    network = _newest(place.readings, "network")
    if network is not None:
        lte = network.network.get("lte")
        found["signal_percent"] = lte.get("signal_percent") if isinstance(lte, dict) else None
        found["rtt_ms"] = network.network.get("rtt_ms")
        found["loss_percent"] = network.network.get("loss_percent")
    for key in _DETAIL_KEYS:
        value = place.details.get(key)
        if found.get(key) is None and isinstance(value, (str, int, float, bool)):
            found[key] = value
    return {k: v for k, v in found.items() if v is not None}


def _newest(readings: list[BoardReadings], kind: str) -> BoardReadings | None:
    attr = f"{kind}_at"
    with_data = [r for r in readings if getattr(r, kind) and getattr(r, attr) is not None]
    return max(with_data, key=lambda r: getattr(r, attr), default=None)


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0")
    return "…" if value is None else str(value)


class _Missing(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return "…"
