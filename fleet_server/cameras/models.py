"""What a camera's health is and when its status counts as stale."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

#: ok / failing / unknown (no fresh report)
Health = Literal["ok", "failing", "unknown"]
#: A camera whose latest status was measured longer ago than this shows
#: ``unknown``; the age is reckoned on the server's clock
#: (``board_latest.observed_at``), never the board's.
STALE_AFTER = timedelta(minutes=10)
