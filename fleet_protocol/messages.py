"""Message models for everything boards and server exchange.

Every board → server message is an :class:`Envelope` plus a ``data`` object
whose shape depends on the topic. Models are strict: unknown fields are
rejected, strings and lists are bounded, times must carry a timezone and are
normalised to UTC, and every value fits what stores it (:mod:`.bounds`).

Longer than 400 lines: the one wire schema — every model a board and the
server exchange, in the order docs/protocol.md describes them, so the two
can be checked against each other line by line.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EncodedBytes, Field, model_validator
from pydantic.types import EncoderProtocol
from pydantic_core import PydanticCustomError

from fleet_protocol.bounds import (
    INT32_MAX,
    INT64_MAX,
    MAX_RUNTIME_S,
    MAX_UPTIME_S,
    DelayMs,
    FreeText,
    Int32Count,
    Int64Count,
    JsonObject,
    PlainText,
    SchemaVersion,
    ShortKey,
    UtcTime,
    json_object,
)
from fleet_protocol.logs import MAX_LOG_BUNDLE_BYTES, MAX_LOG_LINES, LogBundleKind, gunzip
from fleet_protocol.topics import DEVICE_ID_PATTERN, NAME_PATTERN, Channel, TelemetryKind
from fleet_protocol.usage import DataUsage, check_day

SCHEMA_VERSION: Literal[1] = 1
MAX_SEQ = INT64_MAX  # fits PostgreSQL bigint; a board never wraps it
MAX_BOOT = INT32_MAX
#: Configuration versions (config/desired and config/reported).
MAX_CONFIG_VERSION = INT32_MAX

# A URL with user:password@ must never leave the board (Điều 13.1.b).
CREDENTIAL_PATTERN = r"[A-Za-z][A-Za-z0-9+.-]*:(?:\\?/){2}[^\s/@\"]*:[^\s@\"]*@"
#: Where a credential URL may end: an "@" (split off), a quote or white space.
_RUNS = re.compile(rb'[\s"@]')
#: The head of a credential URL: scheme, "://" (or ":\/\/" in JSON), user, ":".
_URL_HEAD = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]{0,31}:(?:\\?/){2}[^\s/@\":]*+:")


def credential_at(text: bytes | str) -> int | None:
    """Where in ``text`` (bytes; a str is taken as UTF-8) a URL with
    user:password@ starts (CREDENTIAL_PATTERN), or None; in time linear in
    the length of ``text``.

    The pattern itself, searched over a hostile 64 KiB payload (``a://`` and
    colons), backtracks for a minute. Here: a password holds no "@", quote or
    white space, so a whole credential URL lies in one run of text between
    two of those, ending at an "@"; only such runs are searched, for the
    URL's head alone (a scheme of at most 32 characters)."""
    data = text.encode(errors="surrogatepass") if isinstance(text, str) else text
    if b"@" not in data:
        return None
    start = 0
    for stop in _RUNS.finditer(data):
        if stop.group() == b"@":
            head = _URL_HEAD.search(data, start, stop.start())
            if head is not None:
                return head.start()
        start = stop.end()
    return None


def has_credentials(text: bytes | str) -> bool:
    """Whether ``text`` holds a URL with user:password@ (see :func:`credential_at`)."""
    return credential_at(text) is not None


def _no_credentials(value: str) -> str:
    if has_credentials(value):
        raise ValueError("text contains a URL with credentials; redact it on the board")
    return value


DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN)]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
RequestId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Percent = Annotated[float, Field(ge=0, le=100)]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
#: Short strings (versions, interface names, operators …): no control characters.
Text16 = Annotated[PlainText, Field(max_length=16)]
Text32 = Annotated[PlainText, Field(max_length=32)]
Text64 = Annotated[PlainText, Field(max_length=64)]
Text128 = Annotated[PlainText, Field(max_length=128)]
Text255 = Annotated[PlainText, Field(max_length=255)]
#: Messages, reasons and errors: tab, LF and CR allowed, no credential URL.
Message500 = Annotated[FreeText, Field(max_length=500), AfterValidator(_no_credentials)]
SafeText = Message500 | None
Scalar = str | int | float | bool | None
Version = Annotated[int, Field(ge=0, le=MAX_CONFIG_VERSION)]


