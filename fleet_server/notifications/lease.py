"""Keeping a live worker's claims while a transport talks to the network.

A claim is a lease: a row ``sending`` whose ``claimed_at`` is older than
``sending_lease_s`` is taken back by any worker (its own died). The lease is
short so that happens within seconds; a live worker keeps its claims by
renewing them every ``renew_interval_s`` while it sends, however long one
SMTP session or webhook call takes (their timeouts bound each socket
operation, not the attempt, so no claim length fixed in advance would be
safe). Why a heartbeat rather than a longer claim: docs/notifications.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Calls ``renew`` every ``interval_s`` seconds, in a thread, for as long
    as the ``with`` block runs.

    The block must not use the database connection ``renew`` uses: the
    worker's main thread is inside a transport's ``send`` meanwhile, and the
    thread is joined before the block ends.
    """

    def __init__(self, renew: Callable[[], object], interval_s: float) -> None:
        self._renew = renew
        self.interval_s = interval_s
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notify-lease", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._renew()
            except Exception as exc:  # the next beat tries again; the lease has margin
                log.warning("could not renew notification claims: %s", exc)
            else:
                self.renewals += 1
