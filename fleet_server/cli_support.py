"""What every command line of the fleet server shares: its settings, who a
change made from it is recorded as, and a stop signal. ``fleet_server.cli``
and the features' sub-CLIs (``<feature>/cli.py``) import this; ``cli``
imports the sub-CLIs, never the reverse."""

from __future__ import annotations

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
    """An event set by SIGTERM or SIGINT: long-running roles stop cleanly."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