class _Strict(BaseModel):
    # defer_build: a validator is built on first use (fleet_protocol.build)
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        str_max_length=4096,
        allow_inf_nan=False,
        defer_build=True,
    )


# --------------------------------------------------------------------------- data parts


class StateData(_Strict):
    status: Literal["online", "offline", "lost"]
    agent_version: Text32 | None = None
    reason: SafeText = None
    heartbeat_interval_s: Annotated[int, Field(ge=1, le=86_400)] | None = None


class HeartbeatData(_Strict):
    uptime_s: Annotated[int, Field(ge=0, le=MAX_UPTIME_S)]
    agent_version: Text32
    cpu_percent: Percent
    memory_percent: Percent
    disk_percent: Percent
    temperature_c: Annotated[float, Field(ge=-60, le=150)] | None = None
    clock_synced: bool | None = None
    spool_pending: Int32Count = 0
    spool_dropped: Int32Count = 0
    #: the spool cannot be written (disk full or failing): live readings only
    spool_degraded: bool = False


class PowerData(_Strict):
    source: Literal["ups", "power_supply", "simulated", "none"]
    mains_present: bool | None = None
    on_battery: bool
    low_battery: bool = False
    battery_percent: Percent | None = None
    runtime_s: Annotated[int, Field(ge=0, le=MAX_RUNTIME_S)] | None = None
    input_voltage_v: Annotated[float, Field(ge=0, le=500)] | None = None
    ups_status: Text32 | None = None


class LteData(_Strict):
    operator: Text64 | None = None
    access_tech: Text16 | None = None
    signal_percent: Percent | None = None
    rssi_dbm: Annotated[float, Field(ge=-150, le=0)] | None = None
    rsrp_dbm: Annotated[float, Field(ge=-160, le=0)] | None = None
    rsrq_db: Annotated[float, Field(ge=-40, le=10)] | None = None
    sinr_db: Annotated[float, Field(ge=-30, le=50)] | None = None


class NetworkData(_Strict):
    interface: Text32 | None = None
    link_up: bool
    target: Text255 | None = None
    rtt_ms: DelayMs | None = None
    loss_percent: Percent | None = None
    rx_bytes: Int64Count | None = None
    tx_bytes: Int64Count | None = None
    lte: LteData | None = None
    #: the agent's own bytes on the link today and this month (fleet_protocol.usage)
    data_usage: DataUsage | None = None


CameraState = Literal[
    "ok", "unauthorized", "stream_missing", "timeout", "refused", "bad_response", "error"
]


#: A 64-bit perceptual hash of a picture (a difference hash of a 9 × 8 grey
#: thumbnail, row by row, most significant bit first), as 16 hex digits.
PerceptualHash = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
#: Luminance on the 0–255 scale of a grey frame.
Luma = Annotated[float, Field(ge=0, le=255)]
#: Hamming distance between two perceptual hashes (0 = the same picture).
HashDistance = Annotated[int, Field(ge=0, le=64)]
CameraId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
#: Where the board took its screen picture from (docs/agent.md, "Screen proof").
ScreenSource = Literal["player", "x11", "fbdev", "drm", "file", "simulated"]


class PictureCheck(_Strict):
    """What the board saw in the last picture it took of a screen or from a
    camera: a few bytes, sent with every display or camera reading. The
    verdicts are the board's own (edge_agent.proof), so they hold when the
    picture itself is never uploaded."""

    captured_at: UtcTime
    phash: PerceptualHash
    luma_mean: Luma
    luma_stddev: Luma
    #: dark and flat: nothing is shown (or the lens sees nothing)
    black: bool
    #: the same picture across ``same_count`` captures when it should change
    frozen: bool
    #: how many captures in a row gave the same picture (1: it just changed)
    same_count: Annotated[int, Field(ge=1, le=INT32_MAX)] = 1
    #: distance to the nearest reference picture; None when there is none
    reference_distance: HashDistance | None = None


class ScreenCheck(PictureCheck):
    source: ScreenSource
    #: far from every reference frame of the approved item on air; None when
    #: the registry has no reference frames for it
    wrong_content: bool | None = None


class CameraPicture(PictureCheck):
    #: bright but flat: something in front of the lens (tape, a bag, paint)
    covered: bool = False
    #: far from the reference the operator set: turned away; None without one
    moved: bool | None = None


