"""``decode(topic, payload)`` and ``encode(message)``: the only way in and out."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from fleet_protocol.errors import ProtocolError
from fleet_protocol.messages import (
    CREDENTIAL_PATTERN,
    TELEMETRY_MODELS,
    CommandRequest,
    CommandResultMessage,
    ConfigDesired,
    ConfigReportedMessage,
    EventMessage,
    Message,
    Receipt,
    StateMessage,
)
from fleet_protocol.topics import Channel, TelemetryKind, Topic, parse_topic

#: Largest payload accepted by default. Real messages are well under 4 KiB.
MAX_PAYLOAD_BYTES = 16 * 1024

_CHANNEL_MODELS: dict[Channel, type[Any]] = {
    Channel.STATE: StateMessage,
    Channel.EVENT: EventMessage,
    Channel.CMD: CommandRequest,
    Channel.CMD_RESULT: CommandResultMessage,
    Channel.CONFIG_DESIRED: ConfigDesired,
    Channel.CONFIG_REPORTED: ConfigReportedMessage,
    Channel.RECEIPT: Receipt,
}


def model_for(topic: Topic) -> type[Any]:
    if topic.channel is Channel.TELEMETRY:
        assert topic.name is not None  # parse_topic guarantees a kind
        return TELEMETRY_MODELS[TelemetryKind(topic.name)]
    return _CHANNEL_MODELS[topic.channel]


def _describe(exc: ValidationError) -> tuple[str, str]:
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return "bad_json", "payload is not valid JSON: " + errors[0]["msg"]
    if any(e["loc"][:1] == ("schema_version",) for e in errors):
        return "unsupported_schema", "schema_version must be 1"
    parts = []
    for err in errors[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg']}")
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "invalid_payload", "; ".join(parts) + more


_CREDENTIAL_BYTES = re.compile(CREDENTIAL_PATTERN.encode())
_CREDENTIAL_TEXT = re.compile(CREDENTIAL_PATTERN)


def _check_credentials(payload: bytes | str) -> None:
    """Reject any URL with user:password@, in whatever field it hides
    (Điều 13.1.b: camera accounts stay on the board)."""
    found = (
        _CREDENTIAL_BYTES.search(payload)
        if isinstance(payload, bytes)
        else _CREDENTIAL_TEXT.search(payload)
    )
    if found:
        raise ProtocolError(
            "credential_leak",
            f"payload contains a URL with a user name and password at offset {found.start()};"
            " redact it on the board",
        )


def decode(topic: str, payload: bytes | str, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> Message:
    """Parse and validate one MQTT message, or raise :class:`ProtocolError`.

    Besides the schema, it checks that the payload's device id is the one in
    the topic (a board may not speak for another) and that an event's type or
    a command's name matches the topic too.
    """
    size = len(payload.encode()) if isinstance(payload, str) else len(payload)
    if size > max_bytes:
        raise ProtocolError("oversize", f"payload of {size} bytes exceeds the {max_bytes} limit")
    parsed = parse_topic(topic)
    _check_credentials(payload)
    model = model_for(parsed)
    try:
        message = model.model_validate_json(payload)
    except ValidationError as exc:
        reason, detail = _describe(exc)
        raise ProtocolError(reason, detail) from None
    if message.device_id != parsed.device_id:
        raise ProtocolError(
            "device_mismatch",
            f"payload device_id {message.device_id!r} differs from topic's {parsed.device_id!r}",
        )
    name = getattr(message, "command", None) or getattr(
        getattr(message, "data", None), "type", None
    )
    if parsed.name is not None and name is not None and name != parsed.name:
        raise ProtocolError("name_mismatch", f"payload names {name!r}, topic {parsed.name!r}")
    return message  # type: ignore[no-any-return]


def encode(message: Message) -> bytes:
    """Serialise a message as compact JSON (UTF-8); refuses to leak credentials."""
    payload = message.model_dump_json(exclude_none=True).encode()
    _check_credentials(payload)
    return payload
