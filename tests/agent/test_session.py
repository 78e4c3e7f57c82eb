"""The agent against a real Mosquitto: birth, will, clean shutdown, reconnect,
offline spooling and replay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from tests.agent.conftest import fake_collectors, running
from tests.support.mosquitto import Mosquitto
from tests.support.subscriber import Received, Subscriber
from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[2]


def states(messages: list[Received]) -> list[tuple[str, int, int]]:
    return [
        (m.doc["data"]["status"], m.doc["boot"], m.doc["seq"])
        for m in messages
        if m.topic.endswith("/state")
    ]


def has_state(messages: list[Received], status: str, boot: int) -> bool:
    return any(s[:2] == (status, boot) for s in states(messages))


def test_birth_then_clean_offline(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    sub = Subscriber(mosquitto.port)
    agent = Agent(make_config(), collectors=fake_collectors())
    with running(agent):
        sub.wait_for(lambda ms: has_state(ms, "online", 1), what="birth")
        sub.wait_for(
            lambda ms: any(m.topic.endswith("/telemetry/heartbeat") for m in ms),
            what="first heartbeat",
        )
    msgs = sub.wait_for(lambda ms: any(s[0] == "offline" for s in states(ms)), what="offline")
    assert [s[0] for s in states(msgs)] == ["online", "offline"]
    birth = next(m for m in msgs if m.topic.endswith("/state"))
    assert birth.doc["data"]["heartbeat_interval_s"] == 30
    sub.close()
    # the retained state a newcomer sees is the clean offline
    late = Subscriber(mosquitto.port, "fleet/v1/lc-mlt-01/state", client_id="late")
    retained = late.wait_for(lambda ms: len(ms) == 1, what="retained state")
    assert retained[0].retain
    assert retained[0].doc["data"]["status"] == "offline"
    late.close()


AGENT_SCRIPT = """
import sys, threading
from pathlib import Path
sys.path.insert(0, {repo!r})
from edge_agent.agent import Agent
from edge_agent.config import load_config
from tests.agent.conftest import fake_collectors
config = load_config(None, device_id="lc-mlt-01", mqtt_url={url!r},
                     spool_path=Path({spool!r}), keepalive_s=5,
                     intervals={{"heartbeat": {interval}, "power": 60}})
Agent(config, collectors=fake_collectors()).run(threading.Event())
"""


def start_agent_process(
    tmp_path: Path, mosquitto: Mosquitto, interval: float = 30
) -> subprocess.Popen[bytes]:
    script = AGENT_SCRIPT.format(
        repo=str(REPO), url=mosquitto.url, spool=str(tmp_path / "spool.db"), interval=interval
    )
    log = (tmp_path / "agent.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, stdout=log, stderr=log
    )


def test_last_will_on_kill_9_carries_the_boot_counter(tmp_path: Path, mosquitto: Mosquitto) -> None:
    sub = Subscriber(mosquitto.port)
    proc = start_agent_process(tmp_path, mosquitto)
    try:
        sub.wait_for(lambda ms: has_state(ms, "online", 1), what="birth of boot 1")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    msgs = sub.wait_for(
        lambda ms: any(s[0] == "lost" for s in states(ms)), timeout=30, what="last will"
    )
    lost = [s for s in states(msgs) if s[0] == "lost"]
    birth = next(s for s in states(msgs) if s[0] == "online")
    assert [s[:2] for s in lost] == [("lost", 1)]
    # The will's seq is newer than its own connection's birth, so it wins.
    assert lost[0][2] > birth[2]
    proc = start_agent_process(tmp_path, mosquitto)
    try:
        sub.wait_for(lambda ms: has_state(ms, "online", 2), what="birth of boot 2")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    sub.close()


def test_reconnects_after_the_broker_restarts(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    agent = Agent(make_config(keepalive_s=5), collectors=fake_collectors())
    with running(agent):
        wait_for(lambda: agent.session.connects == 1, what="first connection")
        mosquitto.restart()
        wait_for(lambda: agent.session.connects == 2, timeout=90, what="reconnection")
        sub = Subscriber(mosquitto.port, "fleet/v1/+/state")
        # The restarted broker may first hand out the birth it kept from before
        # the restart; the new connection's birth must follow (a new birth,
        # after a new will, so its seq is past the first connection's), also
        # when the first birth was still unacknowledged at the restart.
        msgs = sub.wait_for(lambda ms: any(m.doc["seq"] > 1 for m in ms), what="new birth")
        assert msgs[-1].doc["data"]["status"] == "online"
        sub.close()


def test_an_unacknowledged_birth_sent_again_does_not_replace_the_new_one(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    # The link drops right after the broker accepted the first connection,
    # before the birth's PUBACK: paho sends that birth again on the next
    # connection. It must reach the broker before the new birth, or the
    # broker keeps the old one as the board's retained state.
    sub = Subscriber(mosquitto.port, "fleet/v1/+/state")
    dropped = threading.Event()

    def link_up() -> bool:
        if agent.session.connects == 1 and not dropped.is_set():
            dropped.set()
            return False
        return True

    agent = Agent(make_config(keepalive_s=5), collectors=fake_collectors(), link_up=link_up)
    with running(agent):
        wait_for(lambda: agent.session.connects == 2, timeout=90, what="reconnection")
        will = sub.wait_for(
            lambda ms: any(s[0] == "lost" for s in states(ms)), what="first connection's will"
        )
        lost_seq = next(s[2] for s in states(will) if s[0] == "lost")
        msgs = sub.wait_for(
            lambda ms: any(s[0] == "online" and s[2] > lost_seq for s in states(ms)),
            what="new birth",
        )
        birth = next(s for s in states(msgs) if s[0] == "online" and s[2] > lost_seq)
        late = Subscriber(mosquitto.port, "fleet/v1/+/state", client_id="late")
        retained = late.wait_for(lambda ms: len(ms) >= 1, what="retained state")
        assert retained[0].retain
        assert states(retained)[0] == birth
        late.close()
    sub.close()


def test_puback_mode_offline_backlog_delivered_once_in_order_as_replay(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    # Telemetry and events: the agent's count of published messages includes
    # its "agent_started" event.
    sub = Subscriber(
        mosquitto.port,
        ["fleet/v1/+/telemetry/#", "fleet/v1/+/event/#"],
        client_id="backlog-sub",
        persistent=True,
    )
    mosquitto.stop()
    # puback mode: a message leaves the spool when the broker acknowledged it
    # (a server that sends no receipts), as before receipts existed.
    agent = Agent(
        make_config(intervals={"heartbeat": 0.02, "power": 0.05}, spool={"delivery": "puback"}),
        collectors=fake_collectors(),
    )
    with running(agent):
        wait_for(lambda: agent.spool.stats().pending >= 150, what="backlog while offline")
        mosquitto.start()
        wait_for(lambda: agent.session.connects == 1, timeout=90, what="connection")
        wait_for(lambda: agent.spool.stats().pending < 20, timeout=30, what="backlog drained")
        published = agent.published
    msgs = sub.wait_for(lambda ms: len(ms) >= published, what="all backlog messages")
    seqs = [m.doc["seq"] for m in msgs]
    assert len(seqs) == len(set(seqs)), "a message arrived twice"
    assert seqs == sorted(seqs), "backlog not delivered oldest first"
    assert msgs[0].doc["replay"] is True
    assert all(m.doc["replay"] for m in msgs[:150])
    assert not msgs[-1].doc["replay"]  # taken after the link came back
    sub.close()