class CameraStatus(_Strict):
    camera_id: CameraId
    reachable: bool
    rtsp_answered: bool
    status: CameraState
    latency_ms: DelayMs | None = None
    error: SafeText = None
    #: the last frame grabbed from the stream, judged on the board
    picture: CameraPicture | None = None
    #: why no frame could be grabbed (credentials already redacted)
    picture_error: SafeText = None
    #: QCVN 135:2024 checks a board can make: the firmware the camera reports
    firmware: Text64 | None = None
    #: the maker's default credentials still open the stream
    default_credentials: bool | None = None


class CameraData(_Strict):
    cameras: Annotated[list[CameraStatus], Field(max_length=16)]


ContentKind = Literal["propaganda", "advertising", "emergency"]
#: Why nothing is on air by order (the kill switch, Điều 12.2; fleet_protocol.commands):
#: ``blank_screen`` (the screen is black, the player stopped) or ``stop_content``
#: (the player stopped).
HaltMode = Literal["blank_screen", "stop_content"]


class DisplayData(_Strict):
    screen_on: bool | None = None
    player_running: bool
    content_id: Text128 | None = None
    content_kind: ContentKind | None = None
    content_sha256: Sha256 | None = None
    content_language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[a-z]{2,3})?$")] | None = None
    content_started_at: UtcTime | None = None
    #: set while the board is halted by a kill-switch order; absent otherwise
    halted: HaltMode | None = None
    #: what is really on the screen (edge_agent.proof); absent when the
    #: board has no screen proof configured
    screen: ScreenCheck | None = None
    #: why no screen picture could be taken
    screen_error: SafeText = None


class EventData(_Strict):
    type: Name
    severity: Literal["info", "warning", "error", "critical"] = "info"
    message: Message500
    details: Annotated[
        dict[ShortKey, Scalar], Field(max_length=32), AfterValidator(json_object)
    ] = Field(default_factory=dict)


#: Largest JPEG a snapshot carries: with base64 and the envelope the message
#: stays below the broker's 64 KiB packet limit (broker/mosquitto.conf).
MAX_SNAPSHOT_BYTES = 44_000
SnapshotReason = Literal["interval", "command", "incident"]


class _StrictBase64(EncoderProtocol):
    """Base64 (RFC 4648, padded) read strictly: pydantic's ``Base64Bytes``
    skips every character outside the alphabet, so a control character or
    any junk in ``jpeg`` would pass unnoticed."""

    @classmethod
    def decode(cls, data: bytes) -> bytes:
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise PydanticCustomError(
                "base64_decode", "not base64 (RFC 4648, padded, no line breaks)"
            ) from None

    @classmethod
    def encode(cls, value: bytes) -> bytes:
        return base64.b64encode(value)

    @classmethod
    def get_json_format(cls) -> Literal["base64"]:
        return "base64"


def _is_jpeg(value: bytes) -> bytes:
    if not value.startswith(b"\xff\xd8\xff"):
        raise ValueError("not a JPEG (it starts with FF D8 FF)")
    return value


#: A JPEG file as base64 text (in Python too: pass ``base64.b64encode(raw)``).
JpegBase64 = Annotated[
    bytes,
    EncodedBytes(encoder=_StrictBase64),
    Field(min_length=4, max_length=MAX_SNAPSHOT_BYTES),
    AfterValidator(_is_jpeg),
]


class SnapshotData(_Strict):
    """A downscaled picture of the screen or of one camera, uploaded only on
    demand, when an incident opens, or at a low interval, within the board's
    daily byte budget."""

    source: Literal["screen", "camera"]
    #: the camera's id; None for the screen
    camera_id: CameraId | None = None
    reason: SnapshotReason
    #: the ``screenshot`` command that asked for it
    request_id: RequestId | None = None
    captured_at: UtcTime
    width: Annotated[int, Field(ge=1, le=1920)]
    height: Annotated[int, Field(ge=1, le=1080)]
    phash: PerceptualHash
    jpeg: JpegBase64

    @model_validator(mode="after")
    def _camera_named(self) -> SnapshotData:
        if (self.source == "camera") != (self.camera_id is not None):
            raise ValueError("camera_id: required with source camera, and only with it")
        return self


