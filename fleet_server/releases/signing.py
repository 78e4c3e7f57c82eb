"""Release signing keys and manifests (``fleet-server releases keygen|sign|verify``).

The private key belongs on an offline signing machine, never on the server
that serves boards: whoever holds it can make every board run their code.
It is written as unencrypted PKCS#8 PEM, mode 0600, in a directory no one
else can read; the public key as one line of base64 (the raw 32 bytes), the
form boards (``[update] public_keys``) and the server
(``FLEET_RELEASE_PUBLIC_KEYS``) take.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fleet_protocol import releases as fr

PRIVATE_NAME = "release-signing.key"
PUBLIC_NAME = "release-signing.pub"
_ARTIFACT = re.compile(r"^edge-agent-(?P<version>[0-9A-Za-z][0-9A-Za-z.+~-]{0,31})\.tar\.gz$")


class SigningError(Exception):
    """A key or an artifact the signing commands refuse; the message says why."""


def keygen(out: Path) -> tuple[str, Path, Path]:
    """A new key pair in ``out``: (key id, private file, public file). Refuses
    to overwrite a key and to write into a directory others can read."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = out.stat()
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SigningError(
            f"{out} is readable by others (mode {mode:o}): use a directory of mode 0700"
        )
    if info.st_uid != os.geteuid():  # its owner could read the key whatever the mode
        raise SigningError(f"{out} belongs to uid {info.st_uid}, not to you: use your own")
    private_path, public_path = out / PRIVATE_NAME, out / PUBLIC_NAME
    for path in (private_path, public_path):
        if path.exists():
            raise SigningError(f"{path} exists: a signing key is never overwritten")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    raw = public_raw(key)
    public_path.write_text(base64.b64encode(raw).decode() + "\n")
    return fr.key_id(raw), private_path, public_path


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_private(path: Path) -> Ed25519PrivateKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SigningError(f"{path} is readable by others (mode {mode:o}): chmod 600 it")
    if not path.is_file():  # a FIFO would hang the signing here
        raise SigningError(f"{path}: not a regular file")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path}: not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: not an Ed25519 key")
    return key


def load_public(path: Path) -> bytes:
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except ValueError as exc:
        raise SigningError(f"{path}: not base64") from exc
    if len(raw) != 32:
        raise SigningError(f"{path}: not a raw 32-byte Ed25519 public key")
    return raw


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_version(artifact: Path) -> str:
    """The version the artifact's name and its ``VERSION`` file agree on."""
    match = _ARTIFACT.fullmatch(artifact.name)
    if match is None:
        raise SigningError(f"{artifact.name}: not an edge-agent-<version>.tar.gz")
    version = match["version"]
    try:
        with tarfile.open(artifact, "r:gz") as tar:
            member = tar.extractfile(f"edge-agent-{version}/VERSION")
            found = member.read().decode("ascii").strip() if member else ""
    except (tarfile.TarError, KeyError, OSError, UnicodeDecodeError) as exc:
        raise SigningError(f"{artifact.name}: no readable VERSION file ({exc})") from exc
    if found != version:
        raise SigningError(f"{artifact.name}: its VERSION says {found[:40]!r}")
    return version


def sign(artifact: Path, key_path: Path, *, now: datetime | None = None) -> Path:
    """Write ``edge-agent-<version>.manifest.json`` beside ``artifact``."""
    version = artifact_version(artifact)
    key = load_private(key_path)
    fields: dict[str, object] = {
        "format": 1,
        "name": fr.NAME,
        "version": version,
        "artifact": artifact.name,
        "size": artifact.stat().st_size,
        "sha256": _digest(artifact),
        "created_at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        "key_id": fr.key_id(public_raw(key)),
    }
    fields["signature"] = base64.b64encode(key.sign(fr.signed_fields(fields))).decode()
    manifest = fr.parse_manifest(fields)  # the board's own check, before anyone sees it
    path = artifact.with_name(fr.manifest_name(version))
    path.write_text(json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
    return path


def verify_files(manifest_path: Path, public_path: Path) -> fr.Manifest:
    """The manifest, its signature checked with the public key, and the
    artifact beside it checked against its size and SHA-256."""
    try:
        data = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise SigningError(f"{manifest_path}: not readable JSON ({exc})") from exc
    raw = load_public(public_path)
    try:
        manifest = fr.parse_manifest(data)
        fr.verify(manifest, {fr.key_id(raw): raw})
    except fr.ReleaseRefused as exc:
        raise SigningError(exc.reason) from None
    artifact = manifest_path.with_name(manifest.artifact)
    if not artifact.exists():
        raise SigningError(f"{artifact.name} is not beside the manifest")
    if artifact.stat().st_size != manifest.size:
        raise SigningError(f"{artifact.name}: size differs from the manifest")
    if _digest(artifact) != manifest.sha256:
        raise SigningError(f"{artifact.name}: sha256 differs from the manifest")
    return manifest
