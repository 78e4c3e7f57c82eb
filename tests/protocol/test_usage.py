"""The data usage a board reports (fleet_protocol.usage): bounds, consistency,
and the forecast both sides use."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

import fleet_protocol as fp
import fleet_protocol.usage as fu

GOOD: dict[str, Any] = {
    "day": "2026-12-10",
    "day_sent": 100,
    "day_received": 200,
    "month": "2026-12",
    "month_sent": 1_000,
    "month_received": 2_000,
    "factor": 2,
    "counted": "tcp_info",
}


def network(usage: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "schema_version": 1,
            "device_id": "lc-mlt-01",
            "boot": 1,
            "seq": 1,
            "measured_at": "2026-12-10T05:00:00Z",
            "sent_at": "2026-12-10T05:00:00Z",
            "data": {"link_up": True, "data_usage": usage},
        }
    ).encode()


def test_a_network_reading_carries_the_usage() -> None:
    message = fp.decode("fleet/v1/lc-mlt-01/telemetry/network", network(GOOD))
    assert isinstance(message, fp.NetworkMessage)
    assert message.data.data_usage == fp.DataUsage(**GOOD)
    assert message.data.data_usage.month_total == 3_000


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"day": "2026-12-32"}, "calendar date"),
        ({"day": "10/12/2026"}, "YYYY-MM-DD"),
        ({"month": "2026-13"}, "YYYY-MM"),
        ({"day": "2026-11-30"}, "day must lie in month"),
        ({"day_sent": 5_000}, "cannot exceed its month"),
        ({"day_sent": -1}, "greater than or equal to 0"),
        ({"day_received": 10**13 + 1, "month_received": 10**14}, "less than or equal"),
        ({"month_sent": fu.MAX_MONTH_BYTES + 1}, "less than or equal"),
        ({"factor": 3}, "factor"),
        ({"factor": 16}, "factor"),
        ({"counted": "guess"}, "counted"),
        ({"day_sent": "100"}, "valid integer"),
        ({"extra": 1}, "Extra inputs"),
    ],
)
def test_refused_usage(change: dict[str, Any], why: str) -> None:
    with pytest.raises(fp.ProtocolError) as refused:
        fp.decode("fleet/v1/lc-mlt-01/telemetry/network", network({**GOOD, **change}))
    assert why in str(refused.value)


def test_the_forecast_adds_the_daily_rate_for_the_days_left() -> None:
    at = datetime(2026, 12, 31, 5, tzinfo=UTC)  # noon, last day: half a day left
    assert fu.days_left(at) == 0.5
    assert fu.month_forecast(10, [4, 6], 0, at) == 10 + round(5 * 0.5)
    # the newest FORECAST_DAYS days only
    assert fu.daily_rate([100] + [10] * fu.FORECAST_DAYS, 0, at) == 10
    # no complete day yet: today's rate, once an hour has passed
    assert fu.daily_rate([], 1_200, at) == 1_200 * 2
    midnight = datetime(2026, 12, 30, 17, 30, tzinfo=UTC)  # 00:30 local
    assert fu.daily_rate([], 1_200, midnight) == 0
    assert fu.month_end(midnight) == datetime(2027, 1, 1, tzinfo=fu.BOARD_TZ)
