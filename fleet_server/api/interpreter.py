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
  since, not the whole process each time.

Both are undone when the application stops, for the tests that start many
applications in one process."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable


def tune(switch_interval_s: float) -> Callable[[], None]:
    """Set the switch interval and freeze what exists now; returns how to undo both."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval_s)
    gc.freeze()

    def undo() -> None:
        gc.unfreeze()
        sys.setswitchinterval(previous)

    return undo
