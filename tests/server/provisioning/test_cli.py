"""``fleet-server boards ...`` with the settings in the environment, as an
operator runs it."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import quote

import pytest

from fleet_server.broker.dynsec import DynsecClient
from fleet_server.cli import main
from fleet_server.provisioning import load_board
from tests.server.provisioning.conftest import Conn, agent_config, unique
from tests.support.secure_broker import SecureBroker


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, seeded: str, broker: SecureBroker) -> None:
    admin = f"{broker.admin_username}:{quote(broker.admin_password, safe='')}"
    for name, value in {
        "FLEET_DATABASE_URL": seeded,
        "FLEET_BROKER_ADMIN_URL": f"mqtts://{admin}@127.0.0.1:{broker.tls_port}",
        "FLEET_BROKER_CA_FILE": str(broker.ca_file),
        "FLEET_PROVISIONING_CA_DIR": str(broker.files.ca_dir),
        "FLEET_PROVISIONING_MQTT_CERT_URL": broker.mtls_url,
    }.items():
        monkeypatch.setenv(name, value)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.usefixtures("env")
def test_boards_add_writes_a_ready_bundle(
    tmp_path: Path,
    conn: Conn,
    broker: SecureBroker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    board_id = unique("lc-cli")
    out = tmp_path / "bundle"
    status = main(
        [
            "boards",
            "add",
            board_id,
            "--site",
            "ma-lu-thang",
            "--name",
            "Bảng tin cửa khẩu",
            "--camera",
            "cam1:Cổng chính",
            "--installed-on",
            "2026-05-01",
            "--out",
            str(out),
            "--board-dir",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert f"board {board_id} provisioned at ma-lu-thang (password)" in printed
    assert (mode(out / "mqtt.pw"), mode(out / "agent.toml"), mode(out / "ca.crt")) == (
        0o600,
        0o644,
        0o644,
    )
    password = (out / "mqtt.pw").read_text().strip()
    assert password not in printed
    config = agent_config(out / "agent.toml", tmp_path)
    assert config.password() == password
    probe = broker.probe(board_id, board_id, password)
    assert probe.connect().ok
    probe.close()
    board = load_board(conn, board_id)
    assert board is not None
    assert board.installed_on is not None
    actor = conn.execute("SELECT actor FROM audit_log WHERE target_id = %s", (board_id,)).fetchone()
    assert actor is not None
    assert str(actor[0]).startswith("system:cli:")


@pytest.mark.usefixtures("env")
def test_boards_add_without_out_prints_the_credentials_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    board_id = unique("lc-cli")
    status = main(
        ["boards", "add", board_id, "--site", "ma-lu-thang", "--name", "Bảng", "--auth",
         "certificate"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert status == 0
    assert "---- board.key (mode 0600) ----" in printed
    assert "BEGIN PRIVATE KEY" in printed
    assert 'cert_file = "/etc/fleet/board.crt"' in printed


@pytest.mark.usefixtures("env")
def test_boards_lifecycle_commands(
    tmp_path: Path,
    conn: Conn,
    admin: DynsecClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    board_id = unique("lc-cli")
    assert main(["boards", "add", board_id, "--site", "ma-lu-thang", "--name", "B",
                 "--out", str(tmp_path / "a")]) == 0  # fmt: skip
    assert main(["boards", "disable", board_id]) == 0
    client = admin.get_client(board_id)
    assert client is not None
    assert client.get("disabled") is True
    assert main(["boards", "enable", board_id]) == 0
    old = (tmp_path / "a" / "mqtt.pw").read_text()
    assert main(["boards", "rotate-credentials", board_id, "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "mqtt.pw").read_text() != old
    assert main(["boards", "remove", board_id]) == 0
    assert admin.get_client(board_id) is None
    capsys.readouterr()
    assert main(["boards", "enable", board_id]) == 1
    assert "removed" in capsys.readouterr().err
    assert main(["boards", "add", unique("lc-cli"), "--site", "nowhere", "--name", "B"]) == 1
    assert "unknown_site: site nowhere not found" in capsys.readouterr().err
    actions = conn.execute(
        "SELECT action FROM audit_log WHERE target_id = %s ORDER BY id", (board_id,)
    ).fetchall()
    assert [a[0] for a in actions] == [
        "board.provision",
        "board.disable",
        "board.enable",
        "board.rotate_credentials",
        "board.remove",
    ]


@pytest.mark.usefixtures("env")
def test_boards_import_reports_rows_and_fails_when_one_failed(
    tmp_path: Path,
    conn: Conn,
    admin: DynsecClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good, bad = unique("lc-imp"), unique("lc-imp")
    csv_file = tmp_path / "boards.csv"
    csv_file.write_text(
        "board_id,site,name,cameras,auth\n"
        f"{good},ma-lu-thang,Bảng tin 1,cam1;cam2,certificate\n"
        f"{bad},nowhere,Bảng tin 2,,\n"
    )
    out = tmp_path / "out"
    status = main(["boards", "import", str(csv_file), "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 1
    assert f"line 2: {good}: provisioned (certificate) -> {out / good}/" in printed
    assert f"line 3: {bad}: FAILED unknown_site: site nowhere not found" in printed
    assert "1 provisioned, 1 failed" in printed
    assert mode(out / good / "board.key") == 0o600
    assert not (out / bad).exists()
    assert admin.get_client(good) is not None
    assert admin.get_client(bad) is None
    assert load_board(conn, bad) is None
    fine = tmp_path / "fine.csv"
    fine.write_text(f"board_id,site,name\n{unique('lc-imp')},ma-lu-thang,Bảng\n")
    assert main(["boards", "import", str(fine), "--out", str(out)]) == 0
    broken = tmp_path / "broken.csv"
    broken.write_text("id;name\n")
    assert main(["boards", "import", str(broken), "--out", str(out)]) == 2
    assert "missing column(s)" in capsys.readouterr().err
