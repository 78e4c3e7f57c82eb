"""Which board settings the server may change (``set_config``, ``config/desired``).

An allow-list, not a deny-list: a setting added to the agent later is
board-local until someone decides otherwise here. Everything that executes,
names a systemd unit, a file, a URL or a host to contact, holds credentials
or TLS files, or says who the board is and which broker it talks to stays in
the board's ``agent.toml``: an operator account (or whoever has stolen one)
must not be able to turn a board off, point it at another broker or make it
read files and probe its local network. docs/commands.md gives the reason
for each key.

Both sides check with this one list: the server before it stores or
publishes a change (a 422 naming the key), the agent before it applies one
(``rejected`` / ``applied: false``, and nothing of the change applied).

The settings themselves are defined here too (:class:`RemoteConfig`: the
agent's ``log_level``, ``[intervals]`` and ``[spool]``, whose models the
agent's configuration uses), so both sides judge a value with the same
model and the server never imports the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fleet_protocol.errors import ProtocolError

Seconds = Annotated[float, Field(gt=0, le=86_400)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class _Section(BaseModel):
    # Lax, unlike the wire models: values come from TOML, environment
    # variables (text) and JSON alike.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Intervals(_Section):
    """Seconds between readings of each collector."""

    heartbeat: Seconds = 30
    power: Seconds = 60
    network: Seconds = 60
    camera: Seconds = 60
    display: Seconds = 30


class SpoolConfig(_Section):
    # 7 days of default-rate telemetry is ~60,000 messages of ≤ 1 KiB: 100 MB
    # leaves room for a busier configuration.
    max_bytes: int = Field(default=100_000_000, ge=1_000_000)
    max_age_days: float = Field(default=30, gt=0)
    inflight: int = Field(default=100, ge=1, le=10_000)
    #: "receipt": a message leaves the spool when the server's receipt says it
    #: is committed; "puback": when the broker acknowledged it (a server that
    #: sends no receipts).
    delivery: Literal["receipt", "puback"] = "receipt"
    #: a message the broker acknowledged but no receipt covered after this
    #: long is sent again; the wait doubles while no receipt comes (≤ 1 h)
    receipt_timeout_s: Seconds = 60
    #: messages sent and waiting for their receipt, at most; when reached, no
    #: new message is sent until receipts arrive
    unreceipted_max: int = Field(default=3000, ge=1, le=100_000)
    #: bytes kept in a reserve file beside the spool, released when the disk
    #: is full so that delivered messages can still be deleted (0: none)
    reserve_bytes: int = Field(default=2_097_152, ge=0, le=1_073_741_824)
    #: seconds between attempts to write to a spool that failed (disk full)
    retry_s: Seconds = 30
    #: compact encoding (fleet_protocol.compact): seconds a reading may wait
    #: for others to go in one batch with it
    batch_max_delay_s: float = Field(default=60, ge=0, le=3600)
    #: compact encoding: heartbeats wait like other readings instead of going
    #: at once (about half the bytes on the link; a heartbeat then arrives up
    #: to ``batch_max_delay_s`` late)
    batch_heartbeats_wait: bool = False


PerceptualHash = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
CameraKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
Sha256Key = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Distance = Annotated[int, Field(ge=1, le=64)]


class ProofConfig(_Section):
    """Screen and camera proof (edge_agent.proof, docs/agent.md): how often
    the board looks at its screen and cameras, what it calls black, frozen,
    covered, moved or wrong, and how many bytes of pictures it may upload.

    Hashes and verdicts go with every display and camera reading (a few
    bytes); pictures only on demand, when an incident opens, or every
    ``snapshot_interval_s``, and never beyond ``daily_bytes``."""

    #: seconds between screen captures (0: no screen proof)
    screen_interval_s: float = Field(default=60, ge=0, le=86_400)
    #: seconds between frames grabbed from each camera (0: no camera proof)
    camera_interval_s: float = Field(default=300, ge=0, le=86_400)
    #: seconds between pictures uploaded unasked (0: only on demand or incidents)
    snapshot_interval_s: float = Field(default=21_600, ge=0, le=7 * 86_400)
    #: bytes of pictures a board may upload per day (its local day)
    daily_bytes: int = Field(default=2_000_000, ge=0, le=1_000_000_000)
    #: width of an uploaded picture in pixels (its height keeps the aspect)
    snapshot_width: int = Field(default=480, ge=64, le=1920)
    #: black: mean luminance below this and spread below ``flat_stddev``
    black_luma: float = Field(default=16, ge=0, le=255)
    #: a flat picture: luminance spread below this (black if dark, else covered)
    flat_stddev: float = Field(default=6, ge=0, le=128)
    #: captures in a row with the same picture before it is called frozen
    frozen_after: int = Field(default=5, ge=2, le=10_000)
    #: two pictures are "the same" at this hash distance or less
    same_distance: int = Field(default=2, ge=0, le=64)
    #: a camera has moved: distance from its reference above this
    moved_distance: Distance = 20
    #: the wrong content: distance from every reference frame above this
    wrong_distance: Distance = 22
    #: the picture each camera should see, set by an operator from a snapshot
    camera_references: dict[CameraKey, PerceptualHash] = Field(default_factory=dict, max_length=16)
    #: reference frames of approved items by their SHA-256 (from the registry)
    screen_references: dict[Sha256Key, list[PerceptualHash]] = Field(
        default_factory=dict, max_length=64
    )


class DataBudget(_Section):
    """The board's monthly 4G data budget as the server set it (docs/data-budget.md).
    With ``adaptive``, the board stretches its telemetry intervals (power,
    network, camera, display; never the heartbeat, events, state or command
    results) while its month would otherwise overrun the budget."""

    #: bytes a month (None: no budget known to the board)
    monthly_bytes: int | None = Field(default=None, ge=1_000_000, le=10**15)
    adaptive: bool = False


class RemoteConfig(_Section):
    """The part of the agent's configuration a server may change, with the
    agent's defaults."""

    log_level: LogLevel = "INFO"
    intervals: Intervals = Field(default_factory=Intervals)
    spool: SpoolConfig = Field(default_factory=SpoolConfig)
    proof: ProofConfig = Field(default_factory=ProofConfig)
    data_budget: DataBudget = Field(default_factory=DataBudget)


