"""SIGTERM and SIGINT stop the agent: the handler only writes to a pipe.

Python runs a signal handler in the main thread, between two of its
bytecodes. The agent's main thread spends its life inside
``agent.wake.wait()``; each time it wakes it holds the event's lock for a
moment, and that lock is not re-entrant: a handler that called
``wake.set()`` (or ``stop.set()`` on an event the main thread waits on)
there waited for itself, and the agent never stopped — systemd killed it
after its stop timeout, without the clean ``offline`` state
(tests/agent/test_stop_signal.py). A handler that logged could also meet
the main thread halfway through a write to the same stream.

So the handler only writes the signal's number to a non-blocking pipe, and
a thread of its own reads it and does the rest. The fleet server does the
same (``fleet_server.cli_support.stop_event``); the agent is installed
without the server, so it has its own copy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

Action = Callable[[signal.Signals], object]


def relay_signals(actions: Mapping[signal.Signals, Action]) -> None:
    """Call ``actions[sig](sig)`` when ``sig`` comes, in a thread, never in the handler.

    Signals are acted on in the order they came. A pipe full of signals
    (64 KiB of them not yet read) drops the newest: the relay has plenty
    to act on already."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def handler(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):  # full: see above
            os.write(write_fd, bytes([signum]))

    def relay() -> None:
        while signums := os.read(read_fd, 64):
            for signum in signums:
                sig = signal.Signals(signum)
                try:
                    actions[sig](sig)
                except Exception:  # the next signal must still be acted on
                    log.exception("acting on %s failed", sig.name)

    threading.Thread(target=relay, name="signal-relay", daemon=True).start()
    for sig in actions:
        signal.signal(sig, handler)


def stop_event(*wake: threading.Event) -> threading.Event:
    """An event set by SIGTERM or SIGINT; the events in ``wake`` are set with it
    (the agent's ``wake``, so its loop sees the stop at once)."""
    stop = threading.Event()

    def stopping(sig: signal.Signals) -> None:
        log.info("received %s, stopping", sig.name)
        stop.set()
        for event in wake:
            event.set()

    relay_signals({signal.SIGTERM: stopping, signal.SIGINT: stopping})
    return stop
