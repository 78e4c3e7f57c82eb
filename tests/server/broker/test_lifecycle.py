"""Account life cycle on the live broker: disable (and the kick), credential
rotation, removal, and certificate boards with revocation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fleet_server.broker import pki
from fleet_server.broker.ca import IssuedCertificate
from fleet_server.broker.dynsec import DynsecClient
from tests.support.secure_broker import MqttProbe, SecureBroker

OLD = "old-password-0123456789abc"
NEW = "new-password-0123456789abc"


def _connect(probe: MqttProbe) -> MqttProbe:
    result = probe.connect()
    assert result.ok, result.reason
    return probe


def test_disabled_board_is_kicked_at_once_and_refused(
    secure_broker: SecureBroker, dynsec: DynsecClient, server: MqttProbe
) -> None:
    dynsec.ensure_board("lc-dis-01", OLD)
    board = _connect(secure_broker.probe("lc-dis-01", "lc-dis-01", OLD))
    dynsec.disable_board("lc-dis-01")
    board.wait_disconnected()  # the open connection is dropped by the broker itself
    result = secure_broker.probe("lc-dis-01", "lc-dis-01", OLD).connect()
    assert not result.ok
    assert result.reason == "Not authorized"
    client = dynsec.get_client("lc-dis-01")
    assert client is not None
    assert client["disabled"] is True
    dynsec.enable_board("lc-dis-01")
    again = _connect(secure_broker.probe("lc-dis-01", "lc-dis-01", OLD))
    again.publish("fleet/v1/lc-dis-01/state", b"back")
    server.wait_message("fleet/v1/lc-dis-01/state")


def test_plain_disable_client_also_kicks(secure_broker: SecureBroker, dynsec: DynsecClient) -> None:
    dynsec.ensure_board("lc-dis-02", OLD)
    board = _connect(secure_broker.probe("lc-dis-02", "lc-dis-02", OLD))
    dynsec.disable_client("lc-dis-02")
    board.wait_disconnected()
    assert not secure_broker.probe("lc-dis-02", "lc-dis-02", OLD).connect().ok
    dynsec.enable_client("lc-dis-02")
    assert secure_broker.probe("lc-dis-02", "lc-dis-02", OLD).connect().ok


def test_credential_rotation(secure_broker: SecureBroker, dynsec: DynsecClient) -> None:
    """The old password stops working at once; the broker also drops the
    connection made with it (2.0.11 kicks the account on setClientPassword),
    so a board reconnects with whatever password it has."""
    dynsec.ensure_board("lc-rot-01", OLD)
    board = _connect(secure_broker.probe("lc-rot-01", "lc-rot-01", OLD))
    dynsec.set_password("lc-rot-01", NEW)
    board.wait_disconnected()
    old = secure_broker.probe("lc-rot-01", "lc-rot-01", OLD).connect()
    assert not old.ok
    assert old.reason == "Not authorized"
    assert secure_broker.probe("lc-rot-01", "lc-rot-01", NEW).connect().ok
    # ensure_board with a password rotates as well.
    dynsec.ensure_board("lc-rot-01", OLD)
    assert not secure_broker.probe("lc-rot-01", "lc-rot-01", NEW).connect().ok
    assert secure_broker.probe("lc-rot-01", "lc-rot-01", OLD).connect().ok


def test_delete_board_removes_account_and_role(
    secure_broker: SecureBroker, dynsec: DynsecClient
) -> None:
    dynsec.ensure_board("lc-del-01", OLD)
    board = _connect(secure_broker.probe("lc-del-01", "lc-del-01", OLD))
    assert dynsec.delete_board("lc-del-01") is True
    board.wait_disconnected()
    assert not secure_broker.probe("lc-del-01", "lc-del-01", OLD).connect().ok
    assert dynsec.get_client("lc-del-01") is None
    assert dynsec.get_role("board:lc-del-01") is None
    assert dynsec.delete_board("lc-del-01") is False  # idempotent
    assert "lc-del-01" not in dynsec.list_clients()


def _write_bundle(directory: Path, issued: IssuedCertificate) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert = directory / "board.crt"
    key = directory / "board.key"
    cert.write_bytes(issued.certificate_pem)
    pki.write_private_file(key, issued.private_key_pem)
    return cert, key


def test_certificate_board(
    secure_broker: SecureBroker, dynsec: DynsecClient, server: MqttProbe, tmp_path: Path
) -> None:
    """Right certificate accepted (CN = username = client id), another CA's
    refused, no certificate refused; the CN's role decides what it may do."""
    board_id = "lc-crt-01"
    issued = secure_broker.ca.issue_board_certificate(board_id)
    cert, key = _write_bundle(tmp_path / "good", issued)
    dynsec.ensure_board(board_id, None)
    # Any client id (and any username/password) sent is replaced by the CN.
    board = _connect(
        secure_broker.probe("whatever", "fleet-admin", "x", mtls=True, cert_file=cert, key_file=key)
    )
    assert f"as {board_id} (p5" in secure_broker.log_text()
    board.publish(f"fleet/v1/{board_id}/state", b"online")
    assert str(board.publish("fleet/v1/lc-other-01/state", b"forged")) == "Not authorized"
    board.publish(f"fleet/v1/{board_id}/event/boot", b"control")
    server.wait_message(f"fleet/v1/{board_id}/event/boot")
    assert server.received("fleet/v1/lc-other-01/state") == []

    # A certificate for the same CN from another CA: the TLS handshake fails.
    other_key, other_ca = pki.create_ca("Somebody else's CA")
    fake_key, fake_cert = pki.issue_client_certificate(other_key, other_ca, board_id)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "board.crt").write_bytes(pki.certificate_pem(fake_cert))
    pki.write_private_file(fake / "board.key", pki.private_key_pem(fake_key))
    result = secure_broker.probe(
        board_id, mtls=True, cert_file=fake / "board.crt", key_file=fake / "board.key"
    ).connect()
    assert not result.ok, result
    # No certificate at all.
    assert not secure_broker.probe(board_id, board_id, "pw", mtls=True).connect().ok
    # A certificate board has no password, so the password listener refuses it.
    assert not secure_broker.probe(board_id, board_id, "").connect().ok
    # The good board was never disturbed.
    assert not board.disconnected.is_set()


