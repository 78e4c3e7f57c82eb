"""Topic grammar: ``fleet/v1/<device_id>/<channel>[/<name>]``.

The device id is always one whole topic level, so broker ACLs can pin a board
to ``fleet/v1/<its id>/...`` and the server can check the payload against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from fleet_protocol.errors import ProtocolError

PREFIX = "fleet/v1"

#: Device ids: letters, digits, ``-`` and ``_``; never an MQTT wildcard or ``/``.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
#: Event types and command names.
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"

_DEVICE_ID_RE = re.compile(DEVICE_ID_PATTERN)
_NAME_RE = re.compile(NAME_PATTERN)


class Channel(StrEnum):
    STATE = "state"
    TELEMETRY = "telemetry"
    EVENT = "event"
    CMD = "cmd"
    CMD_RESULT = "cmd_result"
    CONFIG_DESIRED = "config/desired"
    CONFIG_REPORTED = "config/reported"
    #: server → board: which (boot, seq) the server has committed (delivery receipts)
    RECEIPT = "receipt"
    #: board → server: a downscaled picture of the screen or a camera (screen proof)
    SNAPSHOT = "snapshot"
    #: board → server: a log or diagnostics bundle asked for by ``collect_logs``
    LOGS = "logs"
    #: board → server: several telemetry readings and events in one zlib-compressed
    #: message (fleet_protocol.compact), once the server has said it accepts them
    BATCH = "batch"
    #: server → board: the encodings ingest accepts besides JSON (after each birth)
    CAPABILITIES = "capabilities"


class TelemetryKind(StrEnum):
    HEARTBEAT = "heartbeat"
    POWER = "power"
    NETWORK = "network"
    CAMERA = "camera"
    DISPLAY = "display"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic. ``name`` is the telemetry kind, event type or command."""

    device_id: str
    channel: Channel
    name: str | None = None

    def __str__(self) -> str:
        base = f"{PREFIX}/{self.device_id}/{self.channel.value}"
        return f"{base}/{self.name}" if self.name is not None else base


def is_device_id(value: str) -> bool:
    # fullmatch: "$" alone would let a trailing newline through
    return _DEVICE_ID_RE.fullmatch(value) is not None


def _check_device(device_id: str) -> str:
    if not is_device_id(device_id):
        raise ProtocolError("bad_device_id", f"device id {device_id[:80]!r} is not valid")
    return device_id


def _check_name(name: str, what: str) -> str:
    if _NAME_RE.fullmatch(name) is None:
        raise ProtocolError("bad_topic", f"{what} {name[:80]!r} is not a valid name")
    return name


def state_topic(device_id: str) -> str:
    return str(Topic(_check_device(device_id), Channel.STATE))


def telemetry_topic(device_id: str, kind: TelemetryKind | str) -> str:
    try:
        value = TelemetryKind(kind).value
    except ValueError:
        raise ProtocolError("bad_topic", f"unknown telemetry kind {str(kind)[:40]!r}") from None
    return str(Topic(_check_device(device_id), Channel.TELEMETRY, value))


def event_topic(device_id: str, event_type: str) -> str:
    return str(Topic(_check_device(device_id), Channel.EVENT, _check_name(event_type, "event")))


def command_topic(device_id: str, command: str) -> str:
    return str(Topic(_check_device(device_id), Channel.CMD, _check_name(command, "command")))


def command_result_topic(device_id: str) -> str:
    return str(Topic(_check_device(device_id), Channel.CMD_RESULT))


def config_desired_topic(device_id: str) -> str:
    return str(Topic(_check_device(device_id), Channel.CONFIG_DESIRED))


def config_reported_topic(device_id: str) -> str:
    return str(Topic(_check_device(device_id), Channel.CONFIG_REPORTED))


def receipt_topic(device_id: str) -> str:
    return str(Topic(_check_device(device_id), Channel.RECEIPT))


def snapshot_topic(device_id: str) -> str:
    return str(Topic(_check_device(device_id), Channel.SNAPSHOT))


def logs_topic(device_id: str) -> str:
    return str(Topic(_check_device(device_id), Channel.LOGS))


def batch_topic(device_id: str) -> str:
    return str(Topic(_check_device(device_id), Channel.BATCH))


def capabilities_topic(device_id: str) -> str:
    return str(Topic(_check_device(device_id), Channel.CAPABILITIES))


def subscription_filters() -> list[str]:
    """What the server's ingest subscribes to: everything a board publishes."""
    return [
        f"{PREFIX}/+/state",
        f"{PREFIX}/+/telemetry/+",
        f"{PREFIX}/+/event/+",
        f"{PREFIX}/+/cmd_result",
        f"{PREFIX}/+/config/reported",
        f"{PREFIX}/+/snapshot",
        f"{PREFIX}/+/logs",
        f"{PREFIX}/+/batch",
    ]


_SINGLE_LEVEL = ("state", "cmd_result", "receipt", "snapshot", "logs", "batch", "capabilities")


def parse_topic(topic: str) -> Topic:
    """Split a topic into device id, channel and name, or raise ProtocolError."""
    return _parse_topic(topic)


# Ingest parses the same few topics of each board over and over; a Topic is
# immutable and a refused topic raises (never cached), so a cache changes nothing
# but the time (1.7 -> 0.1 µs). Bounded: 16,384 topics, about 5 MB.
@lru_cache(maxsize=16_384)
def _parse_topic(topic: str) -> Topic:
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != "fleet" or parts[1] != "v1":
        raise ProtocolError("bad_topic", f"topic {topic[:120]!r} is not under {PREFIX}/")
    device_id = _check_device(parts[2])
    rest = parts[3:]
    head = rest[0]
    if len(rest) == 1 and head in _SINGLE_LEVEL:
        return Topic(device_id, Channel(head))
    if len(rest) == 2:
        name = rest[1]
        if head == "telemetry":
            try:
                return Topic(device_id, Channel.TELEMETRY, TelemetryKind(name).value)
            except ValueError:
                raise ProtocolError("bad_topic", f"unknown telemetry kind {name[:40]!r}") from None
        if head == "event":
            return Topic(device_id, Channel.EVENT, _check_name(name, "event"))
        if head == "cmd":
            return Topic(device_id, Channel.CMD, _check_name(name, "command"))
        if head == "config" and name in ("desired", "reported"):
            return Topic(device_id, Channel(f"config/{name}"))
    raise ProtocolError("bad_topic", f"topic {topic[:120]!r} does not follow the grammar")
