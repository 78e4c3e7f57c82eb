"""``decode(topic, payload)`` and ``encode(message)``: the only way in and out."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from fleet_protocol.bounds import printable
from fleet_protocol.errors import ProtocolError
from fleet_protocol.messages import (
    TELEMETRY_MODELS,
    Capabilities,
    CommandRequest,
    CommandResultMessage,
    ConfigDesired,
    ConfigReportedMessage,
    DisplayData,
    Envelope,
    EventMessage,
    LogBundleMessage,
    Message,
    Receipt,
    SnapshotMessage,
    StateMessage,
    credential_at,
)
from fleet_protocol.topics import Channel, TelemetryKind, Topic, parse_topic

#: Largest payload accepted by default. Real messages are well under 4 KiB.
MAX_PAYLOAD_BYTES = 16 * 1024
#: A snapshot carries a JPEG: up to the broker's packet limit (64 KiB, broker/mosquitto.conf).
MAX_SNAPSHOT_PAYLOAD_BYTES = 64 * 1024 - 512
#: The channels whose messages may be that large: pictures and log bundles.
LARGE_CHANNELS = (Channel.SNAPSHOT.value, Channel.LOGS.value)
#: How far a board's times may lie before / after the time ingest received the
#: message (a spool keeps at most a few weeks; a day ahead covers any time zone
#: mistake). Outside it the board's clock is wrong.
DEFAULT_CLOCK_PAST_S = 400 * 86_400.0
DEFAULT_CLOCK_FUTURE_S = 86_400.0

_CHANNEL_MODELS: dict[Channel, type[Any]] = {
    Channel.STATE: StateMessage,
    Channel.EVENT: EventMessage,
    Channel.CMD: CommandRequest,
    Channel.CMD_RESULT: CommandResultMessage,
    Channel.CONFIG_DESIRED: ConfigDesired,
    Channel.CONFIG_REPORTED: ConfigReportedMessage,
    Channel.RECEIPT: Receipt,
    Channel.SNAPSHOT: SnapshotMessage,
    Channel.LOGS: LogBundleMessage,
    Channel.CAPABILITIES: Capabilities,
}


def large_payload_allowed(topic: str) -> bool:
    """Whether ``topic`` is a board's snapshot or logs topic, whose payload
    may reach MAX_SNAPSHOT_PAYLOAD_BYTES (an event named ``logs`` may not)."""
    parts = topic.split("/", 4)
    return len(parts) == 4 and parts[3] in LARGE_CHANNELS


def model_for(topic: Topic) -> type[Any]:
    if topic.channel is Channel.BATCH:
        raise ProtocolError(
            "bad_topic", "a batch holds several messages: fleet_protocol.compact.unpack reads it"
        )
    if topic.channel is Channel.TELEMETRY:
        assert topic.name is not None  # parse_topic guarantees a kind
        return TELEMETRY_MODELS[TelemetryKind(topic.name)]
    return _CHANNEL_MODELS[topic.channel]


def _describe(exc: ValidationError) -> tuple[str, str]:
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return "bad_json", "payload is not valid JSON: " + errors[0]["msg"]
    if any(e["loc"][:1] == ("schema_version",) for e in errors):
        return "unsupported_schema", "schema_version must be the JSON integer 1"
    parts = []
    for err in errors[:3]:
        # a dict key is part of the location: never let its characters into the detail
        where = ".".join(printable(str(p))[:64] for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg']}")
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "invalid_payload", "; ".join(parts) + more


@cache
def _may_have(cls: type[Any], name: str) -> bool:
    """Whether instances of ``cls`` may have ``name``: anything but a pydantic
    model, or a model with that field or class attribute (or extra fields)."""
    if not issubclass(cls, BaseModel):
        return True
    extra = cls.model_config.get("extra") == "allow"
    return extra or name in cls.model_fields or hasattr(cls, name)


def _attribute(obj: object, name: str) -> Any:
    """``getattr(obj, name, None)`` without pydantic's slow path for a missing
    name (an AttributeError raised and caught: most of a small message's decoding)."""
    cls: Any = type(obj)
    return getattr(obj, name, None) if _may_have(cls, name) else None


def _check_credentials(payload: bytes | str) -> None:
    """Reject any URL with user:password@, in whatever field it hides
    (Điều 13.1.b: camera accounts stay on the board)."""
    found = credential_at(payload)
    if found is not None:
        raise ProtocolError(
            "credential_leak",
            f"payload contains a URL with a user name and password at offset {found};"
            " redact it on the board",
        )


def _as_bytes(payload: bytes | str) -> bytes:
    try:
        return payload.encode() if isinstance(payload, str) else payload
    except UnicodeEncodeError as exc:  # a lone surrogate in a str payload
        raise ProtocolError(
            "bad_json", f"payload is not valid UTF-8: {exc.reason} at offset {exc.start}"
        ) from None


def _check_clock(message: Envelope, received_at: datetime, past_s: float, future_s: float) -> None:
    """Refuse times the board's clock cannot have meant (stored, they would
    land in partitions, rollups and reports years away)."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must include a timezone")
    times = [("measured_at", message.measured_at), ("sent_at", message.sent_at)]
    if isinstance(message.data, DisplayData) and message.data.content_started_at is not None:
        times.append(("data.content_started_at", message.data.content_started_at))
    for field, value in times:
        offset = (value - received_at).total_seconds()
        if -past_s <= offset <= future_s:
            continue
        side = "before" if offset < 0 else "after"
        shown = value.isoformat().replace("+00:00", "Z")
        raise ProtocolError(
            "clock_out_of_range",
            f"{field} {shown} is {abs(offset):.0f} s {side} the receiving time;"
            f" the board's clock is wrong (accepted: {past_s:.0f} s before to"
            f" {future_s:.0f} s after)",
        )


def decode(
    topic: str,
    payload: bytes | str,
    *,
    max_bytes: int = MAX_PAYLOAD_BYTES,
    received_at: datetime | None = None,
    past_s: float = DEFAULT_CLOCK_PAST_S,
    future_s: float = DEFAULT_CLOCK_FUTURE_S,
) -> Message:
    """Parse and validate one MQTT message, or raise :class:`ProtocolError`.

    Besides the schema, it checks that the payload's device id is the one in
    the topic (a board may not speak for another) and that an event's type or
    a command's name matches the topic too. Given ``received_at``, a board's
    ``measured_at``, ``sent_at`` (and a display's ``content_started_at``) must
    lie from ``past_s`` seconds before it to ``future_s`` seconds after it.
    """
    # surrogatepass: a str that is not UTF-8 is refused below as bad_json
    size = len(payload.encode(errors="surrogatepass") if isinstance(payload, str) else payload)
    if large_payload_allowed(topic):
        max_bytes = max(max_bytes, MAX_SNAPSHOT_PAYLOAD_BYTES)
    if size > max_bytes:
        raise ProtocolError("oversize", f"payload of {size} bytes exceeds the {max_bytes} limit")
    parsed = parse_topic(topic)
    _check_credentials(payload)
    model = model_for(parsed)
    raw = _as_bytes(payload)
    try:
        message = model.model_validate_json(raw)
    except ValidationError as exc:
        reason, detail = _describe(exc)
        raise ProtocolError(reason, detail) from None
    if b"\\u" in raw or b"\\/" in raw:
        # A JSON escape can spell "/" or "@" so the raw check misses the URL:
        # check the decoded text too (only for the rare payload with escapes).
        _check_credentials(message.model_dump_json())
    if message.device_id != parsed.device_id:
        raise ProtocolError(
            "device_mismatch",
            f"payload device_id {message.device_id!r} differs from topic's {parsed.device_id!r}",
        )
    name = _attribute(message, "command") or _attribute(_attribute(message, "data"), "type")
    if parsed.name is not None and name is not None and name != parsed.name:
        raise ProtocolError("name_mismatch", f"payload names {name!r}, topic {parsed.name!r}")
    if received_at is not None and isinstance(message, Envelope):
        _check_clock(message, received_at, past_s, future_s)
    return message  # type: ignore[no-any-return]


def encode(message: Message) -> bytes:
    """Serialise a message as compact JSON (UTF-8).

    Refuses to leak credentials, and refuses anything ``decode`` would refuse
    for its content: the payload is validated again, so a model changed with
    ``model_copy(update=...)`` (which skips validation) cannot slip through.
    """
    try:
        payload = message.model_dump_json(exclude_none=True).encode()
    except PydanticSerializationError as exc:  # e.g. a lone surrogate in a text
        raise ProtocolError("invalid_payload", f"message cannot be serialised: {exc}") from None
    _check_credentials(payload)
    try:
        type(message).model_validate_json(payload)
    except ValidationError as exc:
        reason, detail = _describe(exc)
        raise ProtocolError(reason, detail) from None
    return payload
