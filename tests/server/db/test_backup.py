"""fleet-server backup and restore: a seeded database restored into an empty
one has the same rows in every table and the same availability figures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

import fleet_protocol as fp
from fleet_server.cli import main
from fleet_server.db.backup import BackupError, backup, restore
from fleet_server.incidents.models import IncidentSpec
from fleet_server.incidents.storage import open_incident
from fleet_server.reports import figures as annual
from fleet_server.reports.uptime import NONE
from fleet_server.simulator.seed import fleet_specs, seed
from fleet_server.telemetry.storage import Accepted, BatchWriter
from tests.support import messages as m
from tests.support.postgres import DatabaseFactory, with_dbname

Conn = psycopg.Connection[Any]
T0 = datetime(2026, 10, 1, tzinfo=UTC)
PERIOD = (T0, T0 + timedelta(days=7))


@pytest.fixture
def seeded(db_url: str) -> str:
    """Boards, connectivity history, telemetry, incidents, a maintenance
    window and an audit row."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        seed(conn, fleet_specs(6))
        boards = [r[0] for r in conn.execute("SELECT id FROM boards ORDER BY id")]
        for i, board in enumerate(boards):
            for hour, state in (
                (0, "online"),
                (30 + i, "offline"),
                (40 + i, "stale"),
                (50, "online"),
            ):
                conn.execute(
                    "INSERT INTO board_status_history (board_id, at, state) VALUES (%s, %s, %s)",
                    (board, T0 + timedelta(hours=hour), state),
                )
        conn.execute(
            "INSERT INTO maintenance_windows (board_id, starts_at, ends_at, recurrence, reason,"
            " created_by) VALUES (%s, %s, %s, 'daily', 'vệ sinh màn hình', 'test')",
            (boards[0], T0 + timedelta(hours=2), T0 + timedelta(hours=3)),
        )
        writer = BatchWriter(conn)
        messages = [
            m.heartbeat(board, seq=seq, at=T0 + timedelta(minutes=seq))
            for board in boards
            for seq in range(1, 6)
        ]
        writer.write([Accepted(fp.decode(t, p), T0, t, p) for t, p in messages], [])  # type: ignore[arg-type]
        site = conn.execute("SELECT site_id FROM boards WHERE id = %s", (boards[1],)).fetchone()
        assert site is not None
        with conn.transaction():
            open_incident(
                conn,
                IncidentSpec(
                    dedupe_key=f"board_offline:{boards[1]}",
                    rule="board_offline",
                    incident_class="technical",
                    severity="major",
                    title="Mất kết nối",
                    board_id=boards[1],
                    site_id=site[0],
                ),
                T0 + timedelta(hours=31),
                actor="engine:board_offline",
            )
        conn.execute(
            "INSERT INTO audit_log (actor, action, target_type, target_id)"
            " VALUES ('system:test', 'backup.test', 'board', %s)",
            (boards[0],),
        )
    return db_url


@pytest.fixture
def empty_url(db_factory: DatabaseFactory) -> Iterator[str]:
    """A new database with nothing in it (not cloned from the migrated template)."""
    name = f"fleet_restore_{datetime.now(UTC):%H%M%S%f}"
    with psycopg.connect(db_factory.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_dbname(db_factory.admin_url, name)
    yield url
    db_factory.drop(url)


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                """SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public' ORDER BY 1"""
            )
        ]
        counts = {}
        for table in tables:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None
            counts[table] = int(row[0])
        return counts


