"""SIGTERM and SIGINT stop the long-running roles (cli_support.stop_event),
whatever the main thread is doing when the signal comes: also while it
holds the stop event's own lock, as it does for a moment each time it wakes
inside ``stop.wait()`` (ingest did not exit within 30 s of SIGTERM in CI).

Each case runs in a process of its own: the handlers replace pytest's, and
a hang must fail the test, not hold it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROLOGUE = """
import logging, os, signal, sys, threading
logging.basicConfig(level=logging.INFO, format="%(message)s")
from fleet_server.cli_support import stop_event
stop = stop_event()
"""


def run(body: str) -> subprocess.CompletedProcess[str]:
    script = PROLOGUE + textwrap.dedent(body)
    try:
        return subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the process hung: {exc.stderr!r}")


def test_a_signal_while_the_main_thread_holds_the_events_lock() -> None:
    """The old handler set the event itself, in the main thread, on the
    lock that thread held: the process never went on."""
    done = run(
        """
        with stop._cond:  # noqa: SLF001 - where stop.wait() holds it on waking
            signal.raise_signal(signal.SIGTERM)  # the handler runs here
            held = stop.is_set()
        sys.exit(0 if not held and stop.wait(10) else 3)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "received SIGTERM, stopping" in done.stderr


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_from_outside_sets_the_event(name: str) -> None:
    done = run(
        f"""
        threading.Timer(0.2, os.kill, (os.getpid(), signal.{name})).start()
        sys.exit(0 if stop.wait(10) else 3)
        """
    )
    assert done.returncode == 0, done.stderr
    assert f"received {name}, stopping" in done.stderr


def test_signals_beyond_what_the_pipe_holds_do_not_fail_the_handler() -> None:
    """The relay reads them all eventually; a full pipe costs the handler nothing."""
    done = run(
        """
        with stop._cond:  # noqa: SLF001 - the relay cannot set it meanwhile
            for _ in range(70_000):  # over the 64 KiB a pipe holds
                signal.raise_signal(signal.SIGINT)
        sys.exit(0 if stop.wait(10) else 3)
        """
    )
    assert done.returncode == 0, done.stderr
