"""``[update]``: where releases live on this board and whose signatures it trusts.

Board-local: none of it can be changed remotely (``fp.REMOTE_CONFIG_KEYS``),
or a server could make a board trust its own key.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fleet_protocol.releases import KEY_ID_PATTERN, key_id

KeyId = Annotated[str, Field(pattern=KEY_ID_PATTERN)]


class UpdateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``releases/<version>/``, the ``current`` and ``previous`` links, ``bin/`` (the guard)
    root: Path = Path("/opt/fleet-agent")
    #: what an update in progress is, read by the boot guard too
    state_path: Path = Path("/var/lib/fleet-agent/update.json")
    #: key id → base64 of the raw 32-byte Ed25519 public key; none: updates refused
    public_keys: dict[KeyId, str] = Field(default_factory=dict, max_length=8)
    #: a new version must be healthy (connected, birth and heartbeat sent) within this
    health_deadline_s: int = Field(default=300, ge=30, le=3600)
    #: starts of a new version (counted by the boot guard) before it is rolled back
    max_boot_attempts: int = Field(default=3, ge=1, le=20)
    #: tries of one download before it fails; the wait doubles from retry_base_s
    download_attempts: int = Field(default=6, ge=1, le=50)
    retry_base_s: float = Field(default=2.0, gt=0, le=300)
    #: one try of a download ends after this, however slowly the bytes still come
    download_deadline_s: float = Field(default=1800.0, gt=0, le=86_400)

    @field_validator("public_keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for kid, text in value.items():
            try:
                raw = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"public key {kid}: not base64") from None
            if len(raw) != 32:
                raise ValueError(f"public key {kid}: not a raw 32-byte Ed25519 key")
            if key_id(raw) != kid:
                raise ValueError(f"public key {kid}: its key id is {key_id(raw)}")
        return value

    def trusted_keys(self) -> dict[str, bytes]:
        return {kid: base64.b64decode(text) for kid, text in self.public_keys.items()}

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def previous(self) -> Path:
        return self.root / "previous"

    @property
    def guard(self) -> Path:
        return self.root / "bin" / "edge-agent-guard"
