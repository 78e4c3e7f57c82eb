"""The agent's side of coalesced receipts: once the server says it holds the
receipts of batched messages (``receipt_every_s``, ``receipt_hold_max`` in its
capabilities), the agent resends only that much later and keeps at least
``receipt_hold_max`` unreceipted — against a real Mosquitto, with the agent's
clock moved by the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from fleet_protocol import compact
from tests.agent.conftest import fake_collectors
from tests.support.clock import Clock
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.subscriber import Subscriber
from tests.support.wait import wait_for

DEVICE = "lc-mlt-01"
QUIET = {"heartbeat": 86_400, "power": 86_400}


def told(every_s: int | None, most: int | None) -> tuple[str, bytes]:
    message = fp.Capabilities(
        schema_version=1,
        device_id=DEVICE,
        encodings=[compact.ENCODING],
        issued_at=datetime.now(UTC),
        receipt_every_s=every_s,
        receipt_hold_max=most,
    )
    return fp.capabilities_topic(DEVICE), fp.encode(message)


def sent_seqs(sub: Subscriber) -> list[int]:
    """Seqs of the events the board published, a batch's each, in order."""
    seqs = []
    for msg in list(sub.messages):
        lines = compact.unpack(msg.topic, msg.payload) if msg.topic.endswith("/batch") else [msg]
        for line in lines:
            message = fp.decode(line.topic, line.payload)
            if isinstance(message, fp.EventMessage):
                seqs.append(message.seq)
    return seqs


@pytest.fixture
def held(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> Iterator[tuple[Agent, Clock, Subscriber]]:
    sub = Subscriber(mosquitto.port, ["fleet/v1/+/batch", "fleet/v1/+/event/#"], client_id="rh")
    clock = Clock()
    agent = Agent(
        make_config(intervals=QUIET, spool={"receipt_timeout_s": 60, "unreceipted_max": 3}),
        collectors=fake_collectors(),
        monotonic=clock.monotonic,
    )
    agent.session.start()
    assert agent.session.ready.wait(10)
    yield agent, clock, sub
    agent.close()
    sub.close()


def step_until(agent: Agent, done: Callable[[], bool], what: str) -> None:
    def check() -> bool:
        agent.step()
        return done()

    wait_for(check, what=what)


def test_a_held_receipt_makes_the_agent_neither_resend_nor_stall(
    held: tuple[Agent, Clock, Subscriber], mosquitto: Mosquitto
) -> None:
    agent, clock, sub = held
    pub = Publisher(mosquitto.port)
    step_until(agent, lambda: agent.delivery.unreceipted == 2, "heartbeat and power sent")
    pub.publish_all([told(300, 5)])
    step_until(agent, lambda: agent.delivery.compact, "the capabilities")
    assert agent.delivery.receipt_hold == (300, 5)
    for i in range(6):
        agent.emit_event("filler", "info", f"message {i}")
    agent.step()
    assert agent.delivery.unreceipted == 5  # the server's hold, above unreceipted_max = 3
    step_until(agent, lambda: agent.delivery.awaiting == 5, "PUBACKs")
    sub.wait_for(lambda ms: len(sent_seqs(sub)) == 3, what="3 events")
    first = sent_seqs(sub)
    assert len(set(first)) == 3
    clock.advance(60 + 299)  # the usual timeout and the server's hold: not yet
    agent.step()
    agent.step()
    assert agent.delivery.awaiting == 5
    clock.advance(2)
    agent.step()  # now sent again
    sub.wait_for(lambda ms: len(sent_seqs(sub)) == 6, what="the events sent again")
    assert sent_seqs(sub) == first + first
    pub.close()


def test_without_a_hold_the_usual_timeout_and_bound_stay(
    held: tuple[Agent, Clock, Subscriber], mosquitto: Mosquitto
) -> None:
    agent, clock, _sub = held
    pub = Publisher(mosquitto.port)
    pub.publish_all([told(None, None)])  # an ingest with receipt_every_s = 0
    step_until(agent, lambda: agent.delivery.compact, "the capabilities")
    assert agent.delivery.receipt_hold == (0, 0)
    for i in range(6):
        agent.emit_event("filler", "info", f"message {i}")
    step_until(agent, lambda: agent.delivery.awaiting == 3, "PUBACKs")
    assert agent.delivery.unreceipted == 3
    clock.advance(61)
    agent.step()
    assert agent.delivery.awaiting < 3  # sent again after the usual 60 s
    pub.close()