def test_certificate_without_account_can_do_nothing(
    secure_broker: SecureBroker, server: MqttProbe, tmp_path: Path
) -> None:
    issued = secure_broker.ca.issue_board_certificate("lc-noacct-01")
    cert, key = _write_bundle(tmp_path / "b", issued)
    board = _connect(secure_broker.probe("x", mtls=True, cert_file=cert, key_file=key))
    assert str(board.publish("fleet/v1/lc-noacct-01/state", b"x")) == "Not authorized"
    assert all(c.is_failure for c in board.subscribe("fleet/v1/lc-noacct-01/cmd/+"))


def test_disabled_certificate_board_is_kicked_and_loses_every_right(
    secure_broker: SecureBroker, dynsec: DynsecClient, server: MqttProbe, tmp_path: Path
) -> None:
    """2.0.11 does not run the plugin's login check on the certificate
    listener, so a disabled account's certificate still completes CONNECT:
    disable_board therefore also takes the board's role away (nothing is
    allowed any more) — and the certificate must be revoked to refuse it."""
    board_id = "lc-crt-02"
    cert, key = _write_bundle(tmp_path / "b", secure_broker.ca.issue_board_certificate(board_id))
    dynsec.ensure_board(board_id, None)
    board = _connect(secure_broker.probe(board_id, mtls=True, cert_file=cert, key_file=key))
    dynsec.disable_board(board_id)
    board.wait_disconnected()
    again = _connect(secure_broker.probe(board_id, mtls=True, cert_file=cert, key_file=key))
    assert str(again.publish(f"fleet/v1/{board_id}/state", b"zombie")) == "Not authorized"
    assert all(c.is_failure for c in again.subscribe(f"fleet/v1/{board_id}/cmd/+"))
    # Positive control: another board's message on the same path arrives.
    dynsec.ensure_board("lc-ctl-01", OLD)
    ctl = _connect(secure_broker.probe("lc-ctl-01", "lc-ctl-01", OLD))
    ctl.publish("fleet/v1/lc-ctl-01/state", b"control")
    server.wait_message("fleet/v1/lc-ctl-01/state")
    assert server.received(f"fleet/v1/{board_id}/state") == []


