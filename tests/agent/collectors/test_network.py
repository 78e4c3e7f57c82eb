"""Network: route and link discovery, ping and TCP probes, mmcli parsing, simulation."""

from __future__ import annotations

import shutil
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.collectors.network import (
    NetworkCollector,
    SimulatedNetworkCollector,
    default_route_interface,
    link_state,
    parse_mmcli,
    parse_ping,
    split_target,
    tcp_probe,
)
from edge_agent.config import NetworkConfig
from edge_agent.errors import NotPresent
from edge_agent.simulation import SimulatedBoard
from fleet_protocol.messages import LteData, NetworkData
from tests.support.clock import Clock
from tests.support.ports import free_port

FIXTURES = Path(__file__).parents[2] / "fixtures" / "agent"

ROUTES = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
    "wwan0\t00000000\t01000A0A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "eth0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0\n"
)

# iputils-ping 20221126, ``ping -n -q -c 3 -i 0.2 -W 1 -w 2 127.0.0.1`` on this machine
IPUTILS_OK = """PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.

--- 127.0.0.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 410ms
rtt min/avg/max/mdev = 0.036/0.049/0.075/0.017 ms
"""
IPUTILS_PARTIAL = """--- 10.10.0.1 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 404ms
rtt min/avg/max/mdev = 81.210/95.402/109.594/14.192 ms
"""
IPUTILS_LOST = """--- 10.10.0.1 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 2046ms
"""
BUSYBOX_OK = """--- 10.10.0.1 ping statistics ---
3 packets transmitted, 3 packets received, 0% packet loss
round-trip min/avg/max = 61.210/78.402/94.594 ms
"""


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


# --------------------------------------------------------------------------- link


def test_default_route_prefers_the_lowest_metric(tmp_path: Path) -> None:
    table = tmp_path / "route"
    table.write_text(ROUTES)
    assert default_route_interface(table) == "wwan0"
    table.write_text(ROUTES.splitlines()[0] + "\n" + ROUTES.splitlines()[3] + "\n")
    assert default_route_interface(table) is None
    assert default_route_interface(tmp_path / "missing") is None


def test_default_route_on_this_machine() -> None:
    interface = default_route_interface()
    assert interface is None or (Path("/sys/class/net") / interface).exists()


@pytest.mark.parametrize(
    ("files", "up"),
    [
        ({"operstate": "up"}, True),
        ({"operstate": "down"}, False),
        ({"operstate": "unknown", "carrier": "1"}, True),  # ppp0, wwan0 on some drivers
        ({"operstate": "unknown", "carrier": "0"}, False),
        ({}, False),
    ],
)
def test_link_state(tmp_path: Path, files: dict[str, str], up: bool) -> None:
    (tmp_path / "wwan0").mkdir()
    for name, value in files.items():
        (tmp_path / "wwan0" / name).write_text(value + "\n")
    assert link_state("wwan0", tmp_path) is up


# --------------------------------------------------------------------------- path


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("10.10.0.1", ("10.10.0.1", None)),
        ("fleet.example.vn:8883", ("fleet.example.vn", 8883)),
        ("2001:db8::1", ("2001:db8::1", None)),
        ("[2001:db8::1]:443", ("2001:db8::1", 443)),
        ("[2001:db8::1]", ("2001:db8::1", None)),
    ],
)
def test_split_target(target: str, expected: tuple[str, int | None]) -> None:
    assert split_target(target) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (IPUTILS_OK, (0.049, 0.0)),
        (IPUTILS_PARTIAL, (95.402, 33.3)),
        (IPUTILS_LOST, (None, 100.0)),
        (BUSYBOX_OK, (78.402, 0.0)),
        ("ping: socket: Operation not permitted\n", None),
    ],
)
def test_parse_ping(text: str, expected: tuple[float | None, float] | None) -> None:
    assert parse_ping(text) == expected


