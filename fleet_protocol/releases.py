"""Signed agent releases: the manifest, its signature, and the ``update`` command.

A release is an artifact ``edge-agent-<version>.tar.gz`` and its manifest
``edge-agent-<version>.manifest.json``. The manifest names the artifact, its
size and SHA-256, and carries an Ed25519 signature over the canonical JSON of
every other field (sorted keys, no spaces, UTF-8). A board trusts the public
keys of its own configuration only (``[update] public_keys``), looked up by
``key_id``: the first 16 hex digits of the SHA-256 of the raw public key.

The server (``fleet-server releases``) and the agent check the ``update``
command's arguments with the same :func:`check_update_args`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from fleet_protocol.errors import ProtocolError

UPDATE_COMMAND: Final = "update"
UPDATE_EVENT: Final = "update"
VERSION_PATTERN: Final = r"^[0-9A-Za-z][0-9A-Za-z.+~-]{0,31}$"
KEY_ID_PATTERN: Final = r"^[0-9a-f]{16}$"
NAME: Final = "edge-agent"
UpdateState = Literal["downloading", "downloaded", "installed", "healthy", "rolled_back", "failed"]

Version = Annotated[str, Field(pattern=VERSION_PATTERN)]


class ReleaseRefused(Exception):
    """A release the board must not install; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _iso_utc(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("created_at must be an ISO 8601 time") from None
    if parsed.utcoffset() is None or parsed.utcoffset().total_seconds() != 0:  # type: ignore[union-attr]
        raise ValueError("created_at must be in UTC")
    return value


def _base64(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("signature must be base64") from None
    if len(raw) != 64:
        raise ValueError("signature must be 64 bytes (Ed25519)")
    return value


class Manifest(BaseModel):
    """``edge-agent-<version>.manifest.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    format: Literal[1] = 1
    name: Literal["edge-agent"] = NAME
    version: Version
    artifact: Annotated[str, Field(pattern=r"^edge-agent-[0-9A-Za-z.+~-]{1,32}\.tar\.gz$")]
    size: Annotated[int, Field(gt=0, le=2**31)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    created_at: Annotated[str, Field(max_length=40), AfterValidator(_iso_utc)]
    key_id: Annotated[str, Field(pattern=KEY_ID_PATTERN)]
    signature: Annotated[str, Field(max_length=100), AfterValidator(_base64)]

    def check_names(self) -> None:
        """The artifact's file name must carry the manifest's version."""
        if self.artifact != artifact_name(self.version):
            raise ReleaseRefused(
                f"artifact {self.artifact!r} does not match version {self.version!r}"
            )


def artifact_name(version: str) -> str:
    return f"{NAME}-{version}.tar.gz"


def manifest_name(version: str) -> str:
    return f"{NAME}-{version}.manifest.json"


def signed_fields(fields: dict[str, Any]) -> bytes:
    """The canonical bytes of ``fields`` (the signature left out)."""
    body = {k: v for k, v in fields.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_bytes(manifest: Manifest) -> bytes:
    """What the signature covers: every field but ``signature``, canonical JSON."""
    return signed_fields(manifest.model_dump(mode="json"))


def key_id(public_raw: bytes) -> str:
    """The id of a raw 32-byte Ed25519 public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def parse_manifest(data: object) -> Manifest:
    """A manifest from decoded JSON, or ReleaseRefused naming the field."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise ReleaseRefused(f"bad manifest: {where}: {first['msg']}") from None


def verify(manifest: Manifest, public_keys: dict[str, bytes]) -> None:
    """Return if ``manifest`` is signed by one of ``public_keys`` (by key id);
    raise ReleaseRefused (unknown key id, bad signature, name mismatch) otherwise."""
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - agent extra
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PublicKey,
    )

    manifest.check_names()
    raw = public_keys.get(manifest.key_id)
    if raw is None:
        raise ReleaseRefused(f"unknown key id {manifest.key_id}: not among this board's keys")
    try:
        key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ReleaseRefused(f"public key {manifest.key_id} is not an Ed25519 key") from None
    try:
        key.verify(base64.b64decode(manifest.signature), canonical_bytes(manifest))
    except InvalidSignature:
        raise ReleaseRefused(f"bad signature on the manifest of {manifest.version}") from None


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("url must be an http or https URL")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise ValueError("url has a bad port") from None
    if "@" in parts.netloc:  # user and password, even empty ones
        raise ValueError("url must not carry credentials")
    if any(ord(c) < 33 or ord(c) == 127 for c in value):
        raise ValueError("url must not contain spaces or control characters")
    if not value.isascii():  # bidi controls and look-alike hosts too
        raise ValueError("url must be ASCII (percent-encoded)")
    return value


class UpdateArgs(BaseModel):
    """``args`` of the ``update`` command."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    version: Version
    url: Annotated[str, Field(max_length=1000), AfterValidator(_http_url)]
    manifest: Manifest
    health_deadline_s: Annotated[int, Field(ge=30, le=3600)] = 300
    rollout_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None


def check_update_args(args: dict[str, Any]) -> UpdateArgs:
    """The ``update`` command's arguments, or ProtocolError (``invalid_args``)
    naming the field; the manifest must be for the same version."""
    try:
        checked = UpdateArgs.model_validate(args)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "args"
        raise ProtocolError("invalid_args", f"update: {where}: {first['msg']}") from None
    if checked.manifest.version != checked.version:
        raise ProtocolError(
            "invalid_args",
            f"update: version {checked.version!r} but the manifest is for"
            f" {checked.manifest.version!r}",
        )
    try:
        checked.manifest.check_names()
    except ReleaseRefused as exc:
        raise ProtocolError("invalid_args", f"update: {exc.reason}") from None
    return checked
