"""End-to-end delivery: a message leaves the spool on the server's receipt,
not on the broker's PUBACK — against a real Mosquitto, with receipts
published by a test client as ingest would."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig, load_config
from fleet_server.broker.acls import board_role_name
from tests.agent.conftest import ReceiptSender, fake_collectors, receipt, running, spool_sum
from tests.support.clock import Clock
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.secure_broker import SecureBroker
from tests.support.subscriber import Received, Subscriber
from tests.support.wait import wait_for

DEVICE = "lc-mlt-01"
BOARD_TOPICS = ["fleet/v1/+/telemetry/#", "fleet/v1/+/event/#"]
QUIET = {"heartbeat": 86_400, "power": 86_400}  # one reading each, at the start


def spooled(agent: Agent) -> list[tuple[int | None, int | None]]:
    return [(r.boot, r.seq) for r in agent.spool.pending(limit=10_000)]


def keys(messages: list[Received]) -> set[tuple[int, int]]:
    return {(m.doc["boot"], m.doc["seq"]) for m in messages}


def test_messages_stay_in_the_spool_after_puback_until_their_receipt(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    pub = Publisher(mosquitto.port)
    agent = Agent(make_config(intervals=QUIET), collectors=fake_collectors())
    with running(agent):
        # heartbeat, power and the agent_started event: acknowledged by the broker
        wait_for(lambda: agent.delivery.awaiting == 3, what="three PUBACKs")
        rows = spooled(agent)
        assert len(rows) == 3  # all still spooled
        boot = agent.boot
        seqs = sorted(seq for _, seq in rows if seq is not None)
        pub.publish_all([receipt(DEVICE, boot, [(seqs[0], seqs[0]), (seqs[2], seqs[2])])])
        wait_for(lambda: len(spooled(agent)) == 1, what="the receipted rows deleted")
        assert spooled(agent) == [(boot, seqs[1])]
        assert agent.published == 2
        pub.publish_all([receipt(DEVICE, boot, [(seqs[1], seqs[1])])])
        wait_for(lambda: not spooled(agent), what="the last row deleted")
    pub.close()


def test_receipts_for_another_boot_unknown_seqs_or_malformed_are_harmless(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    pub = Publisher(mosquitto.port)
    agent = Agent(make_config(intervals=QUIET), collectors=fake_collectors())
    topic = fp.receipt_topic(DEVICE)
    with running(agent):
        wait_for(lambda: agent.delivery.awaiting == 3, what="three PUBACKs")
        rows = spooled(agent)
        boot = agent.boot
        first = min(seq for _, seq in rows if seq is not None)
        good = json.loads(receipt(DEVICE, boot, [(first, first)])[1])
        harmful = [
            receipt(DEVICE, boot + 1, [(0, 1000)]),  # another boot
            receipt(DEVICE, boot, [(1000, 2000)]),  # seqs never used
            (topic, b"{not json"),
            (topic, json.dumps({**good, "schema_version": 2}).encode()),
            (topic, json.dumps({**good, "device_id": "lc-other-01"}).encode()),
            (topic, json.dumps({**good, "ranges": []}).encode()),
            (topic, json.dumps({**good, "ranges": [[first]]}).encode()),
            (topic, json.dumps({**good, "boot": 0}).encode()),
            (topic, b"\xff" * 100),
        ]
        pub.publish_all(harmful)
        # Then a good one: once it is applied, the ones before it were read too.
        pub.publish_all([receipt(DEVICE, boot, [(first, first)])])
        wait_for(lambda: len(spooled(agent)) == 2, what="the good receipt applied")
        assert sorted(spooled(agent)) == sorted(r for r in rows if r[1] != first)
        assert agent.published == 1
    pub.close()


def test_an_offline_backlog_leaves_the_spool_as_receipts_arrive(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    ingest = ReceiptSender(mosquitto.port)
    mosquitto.stop()
    agent = Agent(
        make_config(intervals={"heartbeat": 0.02, "power": 0.05}), collectors=fake_collectors()
    )
    with running(agent):
        wait_for(lambda: agent.spool.pending_count >= 150, what="backlog while offline")
        backlog = set(spooled(agent))
        mosquitto.start()
        wait_for(lambda: backlog <= set(ingest.seen), timeout=60, what="the backlog at ingest")
        wait_for(lambda: not backlog & set(spooled(agent)), what="the backlog receipted")
    assert (agent.spool.pending_count, agent.spool.pending_bytes) == spool_sum(
        agent.config.spool_path
    )
    ingest.close()


def wipe(broker: Mosquitto) -> None:
    """The broker loses everything it had queued (a restart without its store)."""
    broker.stop()
    for path in broker.data_dir.iterdir():
        path.unlink()
    broker.start()


def test_what_the_broker_acknowledged_but_lost_is_sent_again_after_a_reconnect(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    link = threading.Event()
    link.set()
    agent = Agent(
        make_config(keepalive_s=5, intervals={"heartbeat": 0.05, "power": 0.1}),
        collectors=fake_collectors(),
        link_up=link.is_set,
    )
    with running(agent):
        # Ingest is away: the broker acknowledges, nobody commits.
        wait_for(lambda: agent.delivery.awaiting >= 30, what="30 messages acknowledged")
        link.clear()  # the agent's connection drops while the broker restarts
        wait_for(lambda: not agent.session.ready.is_set(), what="disconnection")
        acknowledged = agent.delivery.awaiting
        unreceipted = {k for k in spooled(agent) if k[0] is not None}
        wipe(mosquitto)
        sub = Subscriber(mosquitto.port, BOARD_TOPICS, client_id="after-restart")
        link.set()
        msgs = sub.wait_for(
            lambda ms: unreceipted <= keys(ms), timeout=60, what="every lost message again"
        )
        again = [m for m in msgs if (m.doc["boot"], m.doc["seq"]) in unreceipted]
        # What the broker had acknowledged is sent again by the agent, as replay
        # (what was still in flight paho sends again as it was).
        assert sum(m.doc["replay"] for m in again) >= acknowledged >= 30
        sub.close()


def test_a_board_whose_role_lacks_receipts_falls_back_to_puback(tmp_path: Path) -> None:
    """The production broker (dynamic security) refuses the receipt
    subscription of a board provisioned before receipts existed: the agent
    must not wait for receipts that cannot come."""
    board = "lc-old-01"
    broker = SecureBroker.create(tmp_path / "secure-broker")
    broker.start()
    try:
        with broker.dynsec() as dynsec:
            dynsec.ensure_board(board, "board-password-0123456789")
            dynsec.command(
                "removeRoleACL",
                rolename=board_role_name(board),
                acltype="subscribeLiteral",
                topic=fp.receipt_topic(board),
            )
        credentials = tmp_path / "mqtt.pw"
        credentials.write_text("board-password-0123456789\n")
        config = load_config(
            None,
            device_id=board,
            mqtt_url=broker.tls_url,
            ca_file=broker.ca_file,
            credentials_file=credentials,
            spool_path=tmp_path / "spool.db",
            intervals=QUIET,
        )
        agent = Agent(config, collectors=fake_collectors())
        with running(agent):
            wait_for(lambda: agent.session.receipts_refused, what="the refused subscription")
            wait_for(lambda: agent.published == 3, what="delivery on PUBACK")
            assert spooled(agent) == []
    finally:
        broker.stop()


def test_puback_mode_deletes_on_puback(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    agent = Agent(
        make_config(intervals=QUIET, spool={"delivery": "puback"}), collectors=fake_collectors()
    )
    with running(agent):
        wait_for(lambda: agent.published == 3, what="three PUBACKs")
        assert spooled(agent) == []


# -- timeouts and the bound, step by step with a clock the test moves ----------------------


@pytest.fixture
def stepped(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> Iterator[Callable[..., tuple[Agent, Clock]]]:
    started: list[Agent] = []

    def make(**spool: object) -> tuple[Agent, Clock]:
        clock = Clock()
        agent = Agent(
            make_config(intervals=QUIET, spool=spool),
            collectors=fake_collectors(),
            monotonic=clock.monotonic,
        )
        agent.session.start()
        started.append(agent)
        assert agent.session.ready.wait(10)
        return agent, clock

    yield make
    for agent in started:
        agent.close()


def step_until(agent: Agent, done: Callable[[], bool], what: str) -> None:
    def check() -> bool:
        agent.step()
        return done()

    wait_for(check, what=what)


def settle(agent: Agent, acks: int) -> None:
    """Step until ``acks`` more PUBACKs were taken."""
    target = agent.delivery.awaiting + acks
    step_until(agent, lambda: agent.delivery.awaiting >= target, "PUBACKs")


def copies(sub: Subscriber, marker: str) -> list[int]:
    """Seqs of telemetry received before the ``marker`` event."""
    msgs = sub.wait_for(lambda ms: any(m.topic.endswith(marker) for m in ms), what=marker)
    end = next(i for i, m in enumerate(msgs) if m.topic.endswith(marker))
    return [m.doc["seq"] for m in msgs[:end] if "/telemetry/" in m.topic]


def test_no_receipt_within_the_timeout_sends_again_with_a_growing_wait(
    stepped: Callable[..., tuple[Agent, Clock]], mosquitto: Mosquitto
) -> None:
    sub = Subscriber(mosquitto.port, BOARD_TOPICS, client_id="timeouts")
    agent, clock = stepped(receipt_timeout_s=60)
    agent.step()  # heartbeat and power
    settle(agent, 2)
    clock.advance(59)
    agent.step()
    agent.emit_event("marker_a", "info", "a")
    agent.step()
    assert len(copies(sub, "marker_a")) == 2  # not yet
    settle(agent, 1)
    clock.advance(2)  # 61 s after the PUBACKs: sent again
    agent.step()
    settle(agent, 2)
    clock.advance(61)  # the wait has doubled: not yet
    agent.step()
    agent.emit_event("marker_b", "info", "b")
    agent.step()
    assert len(copies(sub, "marker_b")) == 4
    settle(agent, 1)
    clock.advance(60)  # 121 s: again
    agent.step()
    settle(agent, 2)
    agent.emit_event("marker_c", "info", "c")
    agent.step()
    seqs = copies(sub, "marker_c")
    assert len(seqs) == 6
    assert len(set(seqs)) == 2
    replays = [m.doc["replay"] for m in sub.messages if "/telemetry/" in m.topic]
    assert replays == [False, False, True, True, True, True]
    sub.close()


def test_at_most_unreceipted_max_messages_wait_for_a_receipt(
    stepped: Callable[..., tuple[Agent, Clock]], mosquitto: Mosquitto
) -> None:
    pub = Publisher(mosquitto.port)
    agent, _clock = stepped(unreceipted_max=3)
    for i in range(8):
        agent.emit_event("filler", "info", f"message {i}")
    agent.step()  # + heartbeat and power: 10 spooled
    assert agent.delivery.unreceipted == 3
    settle(agent, 3)
    agent.step()
    assert agent.delivery.unreceipted == 3  # acknowledged by the broker, not receipted
    first = sorted(seq for _, seq in spooled(agent) if seq is not None)[:3]
    pub.publish_all([receipt(DEVICE, agent.boot, [(first[0], first[-1])])])
    step_until(agent, lambda: len(spooled(agent)) == 7, "the receipt")
    agent.step()
    assert agent.delivery.unreceipted == 3  # the next three went out
    pub.close()
