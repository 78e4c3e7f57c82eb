"""Releases as the server keeps them: the trusted signing keys, the checks
a publish passes, the address a board downloads from. Domain logic only:
no SQL, no HTTP."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet_protocol import releases as fr
from fleet_server.errors import ConfigError, Invalid

_KEY_ID = re.compile(fr.KEY_ID_PATTERN)


class ReleaseInvalid(Invalid):
    """A release the server will not publish (HTTP 422), naming the field."""

    status = 422
    kind = "validation"
    title = "Invalid request"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}", field=field)


@dataclass(frozen=True, slots=True)
class Release:
    version: str
    artifact: str
    size: int
    sha256: str
    key_id: str
    signature: str
    manifest: dict[str, Any]
    notes: str | None
    created_by: str
    created_at: datetime


def parse_public_keys(text: str) -> dict[str, bytes]:
    """``key_id:base64,key_id:base64`` (FLEET_RELEASE_PUBLIC_KEYS) as raw
    keys by id; each id must be the key's own (``fr.key_id``), so a typo
    cannot make a key trusted under another key's id."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        kid = kid.strip()
        if not sep or not _KEY_ID.match(kid):
            raise ConfigError(
                "FLEET_RELEASE_PUBLIC_KEYS: each entry is key_id:base64 (16 hex digits, a colon,"
                " the base64 of the raw 32-byte Ed25519 public key)"
            )
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"FLEET_RELEASE_PUBLIC_KEYS: key {kid} is not base64") from None
        if len(raw) != 32:
            raise ConfigError(f"FLEET_RELEASE_PUBLIC_KEYS: key {kid} is not 32 bytes")
        if fr.key_id(raw) != kid:
            raise ConfigError(
                f"FLEET_RELEASE_PUBLIC_KEYS: key {kid} does not match its key (its id is"
                f" {fr.key_id(raw)})"
            )
        keys[kid] = raw
    return keys


def checked_manifest(data: object, public_keys: dict[str, bytes]) -> fr.Manifest:
    """The manifest, its names and its signature checked against the server's
    trusted keys; ReleaseInvalid naming what is wrong otherwise."""
    try:
        manifest = fr.parse_manifest(data)
        fr.verify(manifest, public_keys)
    except fr.ReleaseRefused as exc:
        raise ReleaseInvalid("manifest", exc.reason) from None
    return manifest


def artifact_url(base_url: str, artifact: str) -> str:
    """Where a board downloads ``artifact``: ``<base>/<artifact>``."""
    return f"{base_url.rstrip('/')}/{artifact}"
