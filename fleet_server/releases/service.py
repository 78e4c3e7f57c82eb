"""Publishing and listing releases (docs/updates.md). The command line
(``fleet-server releases publish``) and the API (``POST /api/v1/releases``)
both publish through :func:`publish`: the manifest's signature is checked
against the server's trusted keys, the artifact against the manifest, then
the file is placed and the release registered and audited."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from fleet_server.access import audit
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Conflict, NotFound
from fleet_server.releases import files, storage
from fleet_server.releases.models import (
    Release,
    ReleaseInvalid,
    checked_manifest,
    parse_public_keys,
)
from fleet_server.settings import Settings

Conn = storage.Conn
#: The capability every release and rollout operation needs (admin only).
CAPABILITY = "release.manage"
NOTES_MAX = 2000


def read_manifest(raw: bytes) -> object:
    """A manifest file's JSON, or ReleaseInvalid."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseInvalid("manifest", f"not JSON: {exc}") from None


def publish(
    conn: Conn,
    actor: Actor | str,
    *,
    manifest_data: object,
    artifact: BinaryIO,
    public_keys: dict[str, bytes],
    root: Path,
    notes: str | None,
    now: datetime,
) -> Release:
    """Check, place, register and audit a release, in ``conn``'s transaction
    (the caller commits). A version published before is a Conflict."""
    if not public_keys:
        raise ReleaseInvalid(
            "manifest", "the server trusts no release key (set FLEET_RELEASE_PUBLIC_KEYS)"
        )
    manifest = checked_manifest(manifest_data, public_keys)
    notes = (notes or "").strip() or None
    if notes is not None and (len(notes) > NOTES_MAX or "\x00" in notes):
        raise ReleaseInvalid("notes", f"at most {NOTES_MAX} characters, no NUL")
    if storage.get(conn, manifest.version) is not None:
        raise Conflict(f"release {manifest.version} is already published")
    files.place(root, manifest, artifact)
    who = actor.username if isinstance(actor, Actor) else actor
    release = Release(
        version=manifest.version,
        artifact=manifest.artifact,
        size=manifest.size,
        sha256=manifest.sha256,
        key_id=manifest.key_id,
        signature=manifest.signature,
        manifest=manifest.model_dump(mode="json"),
        notes=notes,
        created_by=who,
        created_at=now,
    )
    if not storage.insert(conn, release):
        raise Conflict(f"release {manifest.version} is already published")
    audit.record(
        conn,
        actor,
        "release.publish",
        target_type="release",
        target_id=release.version,
        after={
            "version": release.version,
            "artifact": release.artifact,
            "size": release.size,
            "sha256": release.sha256,
            "key_id": release.key_id,
            "notes": release.notes,
        },
    )
    return release


def list_releases(conn: Conn, user: Principal) -> list[Release]:
    user.need(CAPABILITY)
    return storage.newest(conn)


def get_release(conn: Conn, user: Principal, version: str) -> Release:
    user.need(CAPABILITY)
    found = storage.get(conn, version)
    if found is None:
        raise NotFound("release", version)
    return found


def public_view(release: Release) -> dict[str, Any]:
    """A release as the API and the command line show it."""
    return {
        "version": release.version,
        "artifact": release.artifact,
        "size": release.size,
        "sha256": release.sha256,
        "key_id": release.key_id,
        "notes": release.notes,
        "created_by": release.created_by,
        "created_at": release.created_at.isoformat(),
    }


def releases_root(settings: Settings) -> Path:
    """FLEET_RELEASES_DIR, by default ``<FLEET_DATA_DIR>/releases``."""
    return Path(settings.releases_dir or Path(settings.data_dir) / "releases")


def trusted_keys(settings: Settings) -> dict[str, bytes]:
    """FLEET_RELEASE_PUBLIC_KEYS as raw keys by id (ConfigError when malformed)."""
    return parse_public_keys(settings.release_public_keys)
