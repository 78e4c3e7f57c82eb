"""The provisioning service against a real production-configured Mosquitto
and a real PostgreSQL: what a board can do with what it was given."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

import psycopg
import pytest

from fleet_server.broker.acls import board_role_name
from fleet_server.broker.ca import ProvisioningCA
from fleet_server.broker.dynsec import DynsecClient
from fleet_server.provisioning import (
    CameraSpec,
    NewBoard,
    Provisioned,
    ProvisioningError,
    ProvisioningService,
    load_board,
)
from tests.server.provisioning.conftest import (
    CLI,
    Conn,
    RefusingBroker,
    agent_config,
    agent_session,
    dump,
    unique,
)
from tests.support.secure_broker import MqttProbe, SecureBroker


def provision(
    service: ProvisioningService, conn: Conn, tmp_path: Path, auth: str = "password", **kw: Any
) -> tuple[Provisioned, Path]:
    board_id = kw.pop("board_id", None) or unique(f"lc-{auth[:4]}")
    spec = NewBoard(board_id, "Bảng tin thử", site="ma-lu-thang", auth=auth, **kw)  # type: ignore[arg-type]
    out = tmp_path / board_id
    done = service.add_board(conn, spec, CLI, board_dir=PurePosixPath(out))
    done.bundle.write(out)
    return done, out


def audit_rows(conn: Conn, board_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT actor, action, before, after, detail FROM audit_log"
        " WHERE target_id = %s ORDER BY id",
        (board_id,),
    ).fetchall()


@pytest.mark.parametrize("auth", ["password", "certificate"])
def test_a_provisioned_board_connects_with_its_agent_toml(
    auth: str,
    service: ProvisioningService,
    conn: Conn,
    server: MqttProbe,
    admin: DynsecClient,
    tmp_path: Path,
) -> None:
    done, out = provision(
        service, conn, tmp_path, auth, cameras=(CameraSpec("cam1", "Cổng chính"),)
    )
    board_id = done.board.id
    secret = "mqtt.pw" if auth == "password" else "board.key"
    assert stat.S_IMODE(os.stat(out / secret).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(out / "agent.toml").st_mode) == 0o644
    config = agent_config(out / "agent.toml", tmp_path)
    assert config.device_id == board_id
    assert config.ca_file == out / "ca.crt"
    session = agent_session(config)
    session.start()
    try:
        assert session.ready.wait(15), session.last_error
        server.wait_message(f"fleet/v1/{board_id}/state")  # the birth reached the server
    finally:
        session.stop()
    board = load_board(conn, board_id)
    assert board is not None
    assert (board.auth, board.enabled, board.cameras) == (auth, True, ("cam1",))
    assert board.provisioned_at is not None
    client = admin.get_client(board_id)
    assert client is not None
    assert [r["rolename"] for r in client["roles"]] == [board_role_name(board_id)]
    ((actor, action, before, after, _),) = audit_rows(conn, board_id)
    assert (actor, action, before) == ("system:cli", "board.provision", None)
    assert after["auth"] == auth
    if auth == "password":
        assert done.bundle.password is not None
        assert done.bundle.password not in dump(conn, "boards", "audit_log")
        assert done.bundle.password not in repr(done)
    else:
        assert done.bundle.private_key_pem is not None
        assert board.cert_serial == done.bundle.cert_serial
        assert "PRIVATE KEY" not in dump(conn, "boards", "audit_log")
        assert "PRIVATE KEY" not in repr(done)


def test_wrong_password_is_refused(
    service: ProvisioningService, conn: Conn, broker: SecureBroker, tmp_path: Path
) -> None:
    done, _ = provision(service, conn, tmp_path)
    probe = broker.probe(done.board.id, done.board.id, "not-the-password-0123456789")
    assert not probe.connect().ok
    assert done.bundle.password is not None
    good = broker.probe(done.board.id, done.board.id, done.bundle.password)
    assert good.connect().ok
    good.close()


def test_disable_kicks_and_refuses_and_enable_lets_it_back(
    service: ProvisioningService, conn: Conn, broker: SecureBroker, tmp_path: Path
) -> None:
    done, _ = provision(service, conn, tmp_path)
    board_id, password = done.board.id, done.bundle.password
    online = broker.probe(board_id, board_id, password)
    assert online.connect().ok
    changed = service.disable_board(conn, board_id, CLI)
    online.wait_disconnected()  # kicked at once
    assert not broker.probe(board_id, board_id, password).connect().ok
    assert not changed.board.enabled
    assert (changed.board.disabled_by, changed.board.disabled_at is not None) == (
        "system:cli",
        True,
    )
    service.enable_board(conn, board_id, CLI)
    again = broker.probe(board_id, board_id, password)
    assert again.connect().ok
    again.close()
    actions = [row[1] for row in audit_rows(conn, board_id)]
    assert actions == ["board.provision", "board.disable", "board.enable"]


def test_rotating_a_password_drops_the_old_one(
    service: ProvisioningService, conn: Conn, broker: SecureBroker, tmp_path: Path
) -> None:
    done, _ = provision(service, conn, tmp_path)
    board_id, old = done.board.id, done.bundle.password
    assert old is not None
    online = broker.probe(board_id, board_id, old)
    assert online.connect().ok
    rotated = service.rotate_credentials(conn, board_id, CLI)
    new = rotated.bundle.password
    assert new
    assert new != old
    online.wait_disconnected()
    assert not broker.probe(board_id, board_id, old).connect().ok
    fresh = broker.probe(board_id, board_id, new)
    assert fresh.connect().ok
    fresh.close()
    assert rotated.board.credentials_rotated_at is not None
    text = dump(conn, "boards", "audit_log")
    assert old not in text
    assert new not in text
    assert [row[1] for row in audit_rows(conn, board_id)][-1] == "board.rotate_credentials"


def test_rotating_a_certificate_revokes_the_old_one(
    service: ProvisioningService, conn: Conn, broker: SecureBroker, tmp_path: Path
) -> None:
    done, out = provision(service, conn, tmp_path, "certificate")
    board_id = done.board.id
    (tmp_path / "old.crt").write_bytes((out / "board.crt").read_bytes())
    (tmp_path / "old.key").write_bytes((out / "board.key").read_bytes())
    rotated = service.rotate_credentials(conn, board_id, CLI, board_dir=PurePosixPath(out))
    rotated.bundle.write(out)
    assert rotated.board.cert_serial == rotated.bundle.cert_serial != done.bundle.cert_serial
    assert any("systemctl reload mosquitto" in note for note in rotated.notes)
    ca = ProvisioningCA(broker.files.ca_dir)
    assert int(str(done.bundle.cert_serial), 16) in ca.revoked_serials()
    broker.reload()
    old = broker.probe(
        board_id, mtls=True, cert_file=tmp_path / "old.crt", key_file=tmp_path / "old.key"
    )
    assert not old.connect().ok
    session = agent_session(agent_config(out / "agent.toml", tmp_path))
    session.start()
    try:
        assert session.ready.wait(15), session.last_error
    finally:
        session.stop()


def test_removing_a_board_deletes_its_account_and_keeps_its_row(
    service: ProvisioningService,
    conn: Conn,
    broker: SecureBroker,
    admin: DynsecClient,
    tmp_path: Path,
) -> None:
    done, _ = provision(service, conn, tmp_path)
    board_id, password = done.board.id, done.bundle.password
    online = broker.probe(board_id, board_id, password)
    assert online.connect().ok
    removed = service.remove_board(conn, board_id, CLI)
    online.wait_disconnected()
    assert not broker.probe(board_id, board_id, password).connect().ok
    assert admin.get_client(board_id) is None
    assert admin.get_role(board_role_name(board_id)) is None
    assert (removed.board.enabled, removed.board.removed_by) == (False, "system:cli")
    # Idempotent, and the id is not handed out again.
    service.remove_board(conn, board_id, CLI)
    with pytest.raises(ProvisioningError) as refused:
        provision(service, conn, tmp_path, board_id=board_id)
    assert refused.value.reason == "duplicate"
    with pytest.raises(ProvisioningError) as gone:
        service.enable_board(conn, board_id, CLI)
    assert gone.value.reason == "removed"


def test_a_broker_refusal_leaves_nothing_behind(
    service: ProvisioningService, conn: Conn, broker: SecureBroker, admin: DynsecClient
) -> None:
    board_id = unique("lc-refused")
    with broker.dynsec() as inner:
        refusing = RefusingBroker(inner, {board_id}, {"ensure_board"})
        with pytest.raises(ProvisioningError) as refused:
            service.add_board(
                conn, NewBoard(board_id, "Bảng", site="ma-lu-thang"), CLI, broker=refusing
            )
    assert refused.value.reason == "broker_refused"
    assert load_board(conn, board_id) is None
    assert admin.get_client(board_id) is None
    assert admin.get_role(board_role_name(board_id)) is None  # the half-made role is gone
    assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)


def test_a_failed_commit_undoes_the_broker_change(
    service: ProvisioningService, conn: Conn, seeded: str, broker: SecureBroker, admin: DynsecClient
) -> None:
    """The broker created the account, then the database connection died
    before COMMIT: the account is deleted again."""
    board_id = unique("lc-commit")

    def kill_connection(_operation: str, _board: str) -> None:
        with psycopg.connect(seeded, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))

    with broker.dynsec() as inner:
        seam = RefusingBroker(inner, set(), set())
        seam.after_success = kill_connection
        with pytest.raises(psycopg.OperationalError):
            service.add_board(
                conn, NewBoard(board_id, "Bảng", site="ma-lu-thang"), CLI, broker=seam
            )
    assert admin.get_client(board_id) is None
    with psycopg.connect(seeded) as fresh:
        assert load_board(fresh, board_id) is None


def test_a_refused_disable_keeps_the_board_enabled(
    service: ProvisioningService, conn: Conn, broker: SecureBroker, tmp_path: Path
) -> None:
    done, _ = provision(service, conn, tmp_path)
    board_id = done.board.id
    with broker.dynsec() as inner:
        refusing = RefusingBroker(inner, {board_id}, {"disable_board"})
        with pytest.raises(ProvisioningError) as refused:
            service.disable_board(conn, board_id, CLI, broker=refusing)
    assert refused.value.reason == "broker_refused"
    board = load_board(conn, board_id)
    assert board is not None
    assert board.enabled
    probe = broker.probe(board_id, board_id, done.bundle.password)
    assert probe.connect().ok
    probe.close()


def test_bad_input_is_refused_before_the_broker(service: ProvisioningService, conn: Conn) -> None:
    cases = [
        (NewBoard("bad id!", "Bảng", site="ma-lu-thang"), "bad_id"),
        (NewBoard("fleet-admin", "Bảng", site="ma-lu-thang"), "bad_id"),
        (NewBoard(unique("lc-x"), "Bảng", site="no-such-site"), "unknown_site"),
        (NewBoard("lc-ma-lu-thang-01", "Bảng", site="ma-lu-thang"), "duplicate"),
        (NewBoard(unique("lc-x"), " ", site="ma-lu-thang"), "bad_row"),
    ]
    for spec, reason in cases:
        with pytest.raises(ProvisioningError) as refused:
            service.add_board(conn, spec, CLI)
        assert refused.value.reason == reason, spec


def test_a_board_from_before_provisioning_gets_an_account_by_rotation(
    service: ProvisioningService, conn: Conn, broker: SecureBroker, admin: DynsecClient
) -> None:
    """Seeded boards have no broker account: disable works on the database
    alone, rotation creates the account (still disabled)."""
    board_id = "lc-ma-lu-thang-01"
    disabled = service.disable_board(conn, board_id, CLI)
    assert not disabled.board.enabled
    assert "no account" in disabled.notes[0]
    rotated = service.rotate_credentials(conn, board_id, CLI)
    client = admin.get_client(board_id)
    assert client is not None
    assert client.get("disabled") is True
    assert not broker.probe(board_id, board_id, rotated.bundle.password).connect().ok
    service.enable_board(conn, board_id, CLI)
    probe = broker.probe(board_id, board_id, rotated.bundle.password)
    assert probe.connect().ok
    probe.close()


def test_an_account_left_behind_is_taken_over_and_enabled(
    service: ProvisioningService, conn: Conn, broker: SecureBroker, admin: DynsecClient
) -> None:
    """A broker account without a board row (a crash between the two) is the
    new board's: its password replaced, enabled, its role in place."""
    board_id = unique("lc-orphan")
    admin.ensure_board(board_id, "left-behind-password-0123456789")
    admin.disable_board(board_id)
    done = service.add_board(conn, NewBoard(board_id, "Bảng", site="ma-lu-thang"), CLI)
    assert not broker.probe(board_id, board_id, "left-behind-password-0123456789").connect().ok
    probe = broker.probe(board_id, board_id, done.bundle.password)
    assert probe.connect().ok
    probe.close()