def _is_gzip(value: bytes) -> bytes:
    if not value.startswith(b"\x1f\x8b"):
        raise ValueError("not gzip (it starts with 1F 8B)")
    return value


#: A gzip body as base64 text (in Python too: pass ``base64.b64encode(raw)``).
GzipBase64 = Annotated[
    bytes,
    EncodedBytes(encoder=_StrictBase64),
    Field(min_length=18, max_length=MAX_LOG_BUNDLE_BYTES),
    AfterValidator(_is_gzip),
]


class LogBundleData(_Strict):
    """A journal extract or a diagnostics report (JSON) a board uploads for
    a ``collect_logs`` command (fleet_protocol.logs): redacted on the board,
    gzipped, the oldest lines dropped until it fits (``truncated``)."""

    request_id: RequestId
    kind: LogBundleKind
    captured_at: UtcTime
    #: the journal's window started here; None for diagnostics
    since: UtcTime | None = None
    #: lines in the body (a journal's; 0 for diagnostics)
    lines: Annotated[int, Field(ge=0, le=MAX_LOG_LINES)]
    truncated: bool = False
    #: size of the text before any line was dropped to fit
    original_bytes: Annotated[int, Field(ge=0, le=INT32_MAX)]
    compression: Literal["gzip"] = "gzip"
    body: GzipBase64

    @model_validator(mode="after")
    def _body_readable(self) -> LogBundleData:
        if (self.kind == "journal") != (self.since is not None):
            raise ValueError("since: required with kind journal, and only with it")
        # Unpacked once, bounded: a bundle the server would store must be
        # text a person can read and must hold no credential the board missed.
        text = gunzip(self.body)
        if len(text) > self.original_bytes:
            raise ValueError("original_bytes: smaller than the body unpacked")
        try:
            text.decode()
        except UnicodeDecodeError as exc:
            raise ValueError(f"body: not UTF-8 text at offset {exc.start}") from None
        if has_credentials(text):
            raise ValueError("body: contains a URL with credentials; redact it on the board")
        return self


class CommandResultData(_Strict):
    request_id: RequestId
    command: Name
    status: Literal["ok", "error", "rejected", "expired"]
    output: Annotated[JsonObject, Field(max_length=64)] | None = None
    error: SafeText = None


class ConfigReportedData(_Strict):
    version: Version
    applied: bool
    error: SafeText = None
    config: Annotated[JsonObject, Field(max_length=128)]


# --------------------------------------------------------------------------- board → server


class Envelope(_Strict):
    """Fields every board → server message carries."""

    CHANNEL: ClassVar[Channel]
    KIND: ClassVar[TelemetryKind | None] = None

    schema_version: SchemaVersion
    device_id: DeviceId
    boot: Annotated[int, Field(ge=1, le=MAX_BOOT)]
    seq: Seq
    measured_at: UtcTime
    sent_at: UtcTime
    replay: bool = False
    data: Any


class StateMessage(Envelope):
    CHANNEL = Channel.STATE
    data: StateData


class HeartbeatMessage(Envelope):
    CHANNEL = Channel.TELEMETRY
    KIND = TelemetryKind.HEARTBEAT
    data: HeartbeatData


class PowerMessage(Envelope):
    CHANNEL = Channel.TELEMETRY
    KIND = TelemetryKind.POWER
    data: PowerData


class NetworkMessage(Envelope):
    CHANNEL = Channel.TELEMETRY
    KIND = TelemetryKind.NETWORK
    data: NetworkData

    @model_validator(mode="after")
    def _usage_day(self) -> NetworkMessage:
        if self.data.data_usage is not None:  # the day's bytes are the reading's day's
            check_day(self.data.data_usage, self.measured_at)
        return self


class CameraMessage(Envelope):
    CHANNEL = Channel.TELEMETRY
    KIND = TelemetryKind.CAMERA
    data: CameraData


class DisplayMessage(Envelope):
    CHANNEL = Channel.TELEMETRY
    KIND = TelemetryKind.DISPLAY
    data: DisplayData


class EventMessage(Envelope):
    CHANNEL = Channel.EVENT
    data: EventData


class SnapshotMessage(Envelope):
    CHANNEL = Channel.SNAPSHOT
    data: SnapshotData


class LogBundleMessage(Envelope):
    CHANNEL = Channel.LOGS
    data: LogBundleData


