"""A board dark by a kill-switch order (Điều 12.2) is not a dark display to
repair: the ``display_dark`` rule does not open an incident for it.

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

from datetime import time
from typing import Any

import pytest

import fleet_protocol as fp
from fleet_server.engine.telemetry_rules import BoardInputs, Reading
from tests.server.engine.test_telemetry_rules import NOW, observed

WINDOWS = [(time(6, 30), time(9, 30)), (time(16, 30), time(19, 30))]  # NOW is 08:00 local


@pytest.mark.parametrize(
    ("data", "dark"),
    [
        ({"screen_on": False, "player_running": False}, True),
        ({"screen_on": False, "player_running": False, "halted": "blank_screen"}, False),
        ({"screen_on": True, "player_running": False, "halted": "stop_content"}, False),
    ],
)
def test_a_board_halted_by_order_is_not_display_dark(data: dict[str, Any], dark: bool) -> None:
    display = Reading(fp.DisplayData(**data), NOW, NOW, NOW)
    result = observed(BoardInputs(display=display, windows=WINDOWS))
    assert result["display_dark"] is dark
