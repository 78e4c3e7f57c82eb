"""Compact encoding: several board messages in one compressed MQTT message.

A *batch* travels on ``fleet/v1/<id>/batch``. Its payload is one zlib stream
(RFC 1950) compressed with a preset dictionary (:data:`ZDICT_V1`: one example
of every message a batch carries), so even a batch of three readings
compresses well. Inflated, it is lines, each ended by LF::

    <channel> SP <message>

``<channel>`` is the message's topic below ``fleet/v1/<id>/``
(``telemetry/heartbeat``, ``event/agent_started``) and ``<message>`` is the
message exactly as its JSON form (``codec.encode``'s bytes hold no raw LF).
So ingest validates each one with ``decode`` on its own topic, as strictly
as the JSON form; each keeps its own (boot, seq) for receipts and
de-duplication, and a bad one is refused alone.

Only telemetry and events are batched (:data:`BATCHABLE`): state, command
results, configuration reports, pictures and log bundles keep their own
topics. Negotiated: a board sends batches only after the server named
:data:`ENCODING` in a ``Capabilities`` message on the same connection
(docs/protocol.md, "Compact encoding"); otherwise it sends JSON as before.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from fleet_protocol.errors import ProtocolError
from fleet_protocol.topics import PREFIX, Channel, parse_topic

#: The encoding's name in ``Capabilities.encodings``. A new dictionary or
#: line format is a new name: both sides must read a batch the same way.
ENCODING = "zlib_dict1"
#: Largest batch payload (compressed): with the topic it stays well below
#: the broker's 64 KiB packet limit (broker/mosquitto.conf).
MAX_BATCH_BYTES = 60 * 1024
#: Largest batch inflated: a few kilobytes deflate to more than this only in
#: a decompression bomb, which is refused before it is inflated further.
MAX_INFLATED_BYTES = 1024 * 1024
#: Most messages one batch carries.
MAX_BATCH_MESSAGES = 500
#: Channels whose messages may travel in a batch.
BATCHABLE = frozenset({Channel.TELEMETRY, Channel.EVENT})
_LEVEL = 9

#: The preset dictionary of :data:`ENCODING`: one line of every kind a batch
#: carries, the most frequent last (zlib reaches the end of a dictionary
#: with the shortest distances). Never change it: it is part of the wire
#: format (tests/protocol/test_compact.py pins its hash).
ZDICT_V1 = (
    b'event/agent_started {"schema_version":1,"device_id":"lc-board-01","boot":12,"seq":34'
    b'567,"measured_at":"2026-01-01T00:00:00.123456Z","sent_at":"2026-01-01T00:00:00.12345'
    b'6Z","replay":false,"data":{"type":"agent_started","severity":"info","message":"agent'
    b' started","details":{"boot":12}}}\n'
    b'telemetry/camera {"schema_version":1,"device_id":"lc-board-01","boot":12,"seq":34567'
    b',"measured_at":"2026-01-01T00:00:00.123456Z","sent_at":"2026-01-01T00:00:00.123456Z"'
    b',"replay":false,"data":{"cameras":[{"camera_id":"cam1","reachable":true,"rtsp_answer'
    b'ed":true,"status":"ok","latency_ms":20.5,"picture":{"captured_at":"2026-01-01T00:00:'
    b'00.123456Z","phash":"0f0f0f0f0f0f0f0f","luma_mean":120.5,"luma_stddev":40.2,"black":'
    b'false,"frozen":false,"same_count":1,"reference_distance":3,"covered":false,"moved":f'
    b'alse}},{"camera_id":"cam2","reachable":false,"rtsp_answered":false,"status":"timeout'
    b'","error":"connection timed out"}]}}\n'
    b'telemetry/power {"schema_version":1,"device_id":"lc-board-01","boot":12,"seq":34567,'
    b'"measured_at":"2026-01-01T00:00:00.123456Z","sent_at":"2026-01-01T00:00:00.123456Z",'
    b'"replay":false,"data":{"source":"ups","mains_present":true,"on_battery":false,"low_b'
    b'attery":false,"battery_percent":100.0,"runtime_s":3600,"input_voltage_v":220.5,"ups_'
    b'status":"OL"}}\n'
    b'telemetry/network {"schema_version":1,"device_id":"lc-board-01","boot":12,"seq":3456'
    b'7,"measured_at":"2026-01-01T00:00:00.123456Z","sent_at":"2026-01-01T00:00:00.123456Z'
    b'","replay":false,"data":{"interface":"wwan0","link_up":true,"target":"fleet-server",'
    b'"rtt_ms":45.5,"loss_percent":0.0,"rx_bytes":123456,"tx_bytes":654321,"lte":{"operato'
    b'r":"Viettel","access_tech":"lte","signal_percent":50.5,"rssi_dbm":-70.0,"rsrp_dbm":-'
    b'95.0,"rsrq_db":-10.0,"sinr_db":12.5}}}\n'
    b'telemetry/display {"schema_version":1,"device_id":"lc-board-01","boot":12,"seq":3456'
    b'7,"measured_at":"2026-01-01T00:00:00.123456Z","sent_at":"2026-01-01T00:00:00.123456Z'
    b'","replay":false,"data":{"screen_on":true,"player_running":true,"content_id":"tuyen-'
    b'truyen-2026","content_kind":"propaganda","content_sha256":"0000000000000000000000000'
    b'000000000000000000000000000000000000000","content_language":"vi","content_started_at'
    b'":"2026-01-01T00:00:00.123456Z","screen":{"captured_at":"2026-01-01T00:00:00.123456Z'
    b'","phash":"0f0f0f0f0f0f0f0f","luma_mean":120.5,"luma_stddev":40.2,"black":false,"fro'
    b'zen":false,"same_count":1,"reference_distance":3,"source":"x11","wrong_content":fals'
    b"e}}}\n"
    b'telemetry/heartbeat {"schema_version":1,"device_id":"lc-board-01","boot":12,"seq":34'
    b'567,"measured_at":"2026-01-01T00:00:00.123456Z","sent_at":"2026-01-01T00:00:00.12345'
    b'6Z","replay":false,"data":{"uptime_s":86400,"agent_version":"1.0.0","cpu_percent":12'
    b'.5,"memory_percent":35.0,"disk_percent":22.0,"temperature_c":46.5,"clock_synced":tru'
    b'e,"spool_pending":0,"spool_dropped":0,"spool_degraded":false}}\n'
)


@dataclass(frozen=True, slots=True)
class Inner:
    """One message of a batch: its full topic and its JSON bytes; ``refusal``
    says why this line alone cannot be read (its topic is then the batch's)."""

    topic: str
    payload: bytes
    refusal: ProtocolError | None = None


def batchable(topic: str) -> bool:
    """Whether a message on ``topic`` may travel in a batch."""
    try:
        return parse_topic(topic).channel in BATCHABLE
    except ProtocolError:
        return False


def pack(device_id: str, messages: Iterable[tuple[str, bytes]]) -> bytes:
    """The batch payload for ``(topic, JSON payload)`` pairs of one board;
    ProtocolError for a topic of another board or channel, or a payload
    that cannot be one line."""
    base = f"{PREFIX}/{device_id}/"
    lines = []
    for topic, payload in messages:
        if not topic.startswith(base) or not batchable(topic):
            raise ProtocolError("bad_topic", f"{topic[:120]!r} cannot travel in {base}batch")
        if b"\n" in payload or not payload:
            raise ProtocolError("invalid_payload", "a batched message must be one line of JSON")
        lines.append(topic[len(base) :].encode() + b" " + payload + b"\n")
    if not lines:
        raise ProtocolError("bad_batch", "a batch holds at least one message")
    if len(lines) > MAX_BATCH_MESSAGES:
        raise ProtocolError("batch_too_large", f"more than {MAX_BATCH_MESSAGES} messages")
    body = b"".join(lines)
    if len(body) > MAX_INFLATED_BYTES:
        raise ProtocolError("batch_too_large", f"more than {MAX_INFLATED_BYTES} bytes inflated")
    packer = zlib.compressobj(_LEVEL, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, ZDICT_V1)
    return packer.compress(body) + packer.flush()


def inflate(payload: bytes) -> bytes:
    """The batch's lines, or ProtocolError: not zlib, truncated, followed by
    other bytes, or larger than MAX_INFLATED_BYTES inflated (never inflated
    further than that: a decompression bomb costs a megabyte, not memory)."""
    if len(payload) > MAX_BATCH_BYTES:
        raise ProtocolError(
            "oversize", f"batch of {len(payload)} bytes exceeds the {MAX_BATCH_BYTES} limit"
        )
    reader = zlib.decompressobj(zdict=ZDICT_V1)
    try:
        body = reader.decompress(payload, MAX_INFLATED_BYTES + 1)
    except zlib.error as exc:
        raise ProtocolError(
            "bad_batch", f"batch is not a zlib stream ({ENCODING}): {exc}"
        ) from None
    if len(body) > MAX_INFLATED_BYTES or reader.unconsumed_tail:
        raise ProtocolError(
            "batch_too_large", f"batch inflates to more than {MAX_INFLATED_BYTES} bytes"
        )
    if not reader.eof:
        raise ProtocolError("bad_batch", "batch's zlib stream is truncated")
    if reader.unused_data:
        raise ProtocolError("bad_batch", "bytes follow the batch's zlib stream")
    return body


def unpack(topic: str, payload: bytes) -> list[Inner]:
    """The messages of a batch that came on ``topic``, or ProtocolError when
    the batch as a whole cannot be read. Each line names its channel, which
    must be a batchable one of the same board (the topic's); a line that does
    not is returned with its refusal, and the others are read."""
    parsed = parse_topic(topic)
    if parsed.channel is not Channel.BATCH:
        raise ProtocolError("bad_topic", f"{topic[:120]!r} is not a batch topic")
    body = inflate(payload)
    if not body.endswith(b"\n"):
        raise ProtocolError("bad_batch", "a batch is lines ended by LF")
    lines = body[:-1].split(b"\n")
    if len(lines) > MAX_BATCH_MESSAGES:
        raise ProtocolError(
            "batch_too_large", f"batch holds {len(lines)} messages, over {MAX_BATCH_MESSAGES}"
        )
    base = f"{PREFIX}/{parsed.device_id}/"
    return [_line(topic, base, number, line) for number, line in enumerate(lines, 1)]


def _line(batch: str, base: str, number: int, line: bytes) -> Inner:
    channel, space, message = line.partition(b" ")
    try:
        if not space:
            raise ProtocolError("bad_batch", "no space between channel and message")
        inner = base + channel.decode("ascii")
        if not batchable(inner):
            raise ProtocolError("bad_topic", f"channel {channel[:60]!r} cannot be batched")
    except (ProtocolError, UnicodeDecodeError) as exc:
        detail = exc.detail if isinstance(exc, ProtocolError) else "channel is not ASCII"
        reason = exc.reason if isinstance(exc, ProtocolError) else "bad_topic"
        return Inner(batch, line, ProtocolError(reason, f"batch line {number}: {detail}"))
    return Inner(inner, message)
