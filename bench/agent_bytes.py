"""Bytes per board per day at the default settings: JSON against the compact
encoding (issue 19's 4G budget: ≤ 30 MB a month per board).

A real agent (the simulated board: two cameras, the display, power, network,
heartbeat at the default intervals of edge_agent.config, every one divided
by ``--factor`` F) talks to a real Mosquitto through a TCP relay on
127.0.0.1 that counts every byte each way and parses the MQTT packets it
carries; a real ingest (PostgreSQL) behind the broker stores the readings
and sends the receipts and the ``capabilities`` word. Four phases, one
after the other, each with a fresh agent and its own relay:

- ``json``: ingest names no encoding (as an older server): the baseline;
- ``compact_receipt_each``: the compact encoding with a receipt after each
  commit (``ingest_receipt_every_s = 0``, as before coalesced receipts);
- ``compact``: the default, heartbeats and events go at once, taking the
  waiting readings with them; ingest holds their receipts up to
  ``ingest_receipt_every_s`` (300 s, divided by F like the intervals);
- ``compact_heartbeats_wait``: ``spool.batch_heartbeats_wait``, heartbeats
  wait like other readings, with ``spool.batch_max_delay_s`` = 45 s: what
  not sending them at once saves. (A reading waits for the oldest in its
  batch to be 45 s old, so a batch goes every ≈ 75 s; at the default 60 s
  it would be every ≈ 90 s, the server's stale limit of 3 heartbeat
  intervals.)

Counted from the first capabilities (the connection, the subscriptions and
the birth are a one-off, not a daily cost) for ``--minutes`` per phase: every
byte on the wire both ways — PUBLISH (fixed header, topic, packet id,
payload), PUBACK both ways, the receipts and their PUBACKs, PINGREQ and
PINGRESP. Per day = counted × 86,400 / (seconds × F). Not counted: TLS
records and TCP/IP headers (``overhead_estimate`` gives them per packet).
The delay of heartbeats is from the reading (``measured_at``) to its arrival
at ingest (``received_at``), × F: what it would be at the default rates.

The json phase is the same-run baseline: the result gives the ratios
(JSON bytes ÷ each compact phase's) first, then each phase's MB a month,
then the phases in full; it is kept in bench/results/agent_bytes-*.json.

    .venv/bin/python -m bench.agent --bytes --minutes 3 --factor 30
"""

from __future__ import annotations

import contextlib
import select
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from bench.agent_proof import _machine
from edge_agent.agent import Agent
from edge_agent.config import Intervals, SpoolConfig, load_config
from edge_agent.simulation import SimulatedBoard
from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.ingest.receipt_hold import ReceiptHold
from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port

_PACKET_TYPES = {3: "PUBLISH", 4: "PUBACK", 12: "PINGREQ", 13: "PINGRESP"}
#: Each phase's board; names of one length: a board's id is in every topic and message.
_DEVICES = {
    "json": "lc-bytes-json-01",
    "compact_receipt_each": "lc-bytes-each-01",
    "compact": "lc-bytes-cmpt-01",
    "compact_heartbeats_wait": "lc-bytes-wait-01",
}
#: per MQTT packet, if each travels in its own TCP segment: IPv4 + TCP with
#: timestamps (52) and a TLS 1.3 record (22); a pure TCP ACK is not counted
_IP_TCP, _TLS = 52, 22


class _Stream:
    """Splits one direction of an MQTT connection into packets (type counts)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.packets: Counter[str] = Counter()

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 2:
            length, multiplier, pos = 0, 1, 1
            while True:
                if pos >= len(self.buffer):
                    return
                byte = self.buffer[pos]
                length += (byte & 0x7F) * multiplier
                multiplier *= 128
                pos += 1
                if not byte & 0x80:
                    break
            if len(self.buffer) < pos + length:
                return
            kind = self.buffer[0] >> 4
            self.packets[_PACKET_TYPES.get(kind, "other")] += 1
            self.buffer = self.buffer[pos + length :]


class CountingRelay:
    """A TCP relay to the broker: bytes and MQTT packets each way."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target = target_port
        self.up, self.down = _Stream(), _Stream()
        self.bytes_up = self.bytes_down = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "up": self.bytes_up,
                "down": self.bytes_down,
                "packets_up": dict(self.up.packets),
                "packets_down": dict(self.down.packets),
            }

    def _accept(self) -> None:
        self._listener.settimeout(0.5)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        up, down = _Stream(), _Stream()  # a new connection starts new packet streams
        with client, server:
            while not self._stop.is_set():
                ready, _, _ = select.select([client, server], [], [], 0.5)
                for sock in ready:
                    try:
                        data = sock.recv(65_536)
                        if data:
                            (server if sock is client else client).sendall(data)
                    except OSError:  # a side reset the connection (an agent stopping)
                        return
                    if not data:
                        return
                    with self._lock:
                        stream = up if sock is client else down
                        before = Counter(stream.packets)
                        stream.feed(data)
                        total = self.up if sock is client else self.down
                        total.packets.update(stream.packets - before)
                        if sock is client:
                            self.bytes_up += len(data)
                        else:
                            self.bytes_down += len(data)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@contextlib.contextmanager
