"""How an API process runs Python while it serves.

Pages and lists are sync handlers in AnyIO's worker threads, so they share
one GIL. Two settings of the interpreter decide how long a cheap request
waits behind a page that is rendering:

- **the switch interval** (``sys.setswitchinterval``, 5 ms by default): a
  thread whose database answer has arrived waits up to that long for the
  GIL, and so does the event loop for each hand-over to and from a worker
  thread. A request makes a dozen such waits (its dependencies, its
  round trips), so under load 5 ms each made the console's p99 tail
  (docs/performance.md, "API"). ``FLEET_API_SWITCH_INTERVAL_MS``;
- **the objects made at start-up** (routes, pydantic models, templates,
  the catalogue of messages) are moved out of the collector's view
  (``gc.freeze``), so a full collection walks only what requests made
  since, not the whole process each time. A full collection had walked
  ~300,000 objects in 300-540 ms, holding the GIL. Libraries still build
  parts of themselves at their first use (psycopg's adapters, FastAPI's
  and pydantic's), so once the process has served a while
  (``FLEET_API_GC_SETTLE_S``) one full collection runs and what survives
  it is frozen too. That one collection is the only pause of its length;
  a cycle frozen then and dropped later is never freed, a bounded cost
  paid once.

Both are undone when the application stops, for the tests that start many
applications in one process."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable


def tune(switch_interval_s: float, settle_s: float | None = None) -> Callable[[], None]:
    """Set the switch interval and freeze what exists now; ``settle_s``
    later (None: never), collect once and freeze what survives. Returns how
    to undo it all."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval_s)
    gc.freeze()
    settle = None
    if settle_s is not None:
        settle = threading.Timer(settle_s, settled)
        settle.daemon = True
        settle.start()

    def undo() -> None:
        if settle is not None:
            settle.cancel()
        gc.unfreeze()
        sys.setswitchinterval(previous)

    return undo


def settled() -> None:
    """Collect once and freeze what survives: what the process built at its
    first requests and keeps."""
    gc.collect()
    gc.freeze()
