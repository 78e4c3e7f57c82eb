"""How many bytes of pictures the board may still upload today (its local day).

``proof.daily_bytes`` is shared by three kinds of picture, in this order of
precedence:

- an operator's ``screenshot`` command always goes: it is someone's intent,
  and refusing it would leave them blind exactly when they look. It is
  counted, so the unasked pictures stop earlier that day;
- a picture taken when a verdict turns bad (``incident``) goes while the day's
  total stays within ``daily_bytes``;
- an interval picture goes while the day's total stays within half of it,
  so that a day of routine pictures never uses up what incidents need.

What was spent survives a restart (a small JSON file beside the spool): an
agent restarting in a loop must not upload a new picture each time.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fleet_protocol.messages import SnapshotReason

log = logging.getLogger(__name__)


def wire_bytes(jpeg_bytes: int) -> int:
    """What a snapshot of a JPEG this large costs on the link: base64 plus the envelope."""
    return 4 * ((jpeg_bytes + 2) // 3) + 512


class PictureBudget:
    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._day = ""
        self.used = 0
        #: wall-clock time of the last interval picture (0: never)
        self.last_interval = 0.0
        self._load()

    def _today(self) -> str:
        return datetime.fromtimestamp(self._clock()).date().isoformat()  # the board's local day

    def spent(self) -> int:
        """Bytes of pictures uploaded today."""
        today = self._today()
        if today != self._day:
            self._day, self.used = today, 0
        return self.used

    def allows(self, size: int, reason: SnapshotReason, daily_bytes: int) -> bool:
        if reason == "command":
            return True
        limit = daily_bytes if reason == "incident" else daily_bytes // 2
        return self.spent() + size <= limit

    def mark_interval(self) -> None:
        """The interval's pictures were taken (or tried) now."""
        self.last_interval = self._clock()
        self._save()

    def count(self, size: int) -> None:
        self.spent()
        self.used += size
        self._save()

    def _load(self) -> None:
        if self._path is None:
            return
        try:
            state = json.loads(self._path.read_text())
            self._day = str(state["day"])
            self.used = int(state["used"])
            self.last_interval = float(state["last_interval"])
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("picture budget %s unreadable (%s): starting afresh", self._path, exc)

    def _save(self) -> None:
        if self._path is None:
            return
        state = {"day": self._day, "used": self.used, "last_interval": self.last_interval}
        temporary = self._path.with_name(self._path.name + ".tmp")
        try:
            temporary.write_text(json.dumps(state))
            os.replace(temporary, self._path)
        except OSError as exc:  # the budget then only holds until a restart
            log.warning("picture budget %s not saved: %s", self._path, exc.strerror)