def database(work: Path) -> Iterator[str]:
    pg = EmbeddedPostgres(work / "pg", free_port(), durable=False)
    pg.initialise()
    pg.start()
    try:
        with psycopg.connect(pg.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE fleet_bytes")
        url = pg.url("fleet_bytes")
        migrate(url)
        yield url
    finally:
        pg.stop(mode="immediate")


def _delay_s(url: str, device: str) -> dict[str, float | None]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT avg(extract(epoch FROM received_at - measured_at)),"
            " max(extract(epoch FROM received_at - measured_at))"
            " FROM telemetry_heartbeat WHERE device_id = %s AND NOT replay",
            (device,),
        ).fetchone()
    assert row is not None
    return {"avg": None if row[0] is None else float(row[0]), "max": _float(row[1])}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def phase(
    name: str,
    work: Path,
    *,
    broker: Mosquitto,
    ingest: IngestService,
    url: str,
    minutes: float,
    factor: float,
) -> dict[str, Any]:
    compact = name != "json"
    waits = name == "compact_heartbeats_wait"
    ingest.encodings = ("zlib_dict1",) if compact else ()
    every = Settings.model_fields["ingest_receipt_every_s"].default
    held = 0 if name == "compact_receipt_each" else max(1, round(every / factor))
    ingest.hold = ReceiptHold(held, ingest.settings.ingest_receipt_hold_max)
    defaults, defaults_spool = Intervals(), SpoolConfig()
    intervals = {k: v / factor for k, v in defaults.model_dump().items()}
    relay = CountingRelay(broker.port)
    device = _DEVICES[name]
    config = load_config(
        None,
        device_id=device,
        mqtt_url=f"mqtt://127.0.0.1:{relay.port}",
        spool_path=work / name / "spool.db",
        simulate=True,
        log_level="WARNING",
        intervals=intervals,
        spool={
            "batch_max_delay_s": (45 if waits else defaults_spool.batch_max_delay_s) / factor,
            "batch_heartbeats_wait": waits,
        },
    )
    agent = Agent(config, sim=SimulatedBoard(cameras={"cam1": True, "cam2": True}))
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not (agent.session.ready.is_set() and (agent.delivery.compact or not compact)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: the agent did not connect (or hear capabilities)")
            time.sleep(0.05)
        time.sleep(3 * defaults.heartbeat / factor)  # past the start-up burst
        before, published, t0 = relay.snapshot(), agent.published, time.monotonic()
        time.sleep(minutes * 60)
        after, delivered, elapsed = relay.snapshot(), agent.published - published, 0.0
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        agent.wake.set()
        thread.join(30)
        relay.close()
    scale = 86_400 / (elapsed * factor)
    up = (after["up"] - before["up"]) * scale
    down = (after["down"] - before["down"]) * scale
    packets = Counter(after["packets_up"]) + Counter(after["packets_down"])
    packets.subtract(Counter(before["packets_up"]) + Counter(before["packets_down"]))
    per_day_packets = sum(packets.values()) * scale
    delay = _delay_s(url, device)
    return {
        "messages_per_day": round(delivered * scale),
        "bytes_per_day_up": round(up),
        "bytes_per_day_down": round(down),
        "bytes_per_day": round(up + down),
        "mb_per_month": round((up + down) * 30 / 1e6, 1),
        "bytes_per_message": round((up + down) / (delivered * scale), 1) if delivered else None,
        "mqtt_packets_per_day": {k: round(v * scale) for k, v in sorted(packets.items())},
        "overhead_estimate_mb_per_month": {
            "tls": round(per_day_packets * _TLS * 30 / 1e6, 1),
            "tcp_ip": round(per_day_packets * _IP_TCP * 30 / 1e6, 1),
        },
        "heartbeat_delay_s_at_default_rates": {
            k: None if v is None else round(v * factor, 1) for k, v in delay.items()
        },
        "run_seconds": round(elapsed, 1),
    }


def run(minutes: float, factor: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="fleet-agent-bytes-"))
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    try:
        with database(work) as url:
            settings = Settings(
                database_url=url,
                mqtt_url=broker.url,
                ingest_client_id="bench-bytes-ingest",
                ingest_require_known_board=False,
            )
            ingest = IngestService(settings)
            ingest.start()
            try:
                phases = {
                    name: phase(
                        name,
                        work,
                        broker=broker,
                        ingest=ingest,
                        url=url,
                        minutes=minutes,
                        factor=factor,
                    )
                    for name in (
                        "json",
                        "compact_receipt_each",
                        "compact",
                        "compact_heartbeats_wait",
                    )
                }
            finally:
                ingest.stop()
    finally:
        broker.stop()
    base = phases["json"]["bytes_per_day"]
    return {  # the ratios to the same run's JSON phase first, then the figures
        "ratio_json_over_compact": round(base / phases["compact"]["bytes_per_day"], 2),
        "ratio_json_over_compact_receipt_each": round(
            base / phases["compact_receipt_each"]["bytes_per_day"], 2
        ),
        "ratio_json_over_heartbeats_wait": round(
            base / phases["compact_heartbeats_wait"]["bytes_per_day"], 2
        ),
        "mb_per_month": {name: phase["mb_per_month"] for name, phase in phases.items()},
        "phases": phases,
        "target_mb_per_month": 30,
        "factor": factor,
        "minutes_per_phase": minutes,
        "machine": _machine(),
    }
