"""``fleet-server releases publish`` and ``list`` against a real database:
the manifest's signature checked against FLEET_RELEASE_PUBLIC_KEYS, the
artifact copied into FLEET_RELEASES_DIR, the release registered and audited;
a release the server does not trust is refused with its reason, nothing
kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet_server.cli import main
from tests.server.releases.support import SigningKey, write_release


def test_publish_and_list(
    monkeypatch: pytest.MonkeyPatch, db: Any, db_url: str, tmp_path: Path, capsys: Any
) -> None:
    key, stranger = SigningKey.new(), SigningKey.new()
    served = tmp_path / "served"
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("FLEET_RELEASES_DIR", str(served))
    monkeypatch.setenv("FLEET_RELEASE_PUBLIC_KEYS", key.setting)
    manifest, artifact = write_release(key, tmp_path / "dist", "2.1.0")
    assert main(["releases", "publish", str(manifest), "--artifact", str(artifact)]) == 0
    assert "published edge-agent 2.1.0" in capsys.readouterr().out
    assert (served / artifact.name).read_bytes() == artifact.read_bytes()
    [[actor]] = db.execute("SELECT actor FROM audit_log WHERE action = 'release.publish'")
    assert str(actor).startswith("system:cli:")

    foreign, foreign_artifact = write_release(stranger, tmp_path / "evil", "2.2.0")
    assert main(["releases", "publish", str(foreign), "--artifact", str(foreign_artifact)]) == 1
    assert "unknown key id" in capsys.readouterr().err
    assert main(["releases", "publish", str(manifest), "--artifact", str(artifact)]) == 1
    assert "already published" in capsys.readouterr().err
    assert sorted(p.name for p in served.iterdir()) == [artifact.name]

    assert main(["releases", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["2.1.0"]
