"""Per-item play records: when the file on screen changes, the play that
ended is reported as a ``content_played`` event (docs/compliance.md), so the
server's play log has the player's own start and end besides the display
samples. A play still running when the agent stops is not reported; the
display samples cover it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import fleet_protocol as fp
from fleet_protocol.messages import has_credentials

EVENT = "content_played"


def _safe(text: str | None) -> str | None:
    """A content id that names a URL with credentials is left out: events
    never carry them (Điều 13.1.b)."""
    return None if text is None or has_credentials(text) else text


@dataclass(frozen=True, slots=True)
class _Play:
    sha256: str
    reported_start: datetime | None
    started_at: datetime
    content_id: str | None
    kind: str | None
    language: str | None


class PlayTracker:
    def __init__(self) -> None:
        self._current: _Play | None = None

    def observe(self, data: fp.DisplayData, at: datetime) -> dict[str, Any] | None:
        """A display reading at ``at``; the details of the play it ended, if any."""
        on_air = bool(data.player_running and data.screen_on is not False and data.content_sha256)
        current = self._current
        same = (
            on_air
            and current is not None
            and current.sha256 == data.content_sha256
            and current.reported_start == data.content_started_at
        )
        if same:
            return None
        finished = None
        if current is not None:
            ended = at
            # a new file that says when it started ended the old one then
            if on_air and data.content_started_at and current.started_at <= data.content_started_at:
                ended = min(at, data.content_started_at)
            finished = {
                "content_sha256": current.sha256,
                "content_id": current.content_id,
                "content_kind": current.kind,
                "content_language": current.language,
                "started_at": current.started_at.isoformat(),
                "ended_at": ended.isoformat(),
            }
        self._current = None
        if on_air:
            assert data.content_sha256 is not None
            self._current = _Play(
                sha256=data.content_sha256,
                reported_start=data.content_started_at,
                started_at=data.content_started_at or at,
                content_id=_safe(data.content_id),
                kind=data.content_kind,
                language=data.content_language,
            )
        return finished
