"""The kill switch's commands on the wire (Điều 12.2): their arguments,
checked the same way by server and agent, and the ``halted`` mark of a
display reading.

Điều 12.2, word for word: "Chủ trì quản lý, khai thác Cụm Thông tin điện tử
công cộng khu vực biên giới được giao quản lý. Xây dựng khung giờ phát, lịch
đăng phát trên cơ sở nội dung, đối tượng và địa bàn tuyên truyền đảm bảo hiệu
quả, phù hợp với tình hình thực tế. Tiếp nhận thông tin sự cố về kỹ thuật, an
ninh thông tin từ các cơ quan, đơn vị thực hiện nhiệm vụ quản lý và vận hành
các Cụm Thông tin điện tử công cộng khu vực biên giới được giao; áp dụng các
biện pháp cần thiết nhằm kịp thời ngăn chặn những thiệt hại hoặc báo cáo UBND
tỉnh và đề xuất phương án xử lý, khắc phục sự cố xảy ra vượt quá thẩm quyền
giải quyết."
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import fleet_protocol as fp

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", fp.KILL_SWITCH_COMMANDS)
def test_each_command_takes_a_reason(name: str) -> None:
    args = fp.check_kill_switch_args(name, {"reason": "tệp chưa duyệt\nđang phát"})
    assert args.reason == "tệp chưa duyệt\nđang phát"


@pytest.mark.parametrize(
    ("args", "detail"),
    [
        ({}, 'blank_screen: reason: required: {"reason": "why the board is stopped"}'),
        ({"reason": ""}, "blank_screen: reason: give a reason: it may not be empty"),
        (
            {"reason": " \t"},
            "blank_screen: reason: give a reason: it may not be empty or only spaces",
        ),
        ({"reason": None}, "blank_screen: reason: Input should be a valid string"),
        ({"reason": ["a"]}, "blank_screen: reason: Input should be a valid string"),
        ({"reason": "x" * 501}, "blank_screen: reason: at most 500 characters"),
        (
            {"reason": "a", "confirm": True},
            "blank_screen: confirm: unknown argument; only reason is allowed",
        ),
        (
            {"reason": "a\x00b"},
            "blank_screen: reason: text contains the control character U+0000 at position 1;"
            " of the control characters only tab, LF and CR are allowed",
        ),
        (
            {"reason": "see rtsp://admin:secret@10.0.0.5/"},
            "blank_screen: reason: text contains a URL with credentials; redact it on the board",
        ),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(args: dict[str, Any], detail: str) -> None:
    with pytest.raises(fp.ProtocolError) as refused:
        fp.check_kill_switch_args("blank_screen", args)
    assert (refused.value.reason, refused.value.detail) == ("invalid_args", detail)
    assert "secret" not in refused.value.detail


def test_only_kill_switch_commands_are_checked_here() -> None:
    with pytest.raises(fp.ProtocolError, match="'reboot' is not a kill-switch command"):
        fp.check_kill_switch_args("reboot", {"reason": "x"})


def test_a_blank_screen_request_round_trips() -> None:
    request = fp.CommandRequest(
        schema_version=1,
        device_id="lc-mlt-01",
        request_id="cmd-1",
        command="blank_screen",
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        args={"reason": "tệp chưa duyệt"},
    )
    topic = fp.command_topic("lc-mlt-01", "blank_screen")
    decoded = fp.decode(topic, fp.encode(request))
    assert decoded == request


def display(**data: Any) -> bytes:
    return json.dumps(
        {
            "schema_version": 1,
            "device_id": "lc-mlt-01",
            "boot": 1,
            "seq": 1,
            "measured_at": "2026-12-06T03:00:00Z",
            "sent_at": "2026-12-06T03:00:00Z",
            "data": {"player_running": False, **data},
        }
    ).encode()


def test_a_display_reading_says_the_board_is_halted() -> None:
    topic = fp.telemetry_topic("lc-mlt-01", fp.TelemetryKind.DISPLAY)
    message = fp.decode(topic, display(screen_on=False, halted="blank_screen"))
    assert isinstance(message, fp.DisplayMessage)
    assert message.data.halted == "blank_screen"
    with pytest.raises(fp.ProtocolError) as refused:
        fp.decode(topic, display(halted="off"))
    assert refused.value.reason == "invalid_payload"
    assert "data.halted: Input should be 'blank_screen' or 'stop_content'" in refused.value.detail


def test_a_board_that_is_not_halted_sends_the_same_bytes_as_before() -> None:
    """Compatibility: ``halted`` is left out when absent, so a server that
    predates it still takes every reading of a board that is never halted."""
    reading = fp.DisplayData(screen_on=True, player_running=True)
    assert "halted" not in reading.model_dump_json(exclude_none=True)