class CommandResultMessage(Envelope):
    CHANNEL = Channel.CMD_RESULT
    data: CommandResultData


class ConfigReportedMessage(Envelope):
    CHANNEL = Channel.CONFIG_REPORTED
    data: ConfigReportedData


TelemetryMessage = HeartbeatMessage | PowerMessage | NetworkMessage | CameraMessage | DisplayMessage
BoardMessage = (
    StateMessage
    | TelemetryMessage
    | EventMessage
    | SnapshotMessage
    | LogBundleMessage
    | CommandResultMessage
    | ConfigReportedMessage
)

TELEMETRY_MODELS: dict[TelemetryKind, type[Envelope]] = {
    TelemetryKind.HEARTBEAT: HeartbeatMessage,
    TelemetryKind.POWER: PowerMessage,
    TelemetryKind.NETWORK: NetworkMessage,
    TelemetryKind.CAMERA: CameraMessage,
    TelemetryKind.DISPLAY: DisplayMessage,
}


# --------------------------------------------------------------------------- server → board


class CommandRequest(_Strict):
    """A command on ``cmd/<name>``. ``expires_at`` backs up MQTT 5 message expiry."""

    CHANNEL: ClassVar[Channel] = Channel.CMD

    schema_version: SchemaVersion
    device_id: DeviceId
    request_id: RequestId
    command: Name
    issued_at: UtcTime
    expires_at: UtcTime | None = None
    args: Annotated[JsonObject, Field(max_length=64)] = Field(default_factory=dict)


class ConfigDesired(_Strict):
    """Versioned configuration the server wants a board to apply (retained)."""

    CHANNEL: ClassVar[Channel] = Channel.CONFIG_DESIRED

    schema_version: SchemaVersion
    device_id: DeviceId
    version: Version
    issued_at: UtcTime
    config: Annotated[JsonObject, Field(max_length=128)]


#: Most seq ranges one receipt carries; ingest splits larger sets.
MAX_RECEIPT_RANGES = 256
#: Longest a server may hold a compact board's receipts, and most messages held
MAX_RECEIPT_EVERY_S = 900
MAX_RECEIPT_HOLD = 1000


def _ordered(value: tuple[int, int]) -> tuple[int, int]:
    if value[0] > value[1]:
        raise ValueError("a seq range must not end before it starts")
    return value


SeqRange = Annotated[tuple[Seq, Seq], AfterValidator(_ordered)]


class Receipt(_Strict):
    """An end-to-end delivery receipt on ``receipt``: the server has committed
    (stored, or kept as a dead letter) every message of this board's ``boot``
    whose seq lies in one of ``ranges`` (inclusive). The board may delete
    those from its spool; PUBACK only means the broker has them."""

    CHANNEL: ClassVar[Channel] = Channel.RECEIPT

    schema_version: SchemaVersion
    device_id: DeviceId
    boot: Annotated[int, Field(ge=1, le=MAX_BOOT)]
    ranges: Annotated[list[SeqRange], Field(min_length=1, max_length=MAX_RECEIPT_RANGES)]
    committed_at: UtcTime


class Capabilities(_Strict):
    """What ingest accepts besides plain JSON, on ``capabilities`` after each
    birth it stores (fleet_protocol.compact). Only agents that know it
    subscribe to that topic: an older agent never sees it and keeps JSON."""

    CHANNEL: ClassVar[Channel] = Channel.CAPABILITIES

    schema_version: SchemaVersion
    device_id: DeviceId
    #: encodings by name (an agent picks one it speaks, else stays on JSON)
    encodings: Annotated[list[Name], Field(max_length=16)]
    issued_at: UtcTime
    #: the receipts of messages that came in a batch are held up to this long
    #: (or until ``receipt_hold_max`` of them wait): the agent waits as much
    #: longer before it sends them again. Absent: a receipt after each commit.
    receipt_every_s: Annotated[int, Field(ge=1, le=MAX_RECEIPT_EVERY_S)] | None = None
    #: at most this many messages' receipts held; the agent keeps at least
    #: as many unreceipted, so it never stalls on the wait
    receipt_hold_max: Annotated[int, Field(ge=1, le=MAX_RECEIPT_HOLD)] | None = None


Message = BoardMessage | CommandRequest | ConfigDesired | Receipt | Capabilities