_SECTIONS = tuple(RemoteConfig.model_fields)


#: Settings a server may change remotely, as dotted paths of the agent's
#: configuration (``intervals.heartbeat`` is ``[intervals] heartbeat``).
REMOTE_CONFIG_KEYS: frozenset[str] = frozenset(
    {
        "log_level",
        "intervals.heartbeat",
        "intervals.power",
        "intervals.network",
        "intervals.camera",
        "intervals.display",
        "spool.max_bytes",
        "spool.max_age_days",
        "spool.inflight",
        "spool.delivery",
        "spool.receipt_timeout_s",
        "spool.unreceipted_max",
        "spool.reserve_bytes",
        "spool.retry_s",
        "spool.batch_max_delay_s",
        "spool.batch_heartbeats_wait",
        *(f"proof.{key}" for key in ProofConfig.model_fields),
        "data_budget.monthly_bytes",
        "data_budget.adaptive",
    }
)

_ALLOWED: frozenset[tuple[str, ...]] = frozenset(
    tuple(key.split(".")) for key in REMOTE_CONFIG_KEYS
)
#: Settings whose value is itself a mapping (a camera's reference picture by
#: its id): set whole, their keys are data, not settings.
_MAPPING_VALUED: frozenset[tuple[str, ...]] = frozenset(
    {("proof", "camera_references"), ("proof", "screen_references")}
)


def _leaves(changes: Mapping[str, object], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for key, value in changes.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value and path not in _MAPPING_VALUED:
            paths.extend(_leaves(value, path))
        else:  # a value, a list or an empty section: the path itself is set
            paths.append(path)
    return paths


def board_local_keys(changes: Mapping[str, object]) -> list[str]:
    """The settings in ``changes`` a server may not change, as dotted paths
    (sorted; empty when every one is remote-editable).

    Paths are compared as tuples of keys, so ``{"intervals.heartbeat": 5}``
    (one key with a dot) is not ``intervals.heartbeat``, and a whole section
    (``{"intervals": 5}``) is not each key inside it.
    """
    return sorted({".".join(path) for path in _leaves(changes, ()) if path not in _ALLOWED})


def check_remote_config(changes: Mapping[str, object]) -> None:
    """Raise ProtocolError (``board_local``) naming every board-local setting
    in ``changes``; its ``detail`` is the sentence to show an operator."""
    refused = board_local_keys(changes)
    if refused:
        raise ProtocolError(
            "board_local",
            f"not changeable remotely: {', '.join(refused)} (board-local: set in the"
            " board's agent.toml; see docs/commands.md for the settings a server may change)",
        )


def merge_remote_config(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` (a whole configuration as a dict, e.g. the agent's
    ``model_dump()``) with ``changes`` applied, section by section.

    Raises ProtocolError: ``board_local`` when ``changes`` touches a setting
    outside ``REMOTE_CONFIG_KEYS`` (nothing of it applied), ``invalid_config``
    naming the first setting whose new value :class:`RemoteConfig` refuses
    (``intervals.heartbeat: Input should be greater than 0``).
    """
    check_remote_config(changes)
    merged = dict(current)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    try:
        RemoteConfig.model_validate({key: merged[key] for key in _SECTIONS if key in merged})
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolError("invalid_config", f"{where}: {first['msg']}") from None
    return merged
