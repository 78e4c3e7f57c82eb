"""The release directory (FLEET_RELEASES_DIR): artifacts under their own
names, world-readable (a release is public: its integrity is its
signature, not its secrecy). A file is written beside its final name,
checked against the manifest, fsynced and only then renamed into place, so
a board never downloads half an artifact."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO

from fleet_protocol import releases as fr
from fleet_server.releases.models import ReleaseInvalid

CHUNK = 1 << 20
FILE_MODE = 0o644
DIR_MODE = 0o755


def place(root: Path, manifest: fr.Manifest, source: BinaryIO) -> Path:
    """Copy ``source`` to ``root/<artifact>`` if its size and SHA-256 are the
    manifest's; ReleaseInvalid (``artifact``) otherwise, leaving nothing. An
    identical file already in place is kept."""
    root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    final = root / manifest.artifact
    spool = root / f".{manifest.artifact}.{secrets.token_hex(6)}.part"
    digest, size = hashlib.sha256(), 0
    try:
        fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > manifest.size:
                    raise ReleaseInvalid(
                        "artifact", f"larger than the manifest's {manifest.size} bytes"
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != manifest.size:
            raise ReleaseInvalid("artifact", f"{size} bytes, but the manifest says {manifest.size}")
        if digest.hexdigest() != manifest.sha256:
            raise ReleaseInvalid("artifact", "its SHA-256 is not the manifest's")
        os.chmod(spool, FILE_MODE)  # whatever the umask made of it
        os.replace(spool, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            spool.unlink()
    return final


def artifact_path(root: Path, artifact: str) -> Path | None:
    """The file of a registered artifact, None when it is missing."""
    path = root / artifact
    return path if path.is_file() else None
