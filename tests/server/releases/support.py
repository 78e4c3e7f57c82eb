"""Signed test releases: a key pair made for the test, an artifact of a few
bytes, its manifest signed as ``fleet-server releases sign`` signs it."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fleet_protocol import releases as fr


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    raw: bytes
    key_id: str

    @classmethod
    def new(cls) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(private, raw, fr.key_id(raw))

    @property
    def setting(self) -> str:
        """This key as FLEET_RELEASE_PUBLIC_KEYS has it."""
        return f"{self.key_id}:{base64.b64encode(self.raw).decode()}"

    @property
    def trusted(self) -> dict[str, bytes]:
        return {self.key_id: self.raw}

    def manifest(self, version: str, artifact: bytes, **changes: Any) -> dict[str, Any]:
        """The signed manifest of ``artifact``; ``changes`` are applied before
        signing (a wrong size or hash signed all the same)."""
        fields: dict[str, Any] = {
            "format": 1,
            "name": "edge-agent",
            "version": version,
            "artifact": fr.artifact_name(version),
            "size": len(artifact),
            "sha256": hashlib.sha256(artifact).hexdigest(),
            "created_at": datetime(2026, 12, 1, tzinfo=UTC).isoformat(),
            "key_id": self.key_id,
        } | changes
        signature = self.private.sign(fr.signed_fields(fields))
        return fields | {"signature": base64.b64encode(signature).decode()}


def write_release(
    key: SigningKey, directory: Path, version: str, artifact: bytes | None = None
) -> tuple[Path, Path]:
    """The artifact and manifest files of ``version`` in ``directory``."""
    data = artifact if artifact is not None else f"edge-agent {version}\n".encode() * 50
    directory.mkdir(parents=True, exist_ok=True)
    artifact_path = directory / fr.artifact_name(version)
    artifact_path.write_bytes(data)
    manifest_path = directory / fr.manifest_name(version)
    manifest_path.write_text(json.dumps(key.manifest(version, data)))
    return manifest_path, artifact_path
