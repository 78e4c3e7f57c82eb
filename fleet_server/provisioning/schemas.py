"""The API's request and response models of board provisioning, and the
domain's results as those models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.provisioning.models import BoardBundle, BoardRecord, Changed, Provisioned

NO_NUL = r"^[^\x00]*$"


class CameraIn(BaseModel):
    camera_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class BoardCreate(BaseModel):
    id: str = Field(pattern=DEVICE_ID_PATTERN, description="the board id (its MQTT user name)")
    site: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="the site's code"
    )
    site_id: int | None = Field(default=None, ge=1, le=2**62, description="or the site's id")
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    model: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    serial: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    installed_on: date | None = None
    heartbeat_interval_s: int | None = Field(default=None, ge=5, le=86_400)
    cameras: list[CameraIn] = Field(default_factory=list, max_length=16)
    auth: Literal["password", "certificate"] = "password"


class RotateIn(BaseModel):
    auth: Literal["password", "certificate"] | None = Field(
        default=None, description="switch the board to this method (default: keep it)"
    )


class BoardLoginOut(BaseModel):
    """A board's inventory, broker login method and lifecycle (no secrets)."""

    id: str
    site_id: int
    site_code: str
    name: str
    model: str | None
    serial: str | None
    installed_on: date | None
    enabled: bool
    auth: Literal["password", "certificate"] | None
    cert_serial: str | None
    cert_not_after: datetime | None
    provisioned_at: datetime | None
    credentials_rotated_at: datetime | None
    disabled_at: datetime | None
    disabled_by: str | None
    removed_at: datetime | None
    removed_by: str | None
    cameras: list[str]


class BoardFile(BaseModel):
    name: str
    mode: str = Field(description="file mode on the board, e.g. 0600 for secrets")
    content: str


class CredentialsOut(BaseModel):
    """Shown once. Copy ``files`` into the board's /etc/fleet/."""

    auth: Literal["password", "certificate"]
    mqtt_url: str
    agent_toml: str
    password: str | None
    certificate_pem: str | None
    private_key_pem: str | None
    ca_pem: str | None
    cert_serial: str | None
    cert_not_after: datetime | None
    files: list[BoardFile]


class ProvisionedOut(BaseModel):
    board: BoardLoginOut
    credentials: CredentialsOut
    notes: list[str]


class ChangedOut(BaseModel):
    board: BoardLoginOut
    notes: list[str]


class ImportRowOut(BaseModel):
    line: int
    board_id: str | None
    ok: bool
    reason: str | None
    detail: str | None
    board: BoardLoginOut | None = None
    credentials: CredentialsOut | None = None


class ImportOut(BaseModel):
    provisioned: int
    failed: int
    rows: list[ImportRowOut]


def board_out(record: BoardRecord) -> BoardLoginOut:
    data: dict[str, Any] = {k: getattr(record, k) for k in BoardLoginOut.model_fields}
    data["cameras"] = list(record.cameras)
    return BoardLoginOut.model_validate(data)


def credentials_out(bundle: BoardBundle) -> CredentialsOut:
    return CredentialsOut(
        auth=bundle.auth,
        mqtt_url=bundle.mqtt_url,
        agent_toml=bundle.agent_toml,
        password=bundle.password,
        certificate_pem=bundle.certificate_pem,
        private_key_pem=bundle.private_key_pem,
        ca_pem=bundle.ca_pem,
        cert_serial=bundle.cert_serial,
        cert_not_after=bundle.cert_not_after,
        files=[
            BoardFile(name=name, mode=f"{mode:04o}", content=content.decode())
            for name, (content, mode) in bundle.files().items()
        ],
    )


def provisioned_out(done: Provisioned) -> ProvisionedOut:
    return ProvisionedOut(
        board=board_out(done.board),
        credentials=credentials_out(done.bundle),
        notes=list(done.notes),
    )


def changed_out(done: Changed) -> ChangedOut:
    return ChangedOut(board=board_out(done.board), notes=list(done.notes))
