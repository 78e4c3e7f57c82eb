"""Plain-SQL migrations, applied in order, recorded, safe to run twice.

Files in ``migrations/`` are ``NNNN_name.sql`` (one variant for every
database) or a pair ``NNNN_name.plain.sql`` / ``NNNN_name.timescale.sql``.
The variant is chosen once, when the first migration runs: TimescaleDB when
the extension is installed and preloaded (or ``FLEET_DATABASE_TIMESCALE``
forces it), plain PostgreSQL otherwise. Each migration runs in its own
transaction under an advisory lock, so two servers starting together apply
it once.

``migrate`` runs as the schema owner. Given ``app_role`` (the user of
``FLEET_DATABASE_URL`` when ``FLEET_DATABASE_OWNER_URL`` is set), it also
creates that role when missing and regrants its privileges at the end of
every run (fleet_server/db/roles.py).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import psycopg

from fleet_server.db.connect import connect
from fleet_server.db.roles import ensure_app_role, grant_app_role
from fleet_server.errors import MigrationError

log = logging.getLogger(__name__)

Variant = Literal["plain", "timescale"]
_LOCK_KEY = 0x666C6565  # "flee": one advisory lock id for migrations
_NAME_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)(?:\.(plain|timescale))?\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: dict[str, str]  # variant ("any", "plain", "timescale") -> text

    def text_for(self, variant: Variant) -> str:
        text = self.sql.get("any") or self.sql.get(variant)
        if text is None:
            raise MigrationError(f"migration {self.version:04d}_{self.name} has no {variant} file")
        return text

    def checksum(self, variant: Variant) -> str:
        return hashlib.sha256(self.text_for(variant).encode()).hexdigest()


def load_migrations() -> list[Migration]:
    found: dict[int, Migration] = {}
    for entry in resources.files("fleet_server.db").joinpath("migrations").iterdir():
        match = _NAME_RE.match(entry.name)
        if not match:
            continue
        version, name, variant = int(match[1]), match[2], match[3] or "any"
        current = found.setdefault(version, Migration(version, name, {}))
        if current.name != name:
            raise MigrationError(f"two migrations share version {version:04d}")
        current.sql[variant] = entry.read_text(encoding="utf-8")
    return [found[v] for v in sorted(found)]


def timescale_available(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = conn.execute(
        """SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
                  OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
                      AND current_setting('shared_preload_libraries') ~ 'timescaledb')"""
    ).fetchone()
    return bool(row and row[0])


def _ensure_history(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version    integer PRIMARY KEY,
               name       text NOT NULL,
               variant    text NOT NULL CHECK (variant IN ('plain', 'timescale')),
               checksum   text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )


def storage_variant(conn: psycopg.Connection[tuple[object, ...]]) -> Variant | None:
    """The variant the database was migrated with, or None before the first run."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT variant FROM schema_migrations ORDER BY version LIMIT 1").fetchone()
    return None if row is None else row[0]  # type: ignore[return-value]


def migrate(
    url: str,
    *,
    timescale: bool | None = None,
    app_role: str | None = None,
    app_password: str | None = None,
) -> list[str]:
    """Apply pending migrations as the owner ``url`` names; return the names
    applied (empty when up to date). With ``app_role``, create that role when
    missing (with ``app_password``) and grant it the application's privileges."""
    applied_now: list[str] = []
    with connect(url, autocommit=True, application_name="fleet-migrate") as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _ensure_history(conn)
            variant = storage_variant(conn)
            if variant is None:
                use_ts = timescale_available(conn) if timescale is None else timescale
                variant = "timescale" if use_ts else "plain"
            done = {
                row[0]: row[1]
                for row in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            for migration in load_migrations():
                label = f"{migration.version:04d}_{migration.name}"
                if migration.version in done:
                    if done[migration.version] != migration.checksum(variant):
                        raise MigrationError(f"{label} was changed after it was applied")
                    continue
                log.info("applying migration %s (%s)", label, variant)
                try:
                    with conn.transaction():
                        conn.execute(migration.text_for(variant).encode())
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name, variant, checksum)"
                            " VALUES (%s, %s, %s, %s)",
                            (
                                migration.version,
                                migration.name,
                                variant,
                                migration.checksum(variant),
                            ),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"{label} failed: {exc}") from exc
                applied_now.append(label)
            if app_role is not None:
                ensure_app_role(conn, app_role, app_password)
                grant_app_role(conn, app_role, timescale=variant == "timescale")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now
