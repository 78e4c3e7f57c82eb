"""Stopping ingest's writer within a bound (docs/reliability.md, "Stopping").

On stop the writer commits and acknowledges what it holds, then ends. A
statement that does not finish (a lock held by another session, a database
that stopped answering) held it without a bound, and ``IngestService.stop``
with it. Now, after ``STOP_GRACE_S``, the writer's statement is cancelled
once a second: its transaction rolls back, the batch is neither stored nor
acknowledged, and the writer, which is stopping, does not retry it (the
broker redelivers it to the next ingest). A commit the cancel comes too
late for has committed; it is acknowledged, or redelivered and dropped as
a duplicate. After ``STOP_TIMEOUT_S`` stop goes on without the writer (a
connection attempt still under way: ``connect``'s 10 s timeout): the process
exits, and what the writer had not committed is not acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: seconds the writer has to commit and acknowledge the batch in hand
STOP_GRACE_S = 5.0
#: seconds after which stop goes on without the writer
STOP_TIMEOUT_S = 15.0


def join_writer(
    thread: threading.Thread,
    cancel: Callable[[], None],
    *,
    grace: float = STOP_GRACE_S,
    timeout: float = STOP_TIMEOUT_S,
) -> bool:
    """Wait for ``thread`` (told to stop) ``grace`` seconds, then call
    ``cancel`` every second until it ends or ``timeout`` seconds have passed
    since the call; whether it ended."""
    deadline = time.monotonic() + timeout
    thread.join(min(grace, timeout))
    cancels = 0
    while thread.is_alive() and (left := deadline - time.monotonic()) > 0:
        cancel()
        cancels += 1
        thread.join(min(1.0, left))
    if cancels:
        log.warning(
            "ingest writer %s after %d cancels of its statement (nothing uncommitted is acked)",
            "still busy" if thread.is_alive() else "stopped",
            cancels,
        )
    return not thread.is_alive()
