"""SQL of releases (migration 0040)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from fleet_server.releases.models import Release

Conn = psycopg.Connection[Any]

_COLUMNS = (
    "version, artifact, size, sha256, key_id, signature, manifest, notes, created_by, created_at"
)


def insert(conn: Conn, release: Release) -> bool:
    """Register ``release``; False when its version is already registered."""
    row = conn.execute(
        f"INSERT INTO releases ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (version) DO NOTHING RETURNING version",
        (
            release.version,
            release.artifact,
            release.size,
            release.sha256,
            release.key_id,
            release.signature,
            Jsonb(release.manifest),
            release.notes,
            release.created_by,
            release.created_at,
        ),
    ).fetchone()
    return row is not None


def get(conn: Conn, version: str) -> Release | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_COLUMNS} FROM releases WHERE version = %s", (version,)
        ).fetchone()
    return Release(**row) if row else None


def by_artifact(conn: Conn, artifact: str) -> Release | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_COLUMNS} FROM releases WHERE artifact = %s", (artifact,)
        ).fetchone()
    return Release(**row) if row else None


def newest(conn: Conn, limit: int = 100) -> list[Release]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM releases ORDER BY created_at DESC, version LIMIT %s",
            (limit,),
        ).fetchall()
    return [Release(**r) for r in rows]
