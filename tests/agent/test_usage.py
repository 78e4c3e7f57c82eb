"""Bytes counted at the socket against a real Mosquitto: the kernel's TCP
counters of the MQTT connection grow by at least what was published and
received, a reconnection keeps counting, and the payload fallback counts too."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from edge_agent.session import Session
from edge_agent.usage import DataMeter, count_http, tcpinfo
from fleet_protocol.remote_config import DataBudget
from tests.agent.conftest import FakeCollector
from tests.support.mosquitto import Mosquitto
from tests.support.wait import wait_for

PAYLOAD = 2_000
COUNT = 20


def _ticking() -> Callable[[], float]:
    """A monotonic clock that moves 10 s at every read: the meter looks at
    the socket on every turn of the session's loop."""
    steps = itertools.count(step=10.0)
    return lambda: float(next(steps))


@contextmanager
def session(config: AgentConfig, meter: DataMeter) -> Iterator[Session]:
    seq = itertools.count(1)
    received: list[bytes] = []
    s = Session(
        config,
        boot=1,
        next_seq=lambda: next(seq),
        on_message=lambda _t, p: received.append(p),
        wake=threading.Event(),
        heartbeat_interval=lambda: 30.0,
        meter=meter,
    )
    s.start()
    try:
        assert s.ready.wait(15), "session did not connect"
        yield s
    finally:
        s.stop()


def publish_all(s: Session, count: int = COUNT) -> None:
    mids = [
        s.publish("fleet/v1/lc-mlt-01/telemetry/power", os.urandom(PAYLOAD)) for _ in range(count)
    ]
    assert None not in mids
    wait_for(lambda: set(mids) <= set(s.acked), 15, "PUBACKs")


def send_commands(port: int, count: int) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="usage-test-server")
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [
        client.publish("fleet/v1/lc-mlt-01/cmd/noop", os.urandom(PAYLOAD), qos=1)
        for _ in range(count)
    ]
    for info in infos:
        info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


@pytest.mark.skipif(not tcpinfo.supported(), reason="the kernel gives no TCP_INFO byte counters")
def test_socket_counters_grow_by_at_least_the_payloads_and_survive_reconnects(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    meter = DataMeter(None, DataBudget, monotonic=_ticking())
    assert meter.tcp_info
    with session(make_config(), meter) as s:
        publish_all(s)
        send_commands(mosquitto.port, COUNT)
        wait_for(lambda: meter.report().day_received >= COUNT * PAYLOAD, 15, "bytes received")
        first = meter.report()
        assert first.day_sent >= COUNT * PAYLOAD
        assert first.counted == "tcp_info"
        # far less than twice the payloads: the counters are the connection's, once
        assert first.day_sent < 2 * COUNT * PAYLOAD
        mosquitto.restart()  # a new connection, counting from zero again
        wait_for(lambda: s.connects == 2 and s.ready.is_set(), 20, "reconnection")
        publish_all(s)
    after = meter.report()  # the closed socket's last bytes are in too
    assert after.day_sent >= first.day_sent + COUNT * PAYLOAD
    assert after.day_received >= first.day_received
    assert (after.month_sent, after.month_received) == (after.day_sent, after.day_received)


def test_payload_counting_where_the_kernel_gives_no_counters(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    meter = DataMeter(None, DataBudget, tcp_info=False)
    with session(make_config(), meter) as s:
        publish_all(s, 5)
        send_commands(mosquitto.port, 3)
        wait_for(lambda: meter.report().day_received >= 3 * PAYLOAD, 15, "bytes received")
    usage = meter.report()
    assert usage.counted == "payload"
    assert 5 * PAYLOAD < usage.day_sent < 5 * (PAYLOAD + 400) + 3 * 100


def test_http_downloads_count_against_the_running_agents_meter() -> None:
    meter = DataMeter(None, DataBudget, tcp_info=True)
    count_http(1_000, 100)  # no agent running: nothing to count against
    assert meter.report().day_received == 0
    meter.activate()
    count_http(5_000_000, 2_000)
    meter.close()
    count_http(1_000, 100)  # closed: no longer the running agent's
    usage = meter.report()
    assert (usage.day_sent, usage.day_received) == (2_000, 5_000_000)


def test_network_readings_carry_the_usage(make_config: Callable[..., AgentConfig]) -> None:
    network = FakeCollector(fp.TelemetryKind.NETWORK, lambda: fp.NetworkData(link_up=True))
    agent = Agent(make_config(), collectors={fp.TelemetryKind.NETWORK: network})
    try:
        agent.usage.count(300, 700)
        assert agent.collect(fp.TelemetryKind.NETWORK)
        (row,) = agent.spool.pending()
        usage = json.loads(row.payload)["data"]["data_usage"]
        assert (usage["day_sent"], usage["day_received"], usage["factor"]) == (300, 700, 1)
    finally:
        agent.close()


def test_the_count_survives_the_agent_restarting(make_config: Callable[..., AgentConfig]) -> None:
    config = make_config()
    first = Agent(config, collectors={})
    first.usage.count(1_000, 2_000)
    first.close()  # saved at shutdown
    again = Agent(config, collectors={})
    try:
        again.usage.count(1, 1)
        usage = again.usage.report()
        assert (usage.day_sent, usage.day_received) == (1_001, 2_001)
        assert config.usage_state_path.exists()
    finally:
        again.close()
