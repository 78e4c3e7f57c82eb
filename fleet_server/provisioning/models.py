"""What provisioning takes and hands back: a new board's description, the
board's public record, and the one-time credentials bundle.

Secrets (the password, the private key) live only in :class:`BoardBundle`,
whose ``repr`` leaves them out, so a log line or a traceback never shows one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic_core import to_jsonable_python

from fleet_protocol.topics import is_device_id
from fleet_server.errors import RequestError

Auth = Literal["password", "certificate"]
AUTH_METHODS: tuple[Auth, ...] = ("password", "certificate")

#: Why an operation (or an import row) failed; also the ``reason`` of the API's
#: problem documents and of the CLI's per-row report.
Reason = Literal[
    "bad_id",
    "bad_row",
    "unknown_site",
    "duplicate",
    "not_found",
    "removed",
    "broker_refused",
    "broker_unavailable",
    "not_configured",
    "ca_unavailable",
    "ca_refused",
]

CAMERA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
#: Account names of the broker's own services: never a board.
RESERVED_IDS = frozenset({"fleet-admin", "fleet-server"})


#: The HTTP status the API answers each reason with (any other: 400).
STATUS: dict[str, int] = {
    "bad_id": 422,
    "bad_row": 422,
    "ca_refused": 422,
    "unknown_site": 404,
    "not_found": 404,
    "duplicate": 409,
    "removed": 409,
    "broker_refused": 502,
    "broker_unavailable": 503,
    "not_configured": 503,
    "ca_unavailable": 503,
}


class ProvisioningError(RequestError):
    """An operation refused or failed; ``reason`` says which way (see Reason).
    The API answers with the reason's status (``STATUS``), the reason as the
    problem's kind (``bad-id``) and as its ``reason`` member."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail, reason=reason)
        self.status = STATUS.get(reason, 400)
        self.kind = reason.replace("_", "-")
        self.reason: Reason = reason


def unavailable_id(board_id: str) -> ProvisioningError:
    """The one answer for an id that cannot be used, whatever the reason: a
    reserved account name, or a board the caller may not see (whose
    existence is not theirs to learn). The two cannot be told apart."""
    return ProvisioningError("bad_id", f"{board_id[:80]!r} cannot be used as a board id")


@dataclass(frozen=True, slots=True)
class CameraSpec:
    camera_id: str
    name: str


@dataclass(frozen=True, slots=True)
class NewBoard:
    """A board to provision. ``site`` is the site's code; the API may give
    ``site_id`` instead."""

    board_id: str
    name: str
    site: str | None = None
    site_id: int | None = None
    model: str | None = None
    serial: str | None = None
    installed_on: date | None = None
    heartbeat_interval_s: int | None = None
    cameras: tuple[CameraSpec, ...] = ()
    auth: Auth = "password"

    def check(self) -> None:
        """Raise ProvisioningError (bad_id / bad_row) naming the first problem."""
        if not is_device_id(self.board_id):
            raise ProvisioningError(
                "bad_id",
                f"{self.board_id[:80]!r} is not a valid board id"
                " (letters, digits, '-' and '_', at most 64, starting with a letter or digit)",
            )
        if self.board_id in RESERVED_IDS:
            raise unavailable_id(self.board_id)
        if (self.site is None) == (self.site_id is None):
            raise ProvisioningError("bad_row", "give the site's code (or, in the API, its id)")
        _text("name", self.name, 200, required=True)
        _text("model", self.model, 100)
        _text("serial", self.serial, 100)
        if self.auth not in AUTH_METHODS:
            raise ProvisioningError(
                "bad_row", f"auth must be 'password' or 'certificate', not {self.auth!r}"
            )
        if self.heartbeat_interval_s is not None and not 5 <= self.heartbeat_interval_s <= 86_400:
            raise ProvisioningError("bad_row", "heartbeat_interval_s must be 5-86400 seconds")
        seen: set[str] = set()
        for camera in self.cameras:
            if not CAMERA_ID.match(camera.camera_id):
                raise ProvisioningError(
                    "bad_row", f"camera id {camera.camera_id[:40]!r} is not valid"
                )
            if camera.camera_id in seen:
                raise ProvisioningError("bad_row", f"camera {camera.camera_id!r} is listed twice")
            seen.add(camera.camera_id)
            _text(f"camera {camera.camera_id} name", camera.name, 200, required=True)
        if len(self.cameras) > 16:
            raise ProvisioningError("bad_row", "at most 16 cameras per board")