def test_revoked_certificate_is_refused_after_the_crl_reload(
    secure_broker: SecureBroker, dynsec: DynsecClient, tmp_path: Path
) -> None:
    """Mosquitto reads crlfile at start and on SIGHUP only; an open connection
    is not re-checked by the reload, disable_board drops it."""
    board_id = "lc-rev-01"
    cert, key = _write_bundle(tmp_path / "b", secure_broker.ca.issue_board_certificate(board_id))
    keep_id = "lc-rev-02"
    keep_cert, keep_key = _write_bundle(
        tmp_path / "k", secure_broker.ca.issue_board_certificate(keep_id)
    )
    dynsec.ensure_board(board_id, None)
    dynsec.ensure_board(keep_id, None)

    def attempt(c: Path = cert, k: Path = key) -> bool:
        probe = secure_broker.probe("x", mtls=True, cert_file=c, key_file=k)
        ok = probe.connect().ok
        probe.close()
        return ok

    assert secure_broker.ca.revoke_board(board_id)
    assert attempt(), "the CRL took effect without a reload (2.0.11 should need SIGHUP)"
    # (Opened after that attempt: the same CN is the same client id, and a
    # second connection with it would take the session over.)
    open_connection = _connect(
        secure_broker.probe(board_id, mtls=True, cert_file=cert, key_file=key)
    )
    secure_broker.reload()
    assert not attempt(), "a revoked certificate was accepted after the CRL reload"
    assert attempt(keep_cert, keep_key), "an unrevoked certificate was refused"
    assert open_connection.connected.is_set(), "SIGHUP dropped the open connection"
    dynsec.disable_board(board_id)
    open_connection.wait_disconnected()
    # A restart reads the CRL as well.
    secure_broker.restart()
    assert not attempt()
    assert attempt(keep_cert, keep_key)


def test_kick_on_disable_sends_no_last_will(
    secure_broker: SecureBroker, dynsec: DynsecClient, server: MqttProbe
) -> None:
    """The plugin disconnects without the will: the server must record the
    state change of a board it disables itself."""
    dynsec.ensure_board("lc-will-01", OLD)
    dynsec.ensure_board("lc-will-02", OLD)
    board = secure_broker.probe("lc-will-01", "lc-will-01", OLD)
    board.client.will_set("fleet/v1/lc-will-01/state", b"lost", qos=1, retain=True)
    _connect(board)
    dynsec.disable_client("lc-will-01")
    board.wait_disconnected()
    # Positive control: a board that dies without DISCONNECT does send its will.
    other = secure_broker.probe("lc-will-02", "lc-will-02", OLD)
    other.client.will_set("fleet/v1/lc-will-02/state", b"lost", qos=1, retain=True)
    _connect(other)
    sock = other.client.socket()
    assert sock is not None
    other.client.loop_stop()
    sock.close()  # the link dies
    server.wait_message("fleet/v1/lc-will-02/state", payload=b"lost")
    assert server.received("fleet/v1/lc-will-01/state") == []


def test_retained_messages_follow_the_publishers_rights(
    secure_broker: SecureBroker, dynsec: DynsecClient
) -> None:
    """A board gets its own retained desired config; a removed board's
    retained state is no longer served (check_retain_source)."""
    dynsec.ensure_board("lc-ret-01", OLD)
    dynsec.ensure_board("lc-ret-02", OLD)
    ops = secure_broker.server_probe("fleet-api-ret")
    _connect(ops)
    ops.publish("fleet/v1/lc-ret-01/config/desired", b"v7", retain=True)
    for board_id in ("lc-ret-01", "lc-ret-02"):
        board = _connect(secure_broker.probe(board_id, board_id, OLD))
        board.publish(f"fleet/v1/{board_id}/state", b"online", retain=True)
        board.close()
    board = _connect(secure_broker.probe("lc-ret-01", "lc-ret-01", OLD))
    assert all(not c.is_failure for c in board.subscribe("fleet/v1/lc-ret-01/config/desired"))
    board.wait_message("fleet/v1/lc-ret-01/config/desired", payload=b"v7")
    dynsec.delete_board("lc-ret-01")
    reader = _connect(secure_broker.server_probe("fleet-ingest-ret"))
    reader.subscribe("fleet/v1/+/state")
    reader.wait_message("fleet/v1/lc-ret-02/state", payload=b"online")  # control
    assert reader.received("fleet/v1/lc-ret-01/state") == []


def test_an_expired_crl_locks_out_every_certificate_board(
    secure_broker: SecureBroker, dynsec: DynsecClient, tmp_path: Path
) -> None:
    """Why `fleet-server broker crl` must run before nextUpdate."""
    board_id = "lc-exp-01"
    cert, key = _write_bundle(tmp_path / "b", secure_broker.ca.issue_board_certificate(board_id))
    dynsec.ensure_board(board_id, None)

    def attempt() -> bool:
        probe = secure_broker.probe(board_id, mtls=True, cert_file=cert, key_file=key)
        ok = probe.connect().ok
        probe.close()
        return ok

    assert attempt()
    ca_key = pki.load_private_key((secure_broker.files.ca_dir / "ca.key").read_bytes())
    stale = pki.build_crl(
        ca_key,
        secure_broker.ca.certificate,
        [],
        crl_number=99,
        next_update_days=1,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
    )
    pki.write_file(secure_broker.files.crl, pki.crl_pem(stale))
    secure_broker.reload()
    assert not attempt(), "a certificate was accepted with an expired CRL"
    secure_broker.ca.write_crl()
    secure_broker.reload()
    assert attempt()
