"""The same-run baseline helper (bench/baseline.py): the ratio, and the bare
publisher replaying what a recorder heard, against a real Mosquitto."""

from __future__ import annotations

from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bench.baseline import PREFIX, Recorder, bare_publish, ratio
from tests.support.mosquitto import Mosquitto


def test_ratio_is_measured_over_baseline_and_none_without_a_baseline() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 3.0, digits=3) == 0.333
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 2.0) is None
    assert ratio(1.0, None) is None


def test_bare_publisher_sends_every_recorded_message_under_the_baseline_prefix(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    recorder = Recorder(mosquitto.port, "fleet/v1/#")
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-sender")
    sender.connect("127.0.0.1", mosquitto.port)
    sender.loop_start()
    for i in range(5):
        sender.publish(
            "fleet/v1/lc-test-01/telemetry/heartbeat", f"{i}".encode(), qos=1
        ).wait_for_publish(5)
    sender.loop_stop()
    sender.disconnect()
    copies = Recorder(mosquitto.port, PREFIX + "#")
    recorded = recorder.close()
    assert [m[2] for m in recorded] == [b"0", b"1", b"2", b"3", b"4"]

    result = bare_publish(mosquitto.port, recorded, tmp_path, count=12)

    heard = copies.close()
    assert result["messages"] == 12
    assert result["cpu_seconds"] > 0
    assert result["rss_max_mb"] > 0
    assert {m[1] for m in heard} == {PREFIX + "fleet/v1/lc-test-01/telemetry/heartbeat"}
    assert [m[2] for m in heard] == [str(i % 5).encode() for i in range(12)]


def test_bare_publisher_refuses_to_run_without_messages(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to publish"):
        bare_publish(1, [], tmp_path)
