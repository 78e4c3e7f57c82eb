"""What every collector is: something that takes one reading of one kind."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from pydantic import BaseModel

from fleet_protocol import TelemetryKind


class Collector(ABC):
    """One kind of reading (heartbeat, power, network, camera, display).

    ``collect`` returns the ``data`` part of the telemetry message (a
    fleet_protocol model) or raises ``CollectorError`` — ``NotPresent`` when
    the hardware or tool is not on this board. It must never hang: every
    external call has a timeout.
    """

    kind: ClassVar[TelemetryKind]
    #: Short description of the backend for `edge-agent check`.
    backend: str = "real"

    @abstractmethod
    def collect(self) -> BaseModel: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the collector holds (sockets, files)."""
