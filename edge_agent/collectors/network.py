"""Network: is the uplink up, how good is it, and how strong is the 4G signal?

Mountain boards hang on one LTE link. The server tells "site uplink down"
from "board dead" by what boards say just before and after, so the reading
covers the link (operstate, byte counters), the path (RTT and loss to the
configured targets) and the radio (ModemManager's view of the modem).

Targets are ``host`` (ICMP echo through the ``ping`` binary; TCP connect to
port 443 when ICMP cannot be used here) or ``host:port`` (TCP connect
timing). A refused TCP connection still proves the path, so it counts as an
answer. Targets are tried in order; the first that answers is reported.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge_agent.collectors._command import run_command
from edge_agent.collectors.base import Collector
from edge_agent.config import NetworkConfig
from edge_agent.errors import CollectorError, NotPresent
from edge_agent.simulation import SimulatedBoard
from fleet_protocol import TelemetryKind, printable
from fleet_protocol.bounds import MAX_DELAY_MS
from fleet_protocol.messages import LteData, NetworkData

log = logging.getLogger(__name__)

DEFAULT_TCP_PORT = 443
PROBES_PER_TARGET = 3


@dataclass(frozen=True, slots=True)
class PathReading:
    target: str
    rtt_ms: float | None
    loss_percent: float


# --------------------------------------------------------------------------- link


def default_route_interface(route_table: Path = Path("/proc/net/route")) -> str | None:
    """The interface of the IPv4 default route with the lowest metric."""
    try:
        lines = route_table.read_text().splitlines()[1:]
    except OSError:
        return None
    best: tuple[int, str] | None = None
    for line in lines:
        fields = line.split()
        if len(fields) < 8 or fields[1] != "00000000" or fields[7] != "00000000":
            continue
        flags, metric = int(fields[3], 16), int(fields[6])
        if flags & 0x1 and (best is None or metric < best[0]):  # RTF_UP
            best = (metric, fields[0])
    return best[1] if best else None


def link_state(interface: str, sys_class_net: Path = Path("/sys/class/net")) -> bool:
    """Whether the interface carries traffic (ppp/wwan report "unknown": ask the carrier)."""
    base = sys_class_net / interface
    state = _read(base / "operstate")
    if state == "up":
        return True
    if state == "unknown":
        return _read(base / "carrier") == "1"
    return False


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _counter(path: Path) -> int | None:
    value = _read(path)
    return int(value) if value is not None and value.isdigit() else None


# --------------------------------------------------------------------------- path


def split_target(target: str) -> tuple[str, int | None]:
    """``"host"`` → (host, None); ``"host:443"`` and ``"[2001:db8::1]:443"`` → (host, port)."""
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    if target.count(":") == 1:
        host, _, port = target.partition(":")
        return host, int(port)
    return target, None


_PING_COUNTS = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_PING_RTT = re.compile(r"(?:rtt|round-trip) min/avg/max(?:/mdev)? = [\d.]+/([\d.]+)/")


def parse_ping(text: str) -> tuple[float | None, float] | None:
    """(average RTT ms, loss %) from iputils or busybox ``ping -q``; None if not a summary."""
    counts = _PING_COUNTS.search(text)
    if counts is None:
        return None
    sent, received = int(counts.group(1)), int(counts.group(2))
    if sent == 0:
        return None
    rtt = _PING_RTT.search(text)
    loss = round(100.0 * (sent - min(received, sent)) / sent, 1)
    return (float(rtt.group(1)) if rtt and received else None), loss


def tcp_probe(
    host: str,
    port: int,
    timeout_s: float,
    count: int = PROBES_PER_TARGET,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[float | None, float]:
    """(average connect time ms, loss %) over ``count`` connects; refused counts as answered."""
    times: list[float] = []
    for _ in range(count):
        start = clock()
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                pass
        except ConnectionRefusedError:
            pass  # a RST came back over the path: the path works
        except OSError as exc:
            log.debug("tcp probe %s:%d: %s", host, port, exc)
            continue
        times.append((clock() - start) * 1000.0)
    loss = round(100.0 * (count - len(times)) / count, 1)
    return (round(sum(times) / len(times), 2) if times else None), loss


# --------------------------------------------------------------------------- LTE


def _keyvalues(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" : ")
        if sep:
            values[key.strip()] = value.strip()
    return values


def _value(values: dict[str, str], key: str) -> str | None:
    value = values.get(key)
    return None if value in (None, "", "--") else value


def _number(values: dict[str, str], key: str, low: float, high: float) -> float | None:
    value = _value(values, key)
    try:
        number = float(value.split()[0]) if value else None
    except ValueError:
        return None
    return number if number is not None and low <= number <= high else None


def _access_tech(values: dict[str, str]) -> str | None:
    """The newest technology in use (a modem may list "umts, lte")."""
    key = "modem.generic.access-technologies"
    techs = [v for k, v in values.items() if k.startswith(f"{key}.value[")]
    if not techs and _value(values, key):
        techs = [values[key]]
    names = [t.strip() for tech in techs for t in tech.split(",") if t.strip() not in ("", "--")]
    for best in ("5gnr", "lte", "hspa-plus", "hspa", "umts", "edge", "gprs", "gsm"):
        if best in names:
            return best
    return printable(names[0][:16]) if names else None


def parse_mmcli(modem_text: str, signal_text: str = "") -> LteData | None:
    """Read ``mmcli -m any --output-keyvalue`` (and ``--signal-get`` output) into LteData.

    Returns None when the text describes no modem. A modem with no service
    still gives LteData (signal 0, no operator): that is the reading.
    """
    modem = _keyvalues(modem_text)
    if "modem.dbus-path" not in modem and "modem.generic.state" not in modem:
        return None
    signal = _keyvalues(signal_text)
    return LteData(
        operator=printable(_value(modem, "modem.3gpp.operator-name") or "")[:64] or None,
        access_tech=_access_tech(modem),
        signal_percent=_number(modem, "modem.generic.signal-quality.value", 0, 100),
        rssi_dbm=_number(signal, "modem.signal.lte.rssi", -150, 0),
        rsrp_dbm=_number(signal, "modem.signal.lte.rsrp", -160, 0),
        rsrq_db=_number(signal, "modem.signal.lte.rsrq", -40, 10),
        sinr_db=_number(signal, "modem.signal.lte.snr", -30, 50),
    )


# --------------------------------------------------------------------------- collector


class NetworkCollector(Collector):
    """Link from sysfs, path by ping or TCP, radio from ModemManager's mmcli."""

    kind = TelemetryKind.NETWORK

    def __init__(
        self,
        cfg: NetworkConfig,
        ping: str = "ping",
        mmcli: str = "mmcli",
        route_table: Path = Path("/proc/net/route"),
        sys_class_net: Path = Path("/sys/class/net"),
    ) -> None:
        self._cfg = cfg
        self._ping = ping
        self._mmcli = mmcli
        self._route_table = route_table
        self._sys_class_net = sys_class_net
        self._icmp = True  # until ping shows it cannot work here
        self._signal_setup_tried = False
        self.backend = "sysfs + ping/tcp" + (" + mmcli" if cfg.lte else "")

    def collect(self) -> NetworkData:
        interface = self._cfg.interface or default_route_interface(self._route_table)
        link_up = interface is not None and link_state(interface, self._sys_class_net)
        stats = self._sys_class_net / (interface or "-") / "statistics"
        path = self.probe_targets()
        return NetworkData(
            interface=printable(interface[:32]) if interface else None,
            link_up=link_up,
            target=printable(path.target[:255]) if path else None,
            rtt_ms=min(path.rtt_ms, MAX_DELAY_MS) if path and path.rtt_ms is not None else None,
            loss_percent=path.loss_percent if path else None,
            rx_bytes=_counter(stats / "rx_bytes") if interface else None,
            tx_bytes=_counter(stats / "tx_bytes") if interface else None,
            lte=self.lte() if self._cfg.lte else None,
        )

    def probe_targets(self) -> PathReading | None:
        """The first target that answers, else the first target (all lost)."""
        first: PathReading | None = None
        for target in self._cfg.targets:
            reading = self.probe(target)
            if reading.loss_percent < 100.0:
                return reading
            first = first or reading
        return first

    def probe(self, target: str) -> PathReading:
        try:
            host, port = split_target(target)
        except ValueError:
            log.warning("network target %r is not host or host:port; skipped", target)
            return PathReading(target, None, 100.0)
        timeout = self._cfg.timeout_s
        if port is None and self._icmp:
            icmp = self._ping_once(host, timeout)
            if icmp is not None:
                return PathReading(target, *icmp)
        rtt, loss = tcp_probe(host, port or DEFAULT_TCP_PORT, timeout)
        return PathReading(target, rtt, loss)

    def _ping_once(self, host: str, timeout_s: float) -> tuple[float | None, float] | None:
        wait = max(1, round(timeout_s))
        argv = [self._ping, "-n", "-q", "-c", str(PROBES_PER_TARGET), "-i", "0.2"]
        argv += ["-W", str(wait), "-w", str(wait + 1), "--", host]
        try:
            result = run_command(argv, timeout_s=wait + 3)
        except NotPresent:
            log.info("no ping binary; using TCP connect timing")
            self._icmp = False
            return None
        except CollectorError as exc:
            log.warning("ping %s: %s", host, exc)
            return None
        summary = parse_ping(result.stdout)
        if summary is None:
            # exit 2 without a summary: no raw socket, bad name … (not "no reply")
            log.info("ping %s unusable (%s); using TCP connect timing", host, result.error_text())
            if "not permitted" in result.error_text().lower():
                self._icmp = False
            return None
        return summary

    def lte(self) -> LteData | None:
        """The modem's view, or None when there is no mmcli, no ModemManager or no modem."""
        timeout = max(self._cfg.timeout_s, 5.0)
        try:
            modem = run_command([self._mmcli, "-m", "any", "--output-keyvalue"], timeout)
        except CollectorError as exc:  # NotPresent included
            log.debug("mmcli: %s", exc)
            return None
        if not modem.ok:
            log.debug("mmcli: %s", modem.error_text())
            return None
        signal = self._signal(timeout)
        return parse_mmcli(modem.stdout, signal)

    def _signal(self, timeout: float) -> str:
        argv = [self._mmcli, "-m", "any", "--signal-get", "--output-keyvalue"]
        try:
            result = run_command(argv, timeout)
        except CollectorError as exc:
            log.debug("mmcli --signal-get: %s", exc)
            return ""
        if not result.ok:
            log.debug("mmcli --signal-get: %s", result.error_text())
            return ""
        refresh = _keyvalues(result.stdout).get("modem.signal.refresh.rate")
        if refresh in ("0", "--") and not self._signal_setup_tried:
            # Extended signal values stay empty until polling is enabled once.
            self._signal_setup_tried = True
            try:
                run_command([self._mmcli, "-m", "any", "--signal-setup=30"], timeout)
            except CollectorError as exc:
                log.debug("mmcli --signal-setup: %s", exc)
        return result.stdout


class SimulatedNetworkCollector(Collector):
    """The simulated board's uplink and LTE radio."""

    kind = TelemetryKind.NETWORK
    backend = "simulated"

    def __init__(self, board: SimulatedBoard) -> None:
        self._board = board

    def collect(self) -> NetworkData:
        board = self._board
        board.advance()
        up = board.uplink_up
        rsrp = min(-44.0, max(-140.0, board.jitter(board.lte_rsrp_dbm, 2.0)))
        return NetworkData(
            interface="wwan0",
            link_up=up,
            target="fleet-server",
            rtt_ms=round(max(1.0, board.jitter(board.rtt_ms, 5.0)), 1) if up else None,
            loss_percent=board.loss_percent if up else 100.0,
            rx_bytes=board.rx_bytes,
            tx_bytes=board.tx_bytes,
            lte=LteData(
                operator="Viettel",
                access_tech="lte" if up else None,
                # RSRP -140 … -44 dBm spans ModemManager's 0 … 100 %
                signal_percent=round((rsrp + 140.0) / 96.0 * 100.0, 1),
                rsrp_dbm=round(rsrp, 1),
            ),
        )
