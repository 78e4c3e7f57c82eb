"""The checks' grabs, off the readings: a grab takes seconds (a camera's
stream, up to ``capture.timeout_s`` when it hangs), the reading that asks for
it must not wait. At most one grab per source is on its way at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

#: grabs side by side (the screen and a few cameras)
WORKERS = 4


class CheckWorkers:
    """``executor`` runs the grabs: a thread pool of its own unless given (one
    that runs each job at once, in ``submit``, makes every reading carry its
    own check). ``lock`` is the owner's, shared with what the jobs update."""

    def __init__(self, lock: threading.RLock, executor: Executor | None = None) -> None:
        self._lock = lock
        self._idle = threading.Condition(lock)
        self._executor = executor or ThreadPoolExecutor(WORKERS, thread_name_prefix="proof-check")
        self._busy: set[str] = set()  # the sources whose grab is on its way

    def busy(self, key: str) -> bool:
        with self._lock:
            return key in self._busy

    def start(self, key: str, job: Callable[[], None]) -> None:
        """Run ``job`` for source ``key`` on a worker, unless one is on its way."""

        def landed(_: Future[None]) -> None:  # done, failed or cancelled
            with self._lock:
                self._busy.discard(key)
                self._idle.notify_all()

        with self._lock:
            if key in self._busy:
                return
            self._busy.add(key)
        try:
            future = self._executor.submit(job)
        except RuntimeError:  # shut down: the agent is stopping
            landed(Future())
            return
        future.add_done_callback(landed)  # at once if it is done already

    def close(self, wait_s: float = 2.0) -> None:
        """No new grabs; the waiting ones are dropped, the running ones get
        ``wait_s`` to finish (a hung one is killed at its own deadline)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._idle:
            if not self._idle.wait_for(lambda: not self._busy, timeout=wait_s):
                log.info("picture checks still running at shutdown: %s", sorted(self._busy))
