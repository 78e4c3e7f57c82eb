"""The server's trusted release keys and the release directory, without a
database: a malformed or mislabelled key is refused, an artifact that is not
the manifest's leaves nothing behind."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydantic import ValidationError

from fleet_protocol import releases as fr
from fleet_server.errors import ConfigError
from fleet_server.releases import files
from fleet_server.releases.models import ReleaseInvalid, parse_public_keys
from fleet_server.settings import Settings
from tests.server.releases.support import SigningKey


def test_public_keys_setting() -> None:
    one, two = SigningKey.new(), SigningKey.new()
    assert parse_public_keys(f" {one.setting} , {two.setting},") == one.trusted | two.trusted
    assert parse_public_keys("") == {}
    for bad, why in [
        ("nocolon", "key_id:base64"),
        (f"{two.key_id}:{one.setting.split(':')[1]}", "does not match"),
        (f"{one.key_id}:not base64!", "not base64"),
        (f"{one.key_id}:AAAA", "not 32 bytes"),
    ]:
        with pytest.raises(ConfigError, match=why):
            parse_public_keys(bad)


def test_an_artifact_not_the_manifests_is_not_placed(tmp_path: Path) -> None:
    key = SigningKey.new()
    data = b"x" * 1000
    manifest = fr.parse_manifest(key.manifest("2.0.0", data))
    for wrong, why in [
        (data + b"y", "larger than"),
        (data[:-1], "999 bytes"),
        (data[:-1] + b"z", "SHA-256"),
    ]:
        with pytest.raises(ReleaseInvalid, match=why):
            files.place(tmp_path, manifest, io.BytesIO(wrong))
    assert list(tmp_path.iterdir()) == []
    placed = files.place(tmp_path, manifest, io.BytesIO(data))
    assert placed.read_bytes() == data
    assert placed.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["edge-agent-2.0.0.tar.gz"]


def test_bad_release_settings_stop_the_server_at_start() -> None:
    with pytest.raises(ValidationError, match="FLEET_RELEASE_PUBLIC_KEYS"):
        Settings(database_url="postgresql://x@localhost/fleet", release_public_keys="nope")
    for url in ("ftp://fleet/releases", "https://user:pw@fleet/releases", "releases"):
        with pytest.raises(ValidationError, match="FLEET_RELEASES_BASE_URL"):
            Settings(database_url="postgresql://x@localhost/fleet", releases_base_url=url)
