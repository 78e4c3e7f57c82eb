"""The whole agent on a real full disk (a small tmpfs): it keeps publishing
live readings, says so (heartbeat, events), and recovers by itself."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from tests.agent.conftest import (
    ReceiptSender,
    fake_collectors,
    fill,
    running,
    spool_sum,
)
from tests.support.mosquitto import Mosquitto
from tests.support.subscriber import Received, Subscriber
from tests.support.wait import wait_for

BOARD_TOPICS = ["fleet/v1/+/telemetry/#", "fleet/v1/+/event/#", "fleet/v1/+/state"]
FAST = {"heartbeat": 0.05, "power": 0.1}


def events(messages: list[Received], kind: str) -> list[Received]:
    return [m for m in messages if m.topic.endswith(f"/event/{kind}")]


def degraded_heartbeats(messages: list[Received], value: bool) -> list[Received]:
    return [
        m
        for m in messages
        if m.topic.endswith("/telemetry/heartbeat") and m.doc["data"]["spool_degraded"] is value
    ]


def measured(message: Received) -> datetime:
    return datetime.fromisoformat(message.doc["measured_at"])


def one_message_per_key(messages: list[Received]) -> None:
    """Copies of a (boot, seq) are the same message: a seq is never reused."""
    seen: dict[tuple[int, int], tuple[str, str, str]] = {}
    for m in messages:
        if m.topic.endswith("/state"):
            continue
        doc = m.doc
        body = (m.topic, doc["measured_at"], json.dumps(doc["data"], sort_keys=True))
        assert seen.setdefault((doc["boot"], doc["seq"]), body) == body, m.topic


@pytest.fixture
def disk_config(
    make_config: Callable[..., AgentConfig], small_disk: Path
) -> Callable[..., AgentConfig]:
    def make(**overrides: object) -> AgentConfig:
        # no reserve: the disk is really full for the spool
        spool = {"reserve_bytes": 0, "retry_s": 0.2}
        return make_config(spool_path=small_disk / "spool.db", spool=spool, **overrides)

    return make


def test_a_full_disk_degrades_the_agent_live_readings_flow_and_it_recovers(
    disk_config: Callable[..., AgentConfig], small_disk: Path, mosquitto: Mosquitto
) -> None:
    ingest = ReceiptSender(mosquitto.port)
    sub = Subscriber(mosquitto.port, BOARD_TOPICS, client_id="full-disk")
    link = threading.Event()  # down at first: a backlog builds up in the spool
    agent = Agent(
        disk_config(keepalive_s=5, intervals=FAST),
        collectors=fake_collectors(),
        link_up=link.is_set,
    )
    with running(agent):
        wait_for(lambda: agent.spool.pending_count >= 30, what="a backlog")
        filler = fill(small_disk)
        wait_for(lambda: agent.delivery.degraded is not None, what="the spool failing")
        backlog = {(r.boot, r.seq) for r in agent.spool.pending(limit=10_000)}
        link.set()
        msgs = sub.wait_for(
            lambda ms: bool(degraded_heartbeats(ms, True) and events(ms, "spool_degraded")),
            what="live readings saying spool_degraded",
        )
        assert agent.delivery.degraded is not None  # still full: these came without the spool
        degraded_event = events(msgs, "spool_degraded")[0].doc["data"]
        assert degraded_event["severity"] == "warning"

        filler.unlink()
        msgs = sub.wait_for(lambda ms: bool(events(ms, "spool_recovered")), what="recovery")
        recovered_at = measured(events(msgs, "spool_recovered")[0])
        sub.wait_for(
            lambda ms: backlog <= {(m.doc["boot"], m.doc["seq"]) for m in ms},
            what="the whole backlog",
        )
        sub.wait_for(
            lambda ms: any(measured(m) > recovered_at for m in degraded_heartbeats(ms, False)),
            what="a healthy heartbeat after the recovery",
        )
        # receipted, deleted: the spool drains
        wait_for(lambda: agent.spool.pending_count < 10, what="the spool drained")
    assert (agent.spool.pending_count, agent.spool.pending_bytes) == spool_sum(
        small_disk / "spool.db"
    )
    one_message_per_key(sub.messages)
    sub.close()
    ingest.close()


def test_a_connected_board_on_a_full_disk_drops_nothing(
    disk_config: Callable[..., AgentConfig], small_disk: Path, mosquitto: Mosquitto
) -> None:
    """With its uplink, a board whose disk fills holds new readings in memory
    and sends them live: no reading is dropped to make room, not even those
    sent and still waiting for their receipt (ingest slow to commit)."""
    ingest = ReceiptSender(mosquitto.port, committing=False)
    sub = Subscriber(mosquitto.port, BOARD_TOPICS, client_id="full-disk-online")
    agent = Agent(disk_config(keepalive_s=5, intervals=FAST), collectors=fake_collectors())
    with running(agent):
        wait_for(agent.session.ready.is_set, what="connected")
        wait_for(lambda: agent.spool.pending_count >= 30, what="rows waiting for receipts")
        filler = fill(small_disk)
        wait_for(lambda: agent.delivery.degraded is not None, what="the spool failing")
        sub.wait_for(
            lambda ms: len(degraded_heartbeats(ms, True)) >= 2, what="live degraded heartbeats"
        )
        ingest.committing.set()
        filler.unlink()
        sub.wait_for(lambda ms: bool(events(ms, "spool_recovered")), what="recovery")
        assert agent.spool.dropped_total == 0
        assert agent.delivery.held_dropped == 0
    one_message_per_key(sub.messages)
    sub.close()
    ingest.close()


def test_the_agent_starts_on_a_full_disk(
    disk_config: Callable[..., AgentConfig], small_disk: Path, mosquitto: Mosquitto
) -> None:
    first = Agent(disk_config(intervals=FAST), collectors=fake_collectors())
    assert first.boot == 1
    first.close()
    filler = fill(small_disk)

    sub = Subscriber(mosquitto.port, BOARD_TOPICS, client_id="full-start")
    agent = Agent(disk_config(intervals=FAST), collectors=fake_collectors())
    assert agent.boot == 2
    with running(agent):
        msgs = sub.wait_for(
            lambda ms: bool(degraded_heartbeats(ms, True) and events(ms, "agent_started")),
            what="live readings from a board whose disk is full",
        )
        assert events(msgs, "spool_degraded")
        assert {m.doc["boot"] for m in msgs} == {2}
        filler.unlink()
        sub.wait_for(lambda ms: bool(events(ms, "spool_recovered")), what="spool_recovered")
    one_message_per_key(sub.messages)
    sub.close()
    again = Agent(disk_config(), collectors=fake_collectors())
    assert again.boot == 3  # the boot of the degraded start was never handed out twice
    again.close()
