"""``fleet-server broker init``: the password hashes the plugin expects, and a
directory on which the production configuration starts and works."""

from __future__ import annotations

import base64
import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from fleet_server.broker import bootstrap
from fleet_server.broker.acls import DEFAULT_ACL_ACCESS, SERVER_ROLE
from fleet_server.cli import main
from tests.support.secure_broker import Accounts, SecureBroker


def test_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    """Mosquitto's own tool hashes the same way ($7$ = PBKDF2-SHA512)."""
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not Path(tool).exists():
        pytest.skip("mosquitto_passwd is not installed")
    pwfile = tmp_path / "pw"
    subprocess.run([tool, "-b", "-c", str(pwfile), "someone", "s3cret-pass"], check=True)
    _user, rest = pwfile.read_text().strip().split(":", 1)
    _, kind, iterations, salt, digest = rest.split("$")
    assert kind == "7"
    ours = bootstrap.hash_password(
        "s3cret-pass", iterations=int(iterations), salt=base64.b64decode(salt)
    )
    assert ours == {"password": digest, "salt": salt, "iterations": int(iterations)}
    assert bootstrap.verify_password(ours, "s3cret-pass")
    assert not bootstrap.verify_password(ours, "s3cret-pasS")


def test_dynsec_config_shape() -> None:
    config = bootstrap.dynsec_config(
        admin_username="a", admin_password="x" * 16, server_username="s", server_password="y" * 16
    )
    assert config["defaultACLAccess"] == DEFAULT_ACL_ACCESS
    clients = {c["username"]: c for c in config["clients"]}
    assert len(base64.b64decode(clients["a"]["salt"])) == 12
    assert len(base64.b64decode(clients["a"]["password"])) == 64
    assert clients["s"]["roles"] == [{"rolename": SERVER_ROLE}]
    assert "x" * 16 not in json.dumps(config)
    with pytest.raises(bootstrap.BootstrapError):
        bootstrap.dynsec_config(
            admin_username="a", admin_password="x", server_username="a", server_password="y"
        )


def test_broker_init_cli_makes_a_working_broker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin_pw = "admin-password-from-a-file-42"
    pwfile = tmp_path / "admin.pw"
    pwfile.write_text(admin_pw + "\n")
    directory = tmp_path / "work" / "broker"
    rc = main(
        [
            "broker",
            "init",
            "--dir",
            str(directory),
            "--admin-password-file",
            str(pwfile),
            "--host",
            "localhost",
            "--ip",
            "127.0.0.1",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    # The server password was not given: generated and printed once.
    match = re.search(r"^  fleet-server: (\S+)$", out, re.MULTILINE)
    assert match, out
    server_pw = match.group(1)
    assert admin_pw not in out
    assert "mosquitto_ctrl" in out
    files = bootstrap.BrokerFiles(directory)
    for private in (files.server_key, files.dynsec_json, files.ca_dir / "ca.key"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    config = json.loads(files.dynsec_json.read_text())
    assert {c["iterations"] for c in config["clients"]} == {bootstrap.BOOTSTRAP_ITERATIONS}
    # Running it again must not overwrite anything.
    assert main(["broker", "init", "--dir", str(directory)]) == 1
    assert "already initialised" in capsys.readouterr().err

    broker = SecureBroker(
        tmp_path / "work", directory, Accounts("fleet-admin", admin_pw, "fleet-server", server_pw)
    )
    broker.start()
    try:
        with broker.dynsec() as dynsec:
            assert sorted(dynsec.list_clients()) == ["fleet-admin", "fleet-server"]
            assert dynsec.get_default_acl_access() == DEFAULT_ACL_ACCESS
            dynsec.ensure_board("lc-init-01", "board-password-0123456789")
        server = broker.server_probe()
        assert server.connect().ok
        server.close()
        board = broker.probe("lc-init-01", "lc-init-01", "board-password-0123456789")
        assert board.connect().ok
        board.close()
        # The plugin saved the change into the file it owns.
        saved = json.loads(files.dynsec_json.read_text())
        assert "lc-init-01" in {c["username"] for c in saved["clients"]}
    finally:
        broker.stop()

    # `broker crl` re-signs the CRL.
    before = files.crl.read_bytes()
    assert main(["broker", "crl", "--dir", str(directory), "--days", "30"]) == 0
    assert files.crl.read_bytes() != before


def test_short_password_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pwfile = tmp_path / "short"
    pwfile.write_text("short\n")
    rc = main(
        ["broker", "init", "--dir", str(tmp_path / "b"), "--server-password-file", str(pwfile)]
    )
    assert rc == 1
    assert "at least 16" in capsys.readouterr().err
    assert not (tmp_path / "b" / bootstrap.DYNSEC_FILE).exists()
