"""Power: upsc output parsing, the real upsc against a NUT-speaking peer, sysfs, simulation."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import fleet_protocol as fp
from edge_agent.collectors.power import (
    PowerSupplyCollector,
    SimulatedPowerCollector,
    UpsCollector,
    parse_upsc,
)
from edge_agent.errors import CollectorError, NotPresent
from edge_agent.simulation import SimulatedBoard
from fleet_protocol.messages import PowerData
from tests.support.clock import Clock
from tests.support.ports import free_port

FIXTURES = Path(__file__).parents[2] / "fixtures" / "agent"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


ENVELOPE: dict[str, Any] = {
    "schema_version": 1,
    "device_id": "lc-t-01",
    "boot": 1,
    "seq": 1,
    "measured_at": datetime(2026, 12, 1, tzinfo=UTC),
    "sent_at": datetime(2026, 12, 1, tzinfo=UTC),
}


# --------------------------------------------------------------------------- parse_upsc


def test_parse_online() -> None:
    assert parse_upsc(fixture("upsc_online.txt")) == PowerData(
        source="ups",
        mains_present=True,
        on_battery=False,
        low_battery=False,
        battery_percent=100.0,
        runtime_s=1860,
        input_voltage_v=228.0,
        ups_status="OL",
    )


def test_parse_on_battery() -> None:
    data = parse_upsc(fixture("upsc_on_battery.txt"))
    assert (data.mains_present, data.on_battery, data.low_battery) == (False, True, False)
    assert (data.battery_percent, data.runtime_s, data.input_voltage_v) == (64.0, 1105, 0.0)
    assert data.ups_status == "OB DISCHRG"


def test_parse_low_battery() -> None:
    data = parse_upsc(fixture("upsc_low_battery.txt"))
    assert (data.mains_present, data.on_battery, data.low_battery) == (False, True, True)
    assert (data.battery_percent, data.runtime_s) == (9.0, 148)
    assert data.ups_status == "OB DISCHRG LB"


def test_parse_without_status_is_an_error() -> None:
    with pytest.raises(CollectorError, match=r"ups\.status"):
        parse_upsc("battery.charge: 100\n")


def test_parse_keeps_unknown_values_out() -> None:
    data = parse_upsc("ups.status: OL BYPASS\nbattery.charge: n/a\ninput.voltage: 9999\n")
    assert data.mains_present is True
    assert data.battery_percent is None
    assert data.input_voltage_v is None
    assert data.ups_status == "OL BYPASS"


@pytest.mark.parametrize("runtime", ["99999999999", "nan", "inf", "-5"])
def test_parse_keeps_runtime_within_the_protocol(runtime: str) -> None:
    """An absurd runtime from a UPS never makes a reading the protocol refuses."""
    data = parse_upsc(f"ups.status: OL\x01\x7f\nbattery.runtime: {runtime}\n")
    assert data.runtime_s is None or data.runtime_s == 365 * 86_400
    assert data.ups_status == "OL\ufffd\ufffd"
    assert fp.encode(fp.PowerMessage(**ENVELOPE, data=data))


# --------------------------------------------------------------------------- real upsc


def _recorded_vars(name: str) -> list[tuple[str, str]]:
    pairs = (line.partition(": ") for line in fixture(name).splitlines())
    return [(key, value) for key, sep, value in pairs if sep]


class FakeUpsd:
    """Answers upsc the way upsd 2.8.0 did in the recording (see the fixtures README)."""

    def __init__(self, mode: str = "ok", variables: list[tuple[str, str]] | None = None) -> None:
        self.mode = mode
        self.variables = variables or []
        self.release = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.release.set()
        self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(5)

    def _serve(self) -> None:
        try:
            conn, _ = self._server.accept()
        except OSError:
            return
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                command = line.decode().strip()
                if self.mode == "silent":
                    self.release.wait(30)
                    return
                stream.write(self._answer(command).encode())
                stream.flush()
                if command == "LOGOUT":
                    return

    def _answer(self, command: str) -> str:
        if command == "STARTTLS":
            return "ERR FEATURE-NOT-CONFIGURED\n"
        if command == "LOGOUT":
            return "OK Goodbye\n"
        if command != "LIST VAR ups":
            return "ERR UNKNOWN-UPS\n"
        if self.mode == "stale":
            return "ERR DATA-STALE\n"
        body = "".join(f'VAR ups {key} "{value}"\n' for key, value in self.variables)
        return f"BEGIN LIST VAR ups\n{body}END LIST VAR ups\n"


@pytest.fixture
def upsc() -> str:
    path = shutil.which("upsc")
    if path is None:
        pytest.fail("upsc not found: install the Debian package nut-client")
    return path


@pytest.fixture
def upsd(request: pytest.FixtureRequest) -> Iterator[FakeUpsd]:
    mode, name = request.param
    server = FakeUpsd(mode, _recorded_vars(name) if name else None)
    yield server
    server.close()


@pytest.mark.parametrize("upsd", [("ok", "upsc_on_battery.txt")], indirect=True, ids=["on_battery"])
def test_upsc_reads_a_ups(upsc: str, upsd: FakeUpsd) -> None:
    collector = UpsCollector(f"ups@127.0.0.1:{upsd.port}", upsc=upsc)
    assert collector.backend == f"upsc ups@127.0.0.1:{upsd.port}"
    assert collector.collect() == parse_upsc(fixture("upsc_on_battery.txt"))


@pytest.mark.parametrize("upsd", [("stale", None)], indirect=True)
def test_upsc_data_stale_is_a_collector_error(upsc: str, upsd: FakeUpsd) -> None:
    recorded = fixture("upsc_data_stale.txt").splitlines()[-1]  # "Error: Data stale"
    with pytest.raises(CollectorError) as caught:
        UpsCollector(f"ups@127.0.0.1:{upsd.port}", upsc=upsc).collect()
    assert str(caught.value) == f"upsc ups@127.0.0.1:{upsd.port}: {recorded}"
    assert not isinstance(caught.value, NotPresent)


@pytest.mark.parametrize("upsd", [("ok", None)], indirect=True)
def test_upsc_unknown_ups(upsc: str, upsd: FakeUpsd) -> None:
    with pytest.raises(CollectorError, match="Unknown UPS"):
        UpsCollector(f"other@127.0.0.1:{upsd.port}", upsc=upsc).collect()


def test_upsc_without_upsd(upsc: str) -> None:
    with pytest.raises(CollectorError, match="Connection failure: Connection refused"):
        UpsCollector(f"ups@127.0.0.1:{free_port()}", upsc=upsc).collect()


@pytest.mark.parametrize("upsd", [("silent", None)], indirect=True)
def test_upsc_that_hangs_is_killed(upsc: str, upsd: FakeUpsd) -> None:
    started = time.monotonic()
    with pytest.raises(CollectorError, match=r"did not answer within 0\.5s"):
        UpsCollector(f"ups@127.0.0.1:{upsd.port}", timeout_s=0.5, upsc=upsc).collect()
    assert time.monotonic() - started < 5


def test_missing_upsc_is_not_present(tmp_path: Path) -> None:
    with pytest.raises(NotPresent, match="not installed"):
        UpsCollector("ups@localhost", upsc=str(tmp_path / "upsc")).collect()


# --------------------------------------------------------------------------- sysfs


def supply(root: Path, name: str, **attributes: str) -> None:
    (root / name).mkdir(parents=True)
    for key, value in attributes.items():
        (root / name / key).write_text(value + "\n")


def test_sysfs_on_mains_charging(tmp_path: Path) -> None:
    supply(tmp_path, "AC", type="Mains", online="1")
    supply(tmp_path, "BAT0", type="Battery", capacity="87", status="Charging")
    data = PowerSupplyCollector(tmp_path).collect()
    assert (data.source, data.mains_present, data.on_battery, data.low_battery) == (
        "power_supply",
        True,
        False,
        False,
    )
    assert (data.battery_percent, data.ups_status) == (87.0, "Charging")


def test_sysfs_mains_lost_low_battery(tmp_path: Path) -> None:
    supply(tmp_path, "AC", type="Mains", online="0")
    supply(
        tmp_path,
        "BAT0",
        type="Battery",
        capacity="8",
        capacity_level="Low",
        status="Discharging",
        time_to_empty_now="540",
    )
    data = PowerSupplyCollector(tmp_path).collect()
    assert (data.mains_present, data.on_battery, data.low_battery) == (False, True, True)
    assert (data.battery_percent, data.runtime_s) == (8.0, 540)


def test_sysfs_battery_only_uses_its_status(tmp_path: Path) -> None:
    supply(tmp_path, "BAT0", type="Battery", capacity="55", status="Discharging")
    data = PowerSupplyCollector(tmp_path).collect()
    assert (data.mains_present, data.on_battery, data.low_battery) == (None, True, False)


def test_sysfs_without_supplies_is_not_present(tmp_path: Path) -> None:
    supply(tmp_path, "hidpp_battery_0_wireless_mouse", type="Unknown")
    with pytest.raises(NotPresent):
        PowerSupplyCollector(tmp_path).collect()
    with pytest.raises(NotPresent):
        PowerSupplyCollector(tmp_path / "missing").collect()


def test_sysfs_on_this_machine() -> None:
    try:
        data = PowerSupplyCollector().collect()
    except NotPresent:
        return
    assert data.source == "power_supply"


# --------------------------------------------------------------------------- simulated


def test_simulated_power_follows_the_board() -> None:
    clock = Clock()
    board = SimulatedBoard(clock=clock.monotonic)
    collector = SimulatedPowerCollector(board)

    online = collector.collect()
    assert (online.mains_present, online.on_battery, online.ups_status) == (True, False, "OL")

    board.mains = False
    clock.advance(3600)  # one of the battery's four hours
    on_battery = collector.collect()
    assert (on_battery.on_battery, on_battery.low_battery, on_battery.input_voltage_v) == (
        True,
        False,
        0.0,
    )
    assert on_battery.battery_percent == pytest.approx(75.0, abs=0.1)
    assert on_battery.runtime_s == pytest.approx(3 * 3600, abs=10)

    clock.advance(2.7 * 3600)
    low = collector.collect()
    assert (low.low_battery, low.ups_status) == (True, "OB DISCHRG LB")

    board.mains = True
    clock.advance(60)
    back = collector.collect()
    assert (back.on_battery, back.ups_status) == (False, "OL CHRG")
    assert back.battery_percent is not None
    assert low.battery_percent is not None
    assert back.battery_percent > low.battery_percent