def figures(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return (
            conn.execute(
                "SELECT * FROM fleet_board_availability(%s, %s) ORDER BY board_id", PERIOD
            ).fetchall()
            + conn.execute(
                "SELECT * FROM fleet_organisation_availability(%s, %s, false) ORDER BY 1", PERIOD
            ).fetchall()
        )


def annual_report(url: str) -> annual.AnnualFigures:
    """The province's annual report figures. Availability is compared above
    over a fixed period: the report's own runs to the database's now()."""
    with psycopg.connect(url) as conn:
        fig = annual.collect(conn, 2026, None, now=datetime(2026, 12, 15, tzinfo=UTC))
    assert fig.boards == 6
    fig.board_availability, fig.site_availability, fig.fleet_uptime = [], [], NONE
    return fig


def test_backup_and_restore_into_an_empty_database(
    seeded: str, empty_url: str, tmp_path: Path
) -> None:
    before = table_counts(seeded)
    assert before["public.boards"] == 6
    assert before["public.board_status_history"] == 24
    assert before["public.telemetry_heartbeat"] == 30
    assert before["public.incidents"] == 1
    assert before["public.maintenance_windows"] == 1
    done = backup(seeded, tmp_path / "fleet.dump")
    assert done.bytes > 0
    assert (tmp_path / "fleet.dump").read_bytes()[:5] == b"PGDMP"
    assert len(done.sha256) == 64
    restored = restore(done.path, empty_url)
    assert restored.tables > 20
    assert restored.migration is not None
    assert restored.migration >= 16
    assert table_counts(empty_url) == before
    expected = figures(seeded)
    assert any(row[-1] is not None and row[-1] < 1 for row in expected)
    assert figures(empty_url) == expected
    assert annual_report(empty_url) == annual_report(seeded)
    # the restored database goes on working: its identity columns continue
    with psycopg.connect(empty_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO board_status_history (board_id, at, state)"
            " SELECT id, now(), 'online' FROM boards LIMIT 1"
        )


def test_restore_refuses_a_database_that_is_not_empty(
    seeded: str, db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    dump = backup(seeded, tmp_path / "fleet.dump").path
    migrated = db_factory.create()
    try:
        with pytest.raises(BackupError, match=r"is not empty .*--force"):
            restore(dump, migrated)
        assert table_counts(migrated)["public.boards"] == 0  # nothing touched
        # Restoring creates tables: the owner's work, not the application's.
        restore(dump, db_factory.owner_url(migrated), force=True)
        assert table_counts(migrated) == table_counts(seeded)
    finally:
        db_factory.drop(migrated)


def test_clear_errors(seeded: str, empty_url: str, tmp_path: Path) -> None:
    dump = backup(seeded, tmp_path / "fleet.dump").path
    with pytest.raises(BackupError, match="already exists"):
        backup(seeded, dump)
    with pytest.raises(BackupError, match="does not exist"):
        backup(seeded, tmp_path / "missing" / "fleet.dump")
    with pytest.raises(BackupError, match="does not exist"):
        restore(tmp_path / "nothing.dump", empty_url)
    (tmp_path / "notes.txt").write_text("không phải bản sao lưu")
    with pytest.raises(BackupError, match="not a pg_dump custom-format archive"):
        restore(tmp_path / "notes.txt", empty_url)
    with pytest.raises(BackupError, match="pg_dump not found in"):
        backup(seeded, tmp_path / "x.dump", bin_dir=tmp_path)
    gone = with_dbname(seeded, "fleet_no_such_database")
    with pytest.raises(BackupError, match=r"the backup failed .*fleet_no_such_database"):
        backup(gone, tmp_path / "y.dump")
    assert not list(tmp_path.glob("*.partial"))


def test_the_commands(
    seeded: str,
    empty_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLEET_DATABASE_URL", seeded)
    dump = tmp_path / "fleet.dump"
    assert main(["backup", "--out", str(dump)]) == 0
    assert '"sha256"' in capsys.readouterr().out
    assert main(["restore", str(dump), "--database-url", empty_url]) == 0
    assert '"migration": ' in capsys.readouterr().out
    assert table_counts(empty_url) == table_counts(seeded)
    assert main(["restore", str(dump), "--database-url", empty_url]) == 1
    error = capsys.readouterr().err
    assert error.startswith("fleet-server: the target database")
    assert "not empty" in error


def test_a_failed_restore_changes_nothing_and_names_a_missing_role(
    seeded: str, db_factory: DatabaseFactory, empty_url: str, tmp_path: Path
) -> None:
    role = f"fleet_reader_{datetime.now(UTC):%H%M%S%f}"
    with psycopg.connect(db_factory.owner_url(seeded), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON boards TO {}").format(sql.Identifier(role)))
        dump = backup(seeded, tmp_path / "fleet.dump").path
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    with pytest.raises(
        BackupError,
        match=rf'(?s)role "{role}" does not exist.* create them first.*nothing was changed',
    ):
        restore(dump, empty_url)
    assert table_counts(empty_url) == {}  # one transaction: nothing half-restored


def test_the_restore_script_is_piped_line_by_line_without_dropped_lines(tmp_path: Path) -> None:
    """PostgreSQL 18's pg_restore sets transaction_timeout, unknown to 15 and
    16: the restore leaves that line out for an older server."""
    from fleet_server.db.backup import _TRANSACTION_TIMEOUT, _pipe  # noqa: PLC0415

    out = tmp_path / "script.sql"
    _pipe(
        ["printf", "SET a = 1;\\nSET transaction_timeout = 0;\\nSET b = 2;\\n"],
        ["sh", "-c", f"cat > {out}"],
        dict(os.environ),
        drop=_TRANSACTION_TIMEOUT,
    )
    assert out.read_text() == "SET a = 1;\nSET b = 2;\n"
    with pytest.raises(BackupError, match=r"the restore failed \(psql exit 3\): nope"):
        _pipe(
            ["printf", "x\\n"], ["sh", "-c", "echo nope >&2; exit 3"], dict(os.environ), drop=None
        )


def test_a_backup_cut_short_commits_nothing(empty_url: str) -> None:
    """pg_restore failing at a line boundary: psql is stopped before its
    single transaction could commit what it had."""
    from fleet_server.db.backup import _pipe  # noqa: PLC0415
    from fleet_server.embedded.postgres import find_bin_dir  # noqa: PLC0415

    psql = str(find_bin_dir() / "psql")
    with pytest.raises(BackupError, match=r"reading the backup failed \(pg_restore exit 1\)"):
        _pipe(
            ["sh", "-c", "printf 'CREATE TABLE half_restored (x int);\\n'; sleep 0.2; exit 1"],
            [
                psql,
                "--no-psqlrc",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                f"--dbname={empty_url}",
            ],
            dict(os.environ),
            drop=None,
        )
    assert table_counts(empty_url) == {}


def test_every_role_the_privileges_name_is_checked(db_url: str) -> None:
    from fleet_server.db.backup import _missing_roles  # noqa: PLC0415

    script = (
        "GRANT SELECT ON TABLE public.boards TO ghost_reader;\n"
        "REVOKE ALL ON TABLE public.boards FROM ghost_revoked;\n"
        "ALTER DEFAULT PRIVILEGES FOR ROLE ghost_owner IN SCHEMA public"
        " GRANT SELECT ON TABLES TO ghost_default;\n"
        "GRANT USAGE ON SCHEMA public TO PUBLIC;\n"
        "GRANT SELECT ON TABLE public.boards TO postgres;\n"
    )
    with psycopg.connect(db_url) as conn:
        assert _missing_roles(conn, script) == [
            "ghost_default",
            "ghost_owner",
            "ghost_reader",
            "ghost_revoked",
        ]


def test_the_dump_is_0600_whatever_the_umask(seeded: str, tmp_path: Path) -> None:
    """The dump holds every password hash: other users of the machine may not
    read it, even while pg_dump is still writing."""
    old_umask = os.umask(0o022)
    try:
        first = backup(seeded, tmp_path / "fleet.dump").path
        readable = tmp_path / "old.dump"
        readable.write_bytes(b"old")
        again = backup(seeded, readable, force=True).path
    finally:
        os.umask(old_umask)
    assert (first.stat().st_mode & 0o777, again.stat().st_mode & 0o777) == (0o600, 0o600)
