"""Files with secrets are created mode 0600 whatever the umask: the demo's
accounts, provisioning bundles and the helper every writer uses (the backup,
the inspection archive and the annual report are tested beside their code)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fleet_server.demo import demo_accounts
from fleet_server.private_files import open_private, private_directory, write_private
from fleet_server.provisioning.models import BoardBundle


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask: new files 0644 unless the code says otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_private_file_is_0600(umask_022: None, tmp_path: Path) -> None:
    write_private(tmp_path / "a", b"secret")
    with open_private(tmp_path / "b", "w", encoding="utf-8") as f:
        f.write("secret")
    assert mode(tmp_path / "a") == mode(tmp_path / "b") == 0o600
    assert mode(private_directory(tmp_path / "d" / "e")) == 0o700


def test_an_existing_readable_file_is_replaced_not_truncated(
    umask_022: None, tmp_path: Path
) -> None:
    old = tmp_path / "accounts.json"
    old.write_text("old")
    assert mode(old) == 0o644
    write_private(old, b"new")
    assert (mode(old), old.read_bytes()) == (0o600, b"new")


def test_a_symlink_is_not_followed(umask_022: None, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "link").symlink_to(target)
    write_private(tmp_path / "link", b"new")
    assert target.read_text() == "keep"
    assert not (tmp_path / "link").is_symlink()


def test_the_demo_accounts_file_is_0600(
    umask_022: None, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    path = tmp_path / "accounts.json"
    path.write_text("{}")  # left by an older demo, world-readable
    known = demo_accounts(db, path)
    assert mode(path) == 0o600
    assert json.loads(path.read_text()) == known


def test_a_bundle_keeps_its_secrets_0600(umask_022: None, tmp_path: Path) -> None:
    bundle = BoardBundle(
        board_id="lc-mlt-01",
        auth="password",
        mqtt_url="mqtts://broker:8883",
        agent_toml="[board]\n",
        ca_pem="-----BEGIN CERTIFICATE-----\n",
        password="s3cret-s3cret",
    )
    out = tmp_path / "lc-mlt-01"
    modes = {path.name: mode(path) for path in bundle.write(out)}
    assert modes == {"agent.toml": 0o644, "ca.crt": 0o644, "mqtt.pw": 0o600}
    assert mode(out) == 0o700
