"""SIGTERM and SIGINT stop the agent (edge_agent.stop_signal), whatever its
main thread is doing when the signal comes: also while it holds the lock of
``agent.wake``, as it does for a moment each time it wakes inside
``wake.wait()``. The old handler set ``wake`` itself, in the main thread,
on the lock that thread held: the agent never stopped, and systemd killed it
after its stop timeout, without the clean ``offline`` state.

Each case runs in a process of its own: the handlers replace pytest's, and
a hang must fail the test, not hold it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.agent.conftest import spool_sum
from tests.agent.test_session import has_state, states
from tests.support.mosquitto import Mosquitto
from tests.support.subscriber import Subscriber

REPO = Path(__file__).resolve().parents[2]

PROLOGUE = """
import logging, os, signal, sys, threading
logging.basicConfig(level=logging.INFO, format="%(message)s")
from edge_agent.stop_signal import relay_signals, stop_event
"""


def run(body: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    script = PROLOGUE + textwrap.dedent(body)
    try:
        return subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the process hung: {exc.stderr!r}")


# -- the helper ---------------------------------------------------------------------------


def test_a_signal_while_the_main_thread_holds_the_wake_events_lock() -> None:
    done = run(
        """
        wake = threading.Event()
        stop = stop_event(wake)
        with wake._cond:  # noqa: SLF001 - where wake.wait() holds it on waking
            signal.raise_signal(signal.SIGTERM)  # the handler runs here, and returns
        sys.exit(0 if wake.wait(10) and stop.wait(10) else 3)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "received SIGTERM, stopping" in done.stderr


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_from_outside_sets_stop_and_wake(name: str) -> None:
    done = run(
        f"""
        wake = threading.Event()
        stop = stop_event(wake)
        threading.Timer(0.2, os.kill, (os.getpid(), signal.{name})).start()
        sys.exit(0 if stop.wait(10) and wake.wait(10) else 3)
        """
    )
    assert done.returncode == 0, done.stderr
    assert f"received {name}, stopping" in done.stderr


def test_signals_beyond_what_the_pipe_holds_do_not_fail_the_handler() -> None:
    """The relay reads them all eventually; a full pipe costs the handler nothing."""
    done = run(
        """
        stop = stop_event()
        with stop._cond:  # noqa: SLF001 - the relay cannot set it meanwhile
            for _ in range(70_000):  # over the 64 KiB a pipe holds
                signal.raise_signal(signal.SIGINT)
        sys.exit(0 if stop.wait(10) else 3)
        """
    )
    assert done.returncode == 0, done.stderr


def test_actions_run_in_order_and_one_that_fails_does_not_end_the_relay() -> None:
    """bench/drill_publisher: SIGUSR1 stops generating, SIGTERM ends the run."""
    done = run(
        """
        seen, ended = [], threading.Event()
        def fail(sig):
            seen.append(sig.name)
            raise ValueError("broken action")
        relay_signals({
            signal.SIGUSR1: fail,
            signal.SIGUSR2: lambda sig: seen.append(sig.name),
            signal.SIGTERM: lambda sig: (seen.append(sig.name), ended.set()),
        })
        for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM):
            signal.raise_signal(sig)
        ok = ended.wait(10) and seen == ["SIGUSR1", "SIGUSR2", "SIGTERM"]
        sys.exit(0 if ok else 3)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "acting on SIGUSR1 failed" in done.stderr
    assert "ValueError: broken action" in done.stderr


# -- edge-agent run -----------------------------------------------------------------------

AGENT = """
import signal, sys
from edge_agent import agent as agent_module
from edge_agent import cli


class SignalledMidRun(agent_module.Agent):
    # Sends itself SIGTERM from the main thread once {what}, holding wake's
    # lock as wake.wait() does when it wakes.
    fired = False

    def step(self) -> None:
        super().step()
        if not self.fired and {when}:
            self.fired = True
            with self.wake._cond:
                signal.raise_signal(signal.SIGTERM)  # the handler runs here
            print("signalled", flush=True)


agent_module.Agent = SignalledMidRun  # what cmd_run builds
sys.exit(cli.main(["--config", {config!r}, "run", "--simulate"]))
"""

#: Stopping takes at most ~10 s (session.stop() waits up to 5 s for the
#: offline state's PUBACK and 5 s for its thread); starting, a few seconds.
STOPS_WITHIN_S = 20
START_S = 10


def write_config(tmp_path: Path, mqtt_url: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            device_id = "lc-mlt-01"
            mqtt_url = "{mqtt_url}"
            spool_path = "{tmp_path / "spool.db"}"
            keepalive_s = 5
            [intervals]
            heartbeat = 0.05
            power = 0.05
            """
        )
    )
    return path


def run_agent(config: Path, *, what: str, when: str) -> subprocess.CompletedProcess[str]:
    script = AGENT.format(what=what, when=when, config=str(config))
    try:
        return subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=START_S + STOPS_WITHIN_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the agent did not stop: {exc.stderr!r}")


def test_sigterm_mid_publish_stops_the_agent_cleanly(tmp_path: Path, mosquitto: Mosquitto) -> None:
    sub = Subscriber(mosquitto.port)
    done = run_agent(
        write_config(tmp_path, mosquitto.url),
        what="the broker acknowledged some readings",
        when="self.published + self.delivery.awaiting >= 3",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "signalled\n", done.stderr
    assert "received SIGTERM, stopping" in done.stderr
    # the clean shutdown: offline, not the will
    msgs = sub.wait_for(lambda ms: has_state(ms, "offline", 1), what="offline")
    assert [s[0] for s in states(msgs)] == ["online", "offline"]
    sub.close()


def test_sigterm_while_spooling_offline_stops_and_keeps_the_spool(tmp_path: Path) -> None:
    """No broker: readings go to the spool, and stay there after the stop."""
    done = run_agent(
        write_config(tmp_path, "mqtt://127.0.0.1:9"),  # nothing listens on port 9
        what="readings wait in the spool",
        when="self.spool.pending_count >= 5",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "signalled\n", done.stderr
    assert "received SIGTERM, stopping" in done.stderr
    rows, _size = spool_sum(tmp_path / "spool.db")
    assert rows >= 5


def test_sigterm_from_outside_stops_a_publishing_agent(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """What systemd does: ``systemctl stop`` sends SIGTERM to ``edge-agent run``."""
    sub = Subscriber(mosquitto.port)
    config = write_config(tmp_path, mosquitto.url)
    log = tmp_path / "agent.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge_agent", "--config", str(config), "run", "--simulate"],
            cwd=REPO,
            stdout=out,
            stderr=out,
        )
    try:
        sub.wait_for(
            lambda ms: sum(m.topic.endswith("/telemetry/heartbeat") for m in ms) >= 3,
            what="heartbeats",
        )
        proc.send_signal(signal.SIGTERM)
        proc.wait(STOPS_WITHIN_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = log.read_text()
    assert proc.returncode == 0, err
    assert "received SIGTERM, stopping" in err
    sub.wait_for(lambda ms: has_state(ms, "offline", 1), what="offline")
    sub.close()
