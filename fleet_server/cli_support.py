"""What every command line of the fleet server shares: its settings, who a
change made from it is recorded as, and a stop signal. ``fleet_server.cli``
and the features' sub-CLIs (``<feature>/cli.py``) import this; ``cli``
imports the sub-CLIs, never the reverse."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading

from fleet_server.settings import Settings

log = logging.getLogger("fleet_server")


def load_settings() -> Settings:
    """The settings from the environment, refused when unfit for production."""
    settings = Settings()
    settings.check_production()
    return settings


def cli_actor() -> str:
    """Who a command-line change is recorded as: ``system:cli:<OS user>``."""
    import getpass  # noqa: PLC0415

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"system:cli:{user}"[:200]


def stop_event() -> threading.Event:
    """An event set by SIGTERM or SIGINT: long-running roles stop cleanly.

    The handler only writes the signal's number to a pipe; a thread of its
    own logs it and sets the event. Python runs a handler in the main
    thread between two of its bytecodes, and the main thread of a role is
    mostly inside ``stop.wait()``: just woken, it holds the event's lock,
    which is not re-entrant, so ``stop.set()`` in the handler itself hung
    the process for good (ingest did not exit within 30 s of SIGTERM in CI;
    tests/server/test_stop_signal.py). Logging there could also meet the
    main thread halfway through a write to the same stream."""
    stop = threading.Event()
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def handler(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):  # a pipe full of signals: the relay has them
            os.write(write_fd, bytes([signum]))

    def relay() -> None:
        while signums := os.read(read_fd, 64):
            for signum in signums:
                log.info("received %s, stopping", signal.Signals(signum).name)
            stop.set()

    threading.Thread(target=relay, name="stop-signal", daemon=True).start()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