def _text(what: str, value: str | None, limit: int, *, required: bool = False) -> None:
    if value is None or value == "":
        if required:
            raise ProvisioningError("bad_row", f"{what} is required")
        return
    if "\x00" in value:
        raise ProvisioningError("bad_row", f"{what} contains a NUL character")
    if not value.strip():
        raise ProvisioningError("bad_row", f"{what} is blank")
    if len(value) > limit:
        raise ProvisioningError("bad_row", f"{what} is longer than {limit} characters")


@dataclass(frozen=True, slots=True)
class BoardRecord:
    """A board as provisioning sees it: inventory, broker login, lifecycle.
    Public; this is what audit rows hold before and after."""

    id: str
    site_id: int
    site_code: str
    name: str
    model: str | None
    serial: str | None
    installed_on: date | None
    enabled: bool
    auth: Auth | None
    cert_serial: str | None
    cert_not_after: datetime | None
    provisioned_at: datetime | None
    credentials_rotated_at: datetime | None
    disabled_at: datetime | None
    disabled_by: str | None
    removed_at: datetime | None
    removed_by: str | None
    cameras: tuple[str, ...] = ()

    def plain(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO strings), for audit rows."""
        value = to_jsonable_python(asdict(self))
        assert isinstance(value, dict)
        return value


PASSWORD_FILE = "mqtt.pw"  # noqa: S105 - a file name
CA_FILE = "ca.crt"
CERT_FILE = "board.crt"
KEY_FILE = "board.key"
AGENT_TOML = "agent.toml"


@dataclass(frozen=True, slots=True)
class BoardBundle:
    """The one-time credentials of a board and its ready agent.toml.

    Shown once: the server keeps neither the password nor the private key."""

    board_id: str
    auth: Auth
    mqtt_url: str
    agent_toml: str
    ca_pem: str | None
    password: str | None = field(default=None, repr=False)
    certificate_pem: str | None = None
    private_key_pem: str | None = field(default=None, repr=False)
    cert_serial: str | None = None
    cert_not_after: datetime | None = None

    def files(self) -> dict[str, tuple[bytes, int]]:
        """File name → (content, mode): what goes into the board's directory."""
        out: dict[str, tuple[bytes, int]] = {AGENT_TOML: (self.agent_toml.encode(), 0o644)}
        if self.ca_pem is not None:
            out[CA_FILE] = (self.ca_pem.encode(), 0o644)
        if self.password is not None:
            out[PASSWORD_FILE] = (self.password.encode() + b"\n", 0o600)
        if self.certificate_pem is not None:
            out[CERT_FILE] = (self.certificate_pem.encode(), 0o644)
        if self.private_key_pem is not None:
            out[KEY_FILE] = (self.private_key_pem.encode(), 0o600)
        return out

    def secret_files(self) -> Sequence[str]:
        return [name for name, (_, mode) in self.files().items() if mode == 0o600]

    def write(self, directory: Path) -> list[Path]:
        """Write every file into ``directory`` (created 0700), secrets 0600,
        each atomically (temp file + rename)."""
        from fleet_server.broker.pki import write_file  # noqa: PLC0415 - light import

        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        written = []
        for name, (content, mode) in self.files().items():
            write_file(directory / name, content, mode)
            written.append(directory / name)
        return written


@dataclass(frozen=True, slots=True)
class Provisioned:
    """A board provisioned or given new credentials."""

    board: BoardRecord
    bundle: BoardBundle
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Changed:
    """A board disabled, enabled or removed."""

    board: BoardRecord
    notes: tuple[str, ...] = ()