@pytest.fixture
def listener() -> Iterator[int]:
    """A port on 127.0.0.1 that completes TCP handshakes (the kernel's backlog does)."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield server.getsockname()[1]


def test_tcp_probe_times_a_connect(listener: int) -> None:
    rtt, loss = tcp_probe("127.0.0.1", listener, timeout_s=2.0)
    assert loss == 0.0
    assert rtt is not None
    assert 0.0 <= rtt < 1000.0


def test_tcp_probe_counts_a_refusal_as_an_answer() -> None:
    rtt, loss = tcp_probe("127.0.0.1", free_port(), timeout_s=2.0)
    assert (loss, rtt is not None) == (0.0, True)


@pytest.fixture
def ping() -> str:
    path = shutil.which("ping")
    if path is None:
        pytest.fail("ping not found: install the Debian package iputils-ping")
    return path


def test_collector_pings_a_host(ping: str) -> None:
    collector = NetworkCollector(NetworkConfig(targets=["127.0.0.1"], lte=False), ping=ping)
    reading = collector.probe("127.0.0.1")
    assert reading.loss_percent == 0.0
    assert reading.rtt_ms is not None
    assert reading.rtt_ms < 100.0


def test_without_ping_the_collector_times_tcp(tmp_path: Path) -> None:
    collector = NetworkCollector(
        NetworkConfig(targets=["127.0.0.1"], lte=False), ping=str(tmp_path / "ping")
    )
    reading = collector.probe("127.0.0.1")  # TCP 443 on loopback: refused, so answered
    assert (reading.target, reading.loss_percent) == ("127.0.0.1", 0.0)
    assert reading.rtt_ms is not None


def test_targets_are_tried_in_order(listener: int, tmp_path: Path) -> None:
    cfg = NetworkConfig(targets=["127.0.0.1:not-a-port", f"127.0.0.1:{listener}"], lte=False)
    path = NetworkCollector(cfg, ping=str(tmp_path / "ping")).probe_targets()
    assert path is not None
    assert (path.target, path.loss_percent) == (f"127.0.0.1:{listener}", 0.0)

    cfg = NetworkConfig(targets=["127.0.0.1:not-a-port"], lte=False)
    path = NetworkCollector(cfg).probe_targets()
    assert path is not None
    assert (path.target, path.rtt_ms, path.loss_percent) == ("127.0.0.1:not-a-port", None, 100.0)


def test_collector_reads_link_and_counters(tmp_path: Path, listener: int) -> None:
    net = tmp_path / "net"
    (net / "wwan0" / "statistics").mkdir(parents=True)
    (net / "wwan0" / "operstate").write_text("up\n")
    (net / "wwan0" / "statistics" / "rx_bytes").write_text("123456\n")
    (net / "wwan0" / "statistics" / "tx_bytes").write_text("7890\n")
    route = tmp_path / "route"
    route.write_text(ROUTES)
    cfg = NetworkConfig(targets=[f"127.0.0.1:{listener}"], lte=False)
    data = NetworkCollector(cfg, route_table=route, sys_class_net=net).collect()
    assert (data.interface, data.link_up, data.rx_bytes, data.tx_bytes) == (
        "wwan0",
        True,
        123456,
        7890,
    )
    assert (data.target, data.loss_percent, data.lte) == (f"127.0.0.1:{listener}", 0.0, None)


def test_collector_on_this_machine() -> None:
    cfg = NetworkConfig(targets=["127.0.0.1"], timeout_s=1.0)
    try:
        data = NetworkCollector(cfg).collect()
    except NotPresent:
        return
    assert isinstance(data, NetworkData)
    assert data.target == "127.0.0.1"
    assert data.loss_percent == 0.0


# --------------------------------------------------------------------------- LTE


def test_parse_registered_lte() -> None:
    lte = parse_mmcli(
        fixture("mmcli_lte_registered.txt"), fixture("mmcli_lte_registered_signal.txt")
    )
    assert lte == LteData(
        operator="Viettel",
        access_tech="lte",
        signal_percent=58.0,
        rssi_dbm=-71.0,
        rsrp_dbm=-101.0,
        rsrq_db=-12.0,
        sinr_db=6.4,
    )


def test_parse_searching_modem() -> None:
    lte = parse_mmcli(fixture("mmcli_searching.txt"), fixture("mmcli_searching_signal.txt"))
    assert lte == LteData(signal_percent=0.0)


def test_parse_without_modem() -> None:
    assert parse_mmcli("") is None
    assert parse_mmcli("error: couldn't find the ModemManager process in the bus\n") is None


def test_parse_picks_the_newest_technology() -> None:
    text = (
        "modem.generic.state                        : connected\n"
        "modem.generic.access-technologies.length   : 1\n"
        "modem.generic.access-technologies.value[1] : umts, hspa, lte\n"
    )
    lte = parse_mmcli(text)
    assert lte is not None
    assert lte.access_tech == "lte"


def fake_mmcli(tmp_path: Path, refresh: str) -> tuple[Path, Path]:
    """An ``mmcli`` at the path the collector is given: prints the fixtures, logs its argv."""
    log = tmp_path / "argv.log"
    script = tmp_path / "mmcli"
    signal = fixture("mmcli_lte_registered_signal.txt").replace(
        "modem.signal.refresh.rate         : 30", f"modem.signal.refresh.rate         : {refresh}"
    )
    (tmp_path / "signal.txt").write_text(signal)
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "if '--signal-get' in sys.argv:\n"
        f"    print(open({str(tmp_path / 'signal.txt')!r}).read(), end='')\n"
        "elif any(a.startswith('--signal-setup') for a in sys.argv):\n"
        "    print('successfully setup signal quality information refresh rate')\n"
        "else:\n"
        f"    print(open({str(FIXTURES / 'mmcli_lte_registered.txt')!r}).read(), end='')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def test_collector_asks_modemmanager(tmp_path: Path) -> None:
    script, log = fake_mmcli(tmp_path, refresh="0")
    collector = NetworkCollector(NetworkConfig(), mmcli=str(script))
    first = collector.lte()
    second = collector.lte()
    assert first is not None
    assert first.operator == "Viettel"
    assert first.rsrp_dbm == -101.0
    assert second == first
    calls = log.read_text().splitlines()
    # Polling is switched on once, the first time the modem reports it off.
    assert calls == [
        "-m any --output-keyvalue",
        "-m any --signal-get --output-keyvalue",
        "-m any --signal-setup=30",
        "-m any --output-keyvalue",
        "-m any --signal-get --output-keyvalue",
    ]


def test_no_mmcli_means_no_lte(tmp_path: Path) -> None:
    collector = NetworkCollector(NetworkConfig(), mmcli=str(tmp_path / "mmcli"))
    assert collector.lte() is None


# --------------------------------------------------------------------------- simulated


def test_simulated_network_follows_the_board() -> None:
    clock = Clock()
    board = SimulatedBoard(clock=clock.monotonic)
    collector = SimulatedNetworkCollector(board)

    up = collector.collect()
    assert (up.link_up, up.loss_percent) == (True, 0.0)
    assert up.rtt_ms is not None
    assert up.lte is not None
    assert up.lte.rsrp_dbm is not None

    clock.advance(60)
    later = collector.collect()
    assert later.rx_bytes is not None
    assert up.rx_bytes is not None
    assert later.rx_bytes > up.rx_bytes

    board.uplink_up = False
    clock.advance(60)
    down = collector.collect()
    assert (down.link_up, down.rtt_ms, down.loss_percent) == (False, None, 100.0)
    assert down.rx_bytes == later.rx_bytes

    board.lte_rsrp_dbm = -125.0
    board.uplink_up = True
    weak = collector.collect()
    assert weak.lte is not None
    assert weak.lte.signal_percent is not None
    assert up.lte.signal_percent is not None
    assert weak.lte.signal_percent < up.lte.signal_percent
