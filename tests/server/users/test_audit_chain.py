"""The audit log's hash chain: computed by the database on insert, checked
independently by ``fleet-server audit verify``."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from psycopg import sql

from fleet_server.access.audit import record
from fleet_server.access.principal import Actor
from fleet_server.cli import main
from fleet_server.db.migrate import load_migrations, migrate
from fleet_server.users.audit_chain import GENESIS, verify
from tests.support.postgres import DatabaseFactory, with_dbname

Conn = psycopg.Connection[Any]


def seed(conn: Conn, count: int = 5) -> None:
    for n in range(count):
        record(
            conn,
            Actor(
                f"người.dùng{n}", user_id=n or None, address="2001:db8::1" if n % 2 else "10.0.0.7"
            ),
            "user.update",
            target_type="user",
            target_id=str(n),
            before={"role": "viewer", "tên": "Lò Văn A", "n": n},
            after={"role": "operator", "quoted": 'a "b"\nc'},
            detail=None if n % 2 else "chi tiết, with commas: 1:2,",
        )


def owner_tamper(owner: Conn, statement: str) -> None:
    """What someone holding the owner's (or a superuser's) credentials can do."""
    with owner.transaction():
        owner.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
        owner.execute(statement)
        owner.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")


def ids(conn: Conn) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM audit_log ORDER BY chain_seq")]


def test_a_clean_log_verifies(db: Conn) -> None:
    db.execute("SET TimeZone = 'Asia/Ho_Chi_Minh'")
    seed(db)
    db.execute("INSERT INTO audit_log (actor, action, at) VALUES ('x', 'y', '2026-01-01 00:00')")
    # Whatever an INSERT claims for the chain columns is overwritten.
    db.execute(
        "INSERT INTO audit_log (actor, action, chain_seq, prev_hash, row_hash)"
        " VALUES ('x', 'forged', 99, %s, %s)",
        (GENESIS, GENESIS),
    )
    db.execute("SET TimeZone = 'UTC'")
    report = verify(db)
    assert report.intact, report.broken
    assert report.rows == 7
    first = db.execute("SELECT prev_hash, chain_seq FROM audit_log ORDER BY id LIMIT 1").fetchone()
    assert first == (GENESIS, 1)
    head = db.execute("SELECT last_seq, last_id, last_hash FROM audit_chain_head").fetchone()
    assert head == (7, ids(db)[-1], report.head_hash)


def test_the_command_line_verifies(
    db: Conn, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", "--database-url", db_url]) == 0  # empty log
    seed(db)
    assert main(["audit", "verify", "--database-url", db_url]) == 0
    assert '"intact": true' in capsys.readouterr().out


def test_a_changed_row_is_found(
    db: Conn, db_owner: Conn, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(db)
    third = ids(db)[2]
    owner_tamper(db_owner, f"UPDATE audit_log SET actor = 'someone.else' WHERE id = {third}")
    report = verify(db)
    assert report.broken is not None
    assert (report.broken.row_id, report.broken.problem) == (third, "row_hash")
    assert report.rows == 2
    stored = db.execute("SELECT row_hash FROM audit_log WHERE id = %s", (third,)).fetchone()
    assert stored is not None
    assert report.broken.found == stored[0]
    assert main(["audit", "verify", "--database-url", db_url]) == 1
    captured = capsys.readouterr()
    assert f"row id {third}" in captured.err
    assert "expected" in captured.err


def test_a_timestamp_or_json_change_is_found(db: Conn, db_owner: Conn) -> None:
    seed(db)
    second = ids(db)[1]
    owner_tamper(
        db_owner, f"UPDATE audit_log SET at = at + interval '1 microsecond' WHERE id = {second}"
    )
    assert verify(db).broken.row_id == second  # type: ignore[union-attr]


def test_a_deleted_middle_row_is_found(db: Conn, db_owner: Conn) -> None:
    seed(db)
    rows = ids(db)
    owner_tamper(db_owner, f"DELETE FROM audit_log WHERE id = {rows[2]}")
    broken = verify(db).broken
    assert broken is not None
    assert (broken.row_id, broken.problem) == (rows[3], "chain_seq gap")
    # Renumbered to hide the gap: the next row's prev_hash still names the lost row.
    owner_tamper(db_owner, f"UPDATE audit_log SET chain_seq = chain_seq - 1 WHERE id > {rows[2]}")
    broken = verify(db).broken
    assert broken is not None
    assert (broken.row_id, broken.problem) == (rows[3], "prev_hash")


def test_a_deleted_last_row_is_found(db: Conn, db_owner: Conn) -> None:
    seed(db)
    owner_tamper(db_owner, f"DELETE FROM audit_log WHERE id = {ids(db)[-1]}")
    broken = verify(db).broken
    assert broken is not None
    assert (broken.row_id, broken.problem) == (None, "head")


def test_reordered_rows_are_found(db: Conn, db_owner: Conn) -> None:
    seed(db)
    rows = ids(db)
    owner_tamper(db_owner, f"UPDATE audit_log SET chain_seq = -1 WHERE id = {rows[1]}")
    owner_tamper(db_owner, f"UPDATE audit_log SET chain_seq = 2 WHERE id = {rows[2]}")
    owner_tamper(db_owner, f"UPDATE audit_log SET chain_seq = 3 WHERE id = {rows[1]}")
    broken = verify(db).broken
    assert broken is not None
    assert (broken.row_id, broken.problem) == (rows[2], "prev_hash")


def test_concurrent_inserts_make_one_chain(db_url: str, db: Conn) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                for i in range(25):
                    record(conn, f"writer{n}", "login", detail=str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = verify(db)
    assert report.intact, report.broken
    assert report.rows == 150


def test_the_migration_chains_existing_rows(db_factory: DatabaseFactory) -> None:
    name = f"fleet_chain_{id(db_factory) % 10_000}"
    with psycopg.connect(db_factory.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_dbname(db_factory.admin_url, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                " variant text NOT NULL, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for m in load_migrations():
                if m.version >= 19:
                    break
                conn.execute(m.text_for("plain").encode())
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (%s, %s, 'plain', %s)",
                    (m.version, m.name, m.checksum("plain")),
                )
            seed(conn, 4)
            conn.execute("INSERT INTO audit_log (actor, action) VALUES ('a', 'b')")
        assert "0019_audit_chain" in migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            report = verify(conn)
            assert report.intact, report.broken
            assert report.rows == 5
            seed(conn, 2)
            assert verify(conn).rows == 7
    finally:
        with psycopg.connect(db_factory.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
