"""The agent's side of the compact encoding: what goes in a batch and when
(edge_agent.batching, with an injected clock), and end to end against a real
Mosquitto with a stand-in for ingest that names the encoding after a birth,
reads batches and receipts each message in them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.batching import BatchPolicy, plan
from edge_agent.config import AgentConfig
from edge_agent.spool import SpoolRow
from fleet_protocol import compact
from tests.agent.conftest import fake_collectors, receipt, running
from tests.support.mosquitto import Mosquitto
from tests.support.wait import wait_for

DEVICE = "lc-mlt-01"
POLICY = BatchPolicy(max_delay_s=60, max_count=4)


def row(row_id: int, channel: str, created_at: float = 0.0) -> SpoolRow:
    return SpoolRow(row_id, f"fleet/v1/{DEVICE}/{channel}", b"{}", 1, created_at, 1, row_id)


def ids(sends: list[list[SpoolRow]]) -> list[list[int]]:
    return [[r.id for r in group] for group in sends]


# -- when a batch goes out (an injected clock: ``now``) -------------------------------


def test_a_reading_waits_at_most_max_delay() -> None:
    rows = [row(1, "telemetry/power", created_at=100.0), row(2, "telemetry/camera", 110.0)]
    for now in (100.0, 130.0, 159.9):
        held = plan(rows, POLICY, now, replay_before=0.0, complete=True)
        assert held.sends == []
        assert held.waiting == rows[0]
    due = plan(rows, POLICY, 160.0, replay_before=0.0, complete=True)
    assert ids(due.sends) == [[1, 2]]
    assert due.waiting is None


@pytest.mark.parametrize("urgent", ["telemetry/heartbeat", "event/mains_lost"])
def test_a_heartbeat_or_an_event_goes_at_once_with_what_waits(urgent: str) -> None:
    rows = [row(1, "telemetry/power", 100.0), row(2, "telemetry/display", 101.0), row(3, urgent)]
    chosen = plan(rows, POLICY, 101.0, replay_before=0.0, complete=True)
    assert ids(chosen.sends) == [[1, 2, 3]]


def test_other_channels_go_alone_in_order_and_close_the_batch_before_them() -> None:
    rows = [
        row(1, "telemetry/power"),
        row(2, "cmd_result"),
        row(3, "telemetry/power"),
        row(4, "snapshot"),
        row(5, "telemetry/power", 50.0),
    ]
    chosen = plan(rows, POLICY, 60.0, replay_before=0.0, complete=True)
    assert ids(chosen.sends) == [[1], [2], [3], [4]]
    assert chosen.waiting == rows[4]  # the last reading may still wait


def test_a_full_batch_a_backlog_read_in_part_and_a_replay_do_not_wait() -> None:
    rows = [row(i, "telemetry/power", 100.0) for i in range(1, 7)]
    full = plan(rows, POLICY, 100.0, replay_before=0.0, complete=True)
    assert ids(full.sends) == [[1, 2, 3, 4]]
    assert full.waiting == rows[4]
    more = plan(rows, POLICY, 100.0, replay_before=0.0, complete=False)
    assert ids(more.sends) == [[1, 2, 3, 4], [5, 6]]
    replay = plan(rows[4:], POLICY, 100.0, replay_before=100.5, complete=True)
    assert ids(replay.sends) == [[5, 6]]


def test_a_policy_out_of_bounds_is_refused() -> None:
    with pytest.raises(ValueError, match="max_count"):
        BatchPolicy(max_count=compact.MAX_BATCH_MESSAGES + 1)
    with pytest.raises(ValueError, match="max_delay_s"):
        BatchPolicy(max_delay_s=-1)


# -- end to end -------------------------------------------------------------------------


class BatchIngest:
    """Reads what a board publishes as ingest does: names the compact
    encoding after each birth (unless ``old``), unpacks batches and answers
    every message with its receipt."""

    def __init__(self, port: int, *, old: bool = False) -> None:
        self.old = old
        self.json: list[tuple[int, int]] = []  # (boot, seq) that came as JSON
        self.batched: list[tuple[int, int, bool]] = []  # (boot, seq, replay) from batches
        self.batches = 0
        self._lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="test-batch-ingest", protocol=mqtt.MQTTv311
        )
        self.client.on_connect = lambda c, *_a: c.subscribe(
            [(f, 1) for f in fp.subscription_filters()]
        )
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert ready.wait(10), "ingest stand-in not subscribed"

    def _on_message(self, client: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        payload = bytes(msg.payload)
        if msg.topic.endswith("/batch"):
            inner = [fp.decode(i.topic, i.payload) for i in compact.unpack(msg.topic, payload)]
        else:
            inner = [fp.decode(msg.topic, payload)]
        for message in inner:
            assert isinstance(message, fp.Envelope)
            if isinstance(message, fp.StateMessage):
                if message.data.status == "online" and not self.old:
                    client.publish(fp.capabilities_topic(message.device_id), capabilities(), qos=1)
                continue
            with self._lock:
                if msg.topic.endswith("/batch"):
                    self.batched.append((message.boot, message.seq, message.replay))
                else:
                    self.json.append((message.boot, message.seq))
            client.publish(*receipt(DEVICE, message.boot, [(message.seq, message.seq)]), qos=1)
        if msg.topic.endswith("/batch"):
            with self._lock:
                self.batches += 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def capabilities(encodings: list[str] | None = None) -> bytes:
    return fp.encode(
        fp.Capabilities(
            schema_version=1,
            device_id=DEVICE,
            encodings=[compact.ENCODING] if encodings is None else encodings,
            issued_at=datetime.now(UTC),
        )
    )


FAST = {"heartbeat": 0.2, "power": 0.05}


def test_an_agent_batches_once_the_server_names_the_encoding(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    ingest = BatchIngest(mosquitto.port)
    agent = Agent(make_config(intervals=FAST), collectors=fake_collectors())
    with running(agent):
        wait_for(lambda: len(ingest.batched) >= 20, what="readings in batches")
        wait_for(lambda: agent.delivery.compact, what="compact on this connection")
        assert ingest.batches < len(ingest.batched)  # several readings per batch
        wait_for(lambda: agent.published >= 20, what="batched readings receipted")
    ingest.close()


def test_an_agent_talking_to_an_old_server_keeps_json(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    ingest = BatchIngest(mosquitto.port, old=True)
    agent = Agent(make_config(intervals=FAST), collectors=fake_collectors())
    with running(agent):
        wait_for(lambda: len(ingest.json) >= 10 and agent.published >= 10, what="JSON readings")
        assert ingest.batched == []
        # A server naming only encodings this agent does not speak changes nothing.
        ingest.client.publish(fp.capabilities_topic(DEVICE), capabilities(["zstd9"]), qos=1)
        seen = len(ingest.json)
        wait_for(lambda: len(ingest.json) >= seen + 10, what="more JSON readings")
        assert ingest.batched == []
        assert not agent.delivery.compact
    ingest.close()


def test_a_backlog_after_an_outage_is_replayed_in_batches(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    ingest = BatchIngest(mosquitto.port)
    agent = Agent(
        make_config(intervals={"heartbeat": 0.2, "power": 0.01}), collectors=fake_collectors()
    )
    with running(agent):
        wait_for(lambda: agent.delivery.compact and len(ingest.batched) >= 5, what="batches")
        mosquitto.stop()  # briefly: the agent's reconnect backoff stays short
        wait_for(lambda: agent.spool.pending_count >= 40, what="a backlog while offline")
        before = len(ingest.batched)
        json_before = len(ingest.json)
        mosquitto.start()
        ingest.client.reconnect()
        wait_for(lambda: agent.spool.pending_count < 10, timeout=30, what="the backlog delivered")
        replayed = [key for key in ingest.batched[before:] if key[2]]
        assert len(replayed) >= 30
        assert len(ingest.json) == json_before  # it waited for the server's word
    ingest.close()


def test_the_policy_follows_the_remotely_settable_spool_settings(
    make_config: Callable[..., AgentConfig],
) -> None:
    agent = Agent(make_config(), collectors=fake_collectors())
    assert agent.delivery.batch_policy == BatchPolicy()  # heartbeats at once, 60 s
    agent.config = make_config(spool={"batch_max_delay_s": 120, "batch_heartbeats_wait": True})
    assert agent.delivery.batch_policy == BatchPolicy(max_delay_s=120, urgent=frozenset({"event"}))
    agent.close()
