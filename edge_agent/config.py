"""Agent configuration: one TOML file, every key overridable by environment.

Precedence: keyword arguments (tests) > ``FLEET_AGENT_*`` environment
variables > the TOML file > defaults. Nested keys use ``__`` in the
environment: ``FLEET_AGENT_INTERVALS__HEARTBEAT=15``. Unknown keys are
errors: the agent refuses to start rather than guessing.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from edge_agent.diagnostics.settings import DiagnosticsConfig
from edge_agent.errors import ConfigError
from edge_agent.update.settings import UpdateConfig
from fleet_protocol.remote_config import (
    DataBudget,
    Intervals,
    LogLevel,
    ProofConfig,
    Seconds,
    SpoolConfig,
)
from fleet_protocol.topics import DEVICE_ID_PATTERN

# The remotely settable sections (log_level, [intervals], [spool], [proof])
# are the protocol's (fleet_protocol.remote_config), which the server checks
# with too; Intervals, SpoolConfig and ProofConfig are re-exported for the agent.
__all__ = [
    "DEFAULT_PATH",
    "ENV_PREFIX",
    "AgentConfig",
    "CameraConfig",
    "CaptureConfig",
    "DisplayConfig",
    "Intervals",
    "NetworkConfig",
    "PowerConfig",
    "ProofConfig",
    "SpoolConfig",
    "environment_overrides",
    "load_config",
]

DEFAULT_PATH = Path("/etc/fleet/agent.toml")
ENV_PREFIX = "FLEET_AGENT_"
# Read by the CLI to find the file, and by a release's launcher to find the
# interpreter (edge_agent.update): not configuration keys.
_NOT_KEYS = {"FLEET_AGENT_CONFIG", "FLEET_AGENT_PYTHON"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PowerConfig(_Section):
    ups: str | None = Field(default=None, description="NUT target for upsc, e.g. ups@localhost")
    power_supply_path: Path = Path("/sys/class/power_supply")


class NetworkConfig(_Section):
    targets: list[str] = Field(default_factory=list, max_length=8)
    interface: str | None = None
    lte: bool = True
    timeout_s: Seconds = 2.0


class CameraConfig(_Section):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
    host: str
    rtsp_port: int = Field(default=554, ge=1, le=65535)
    rtsp_path: str = "/"
    username: str | None = None
    password: SecretStr | None = None
    onvif_port: int | None = Field(default=None, ge=1, le=65535)
    timeout_s: Seconds = 3.0


class DisplayConfig(_Section):
    status_file: Path | None = Path("/run/signage/status.json")
    status_url: str | None = None
    process_name: str | None = "signage-player"
    player_unit: str | None = Field(default=None, description="systemd unit to restart")
    #: How this board's screen shows black and comes back (the kill switch,
    #: docs/agent.md), e.g. ``["vcgencmd", "display_power", "0"]``: both or neither.
    blank_command: list[Annotated[str, Field(min_length=1)]] | None = Field(
        default=None, min_length=1, max_length=16
    )
    unblank_command: list[Annotated[str, Field(min_length=1)]] | None = Field(
        default=None, min_length=1, max_length=16
    )

    @model_validator(mode="after")
    def _blank_both_ways(self) -> DisplayConfig:
        if (self.blank_command is None) != (self.unblank_command is None):
            raise ValueError(
                "blank_command and unblank_command go together: a screen blanked"
                " by order must be able to come back"
            )
        return self


#: The makers' default RTSP accounts a camera may still have (QCVN 135:2024):
#: Hikvision, Dahua, and the many OEM firmwares with an empty password.
DEFAULT_CAMERA_ACCOUNTS: list[tuple[str, str]] = [
    ("admin", "admin"),
    ("admin", "12345"),
    ("admin", ""),
]


class CaptureConfig(_Section):
    """How this board takes pictures of its screen and cameras (board-local:
    it names devices, files and a program to run). What the pictures are
    judged by is ``[proof]``, which a server may change."""

    #: where the screen's picture comes from: the X server (``x11``), the
    #: framebuffer (``fbdev``), a picture the player writes (``file``), or
    #: nowhere (``none``: no screen proof). docs/agent.md says which to choose.
    screen_source: Literal["none", "x11", "fbdev", "file"] = "none"
    x11_display: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]*:[0-9]+(\.[0-9]+)?$")] = ":0"
    #: the X server's cookie file, when the agent's user needs one
    xauthority: Path | None = None
    framebuffer: Path = Path("/dev/fb0")
    #: the picture the player's screenshot hook writes (PNG or JPEG)
    screen_file: Path | None = None
    #: a screen_file older than this is stale (the player stopped writing it)
    screen_file_max_age_s: Seconds = 300
    ffmpeg: str = "ffmpeg"
    #: the longest one picture may take (an RTSP stream: connect, wait for a key frame)
    timeout_s: Seconds = 10
    rtsp_transport: Literal["auto", "udp", "tcp"] = "auto"
    #: accounts tried on each camera that asks for credentials, at most once
    #: every ``default_credentials_every_s`` (cameras lock an account after
    #: a few failed logins: keep the list short and the checks rare)
    default_credentials: list[tuple[str, str]] = Field(
        default_factory=lambda: list(DEFAULT_CAMERA_ACCOUNTS), max_length=8
    )
    default_credentials_every_s: float = Field(default=86_400, ge=0, le=30 * 86_400)

    @model_validator(mode="after")
    def _file_named(self) -> CaptureConfig:
        if self.screen_source == "file" and self.screen_file is None:
            raise ValueError('screen_source = "file" needs screen_file')
        return self


class AgentConfig(BaseModel):
    # No pydantic-settings on the board: it costs memory the controller lacks;
    # load_config() merges file and environment itself.
    model_config = ConfigDict(extra="forbid")

    device_id: Annotated[str, Field(pattern=DEVICE_ID_PATTERN)]
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    credentials_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    spool_path: Path = Path("/var/lib/fleet/spool.db")
    #: where a kill-switch order is kept across restarts (default:
    #: ``<spool_path>.halt``, one per board even when boards share a directory)
    halt_file: Path | None = None
    simulate: bool = False
    allow_reboot: bool = False
    log_level: LogLevel = "INFO"
    keepalive_s: int = Field(default=30, ge=5, le=600)
    intervals: Intervals = Field(default_factory=Intervals)
    spool: SpoolConfig = Field(default_factory=SpoolConfig)
    power: PowerConfig = Field(default_factory=PowerConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    cameras: list[CameraConfig] = Field(default_factory=list, max_length=16)
    display: DisplayConfig = Field(default_factory=DisplayConfig)
    proof: ProofConfig = Field(default_factory=ProofConfig)
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    data_budget: DataBudget = Field(default_factory=DataBudget)
    #: signed updates of the agent (edge_agent.update): board-local
    update: UpdateConfig = Field(default_factory=UpdateConfig)
    #: where ``collect_logs`` reads the logs from (edge_agent.diagnostics): board-local
    diagnostics: DiagnosticsConfig = Field(default_factory=DiagnosticsConfig)

    @field_validator("mqtt_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError("must start with mqtt:// or mqtts://")
        return value

    @field_validator("cameras")
    @classmethod
    def _unique_cameras(cls, value: list[CameraConfig]) -> list[CameraConfig]:
        ids = [c.id for c in value]
        if len(ids) != len(set(ids)):
            raise ValueError("camera ids must be unique")
        return value

    @property
    def proof_state_path(self) -> Path:
        """Where the day's picture budget is kept across restarts."""
        return self.spool_path.with_name(self.spool_path.name + ".proof.json")

    @property
    def usage_state_path(self) -> Path:
        """Where the bytes counted on the link are kept across restarts."""
        return self.spool_path.with_name(self.spool_path.name + ".usage.json")

    @property
    def halt_path(self) -> Path:
        return self.halt_file or self.spool_path.with_name(self.spool_path.name + ".halt")

    def password(self) -> str | None:
        """The MQTT password from ``credentials_file`` (one line), if any."""
        if self.credentials_file is None:
            return None
        try:
            return self.credentials_file.read_text().strip() or None
        except OSError as exc:
            raise ConfigError(
                f"cannot read credentials_file {self.credentials_file}: {exc}"
            ) from exc


def environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``FLEET_AGENT_INTERVALS__HEARTBEAT=15`` → ``{"intervals": {"heartbeat": "15"}}``.

    Values that look like JSON lists or objects (``["a", "b"]``) are parsed;
    everything else stays a string for the model to convert.
    """
    result: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _NOT_KEYS:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        parsed: Any = value
        if value.strip().startswith(("[", "{")):
            try:
                parsed = json.loads(value)
            except ValueError:
                raise ConfigError(f"{name}: not valid JSON: {value[:80]!r}") from None
        node = result
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {part} is not a section")
        node[path[-1]] = parsed
    return result


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None, **overrides: Any
) -> AgentConfig:
    """Read and validate the configuration, or raise ConfigError naming the key.

    Precedence: ``overrides`` > environment > file > defaults.
    """
    data: dict[str, Any] = {}
    if path is not None:
        if not path.exists():
            raise ConfigError(f"configuration file {path} does not exist")
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    data = _merge(data, environment_overrides(os.environ if environ is None else environ))
    data = _merge(data, overrides)
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        where = str(path) if path else "environment"
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"{where}: {problems}") from None
