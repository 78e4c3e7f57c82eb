"""The one exception the protocol package raises."""

from __future__ import annotations


class ProtocolError(ValueError):
    """A topic or payload that does not follow the fleet protocol.

    ``reason`` is a short machine-readable code (stored with dead letters and
    used as a metric label); ``detail`` is the human-readable explanation.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
