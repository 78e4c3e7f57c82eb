"""``fleet-server releases keygen|build|sign|verify``: the offline signing commands."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from fleet_server.cli import main
from fleet_server.releases import bundle, signing


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["releases", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_keygen_build_sign_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys"
    code, out, _ = _run(capsys, "keygen", "--out", str(keys))
    assert code == 0
    kid = out.split("key id: ")[1].split()[0]
    assert (keys / "release-signing.key").stat().st_mode & 0o777 == 0o600
    assert f"FLEET_RELEASE_PUBLIC_KEYS={kid}:" in out
    code, out, _ = _run(capsys, "build", "--version", "1.4.0", "--out", str(tmp_path / "out"))
    assert code == 0
    artifact = Path(out.strip())
    assert artifact.name == "edge-agent-1.4.0.tar.gz"
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
        members = tar.getmembers()
    assert "edge-agent-1.4.0/bin/edge-agent" in names
    assert "edge-agent-1.4.0/bin/edge-agent-guard" in names
    assert "edge-agent-1.4.0/lib/edge_agent/__main__.py" in names
    assert "edge-agent-1.4.0/lib/fleet_protocol/releases.py" in names
    assert not [n for n in names if "__pycache__" in n]
    assert {(m.uid, m.uname, m.mtime) for m in members} == {(0, "", bundle.MTIME)}
    code, out, _ = _run(capsys, "sign", str(artifact), "--key", str(keys / "release-signing.key"))
    assert code == 0
    manifest = json.loads(Path(out.strip()).read_text())
    assert manifest["key_id"] == kid
    assert manifest["size"] == artifact.stat().st_size
    public = str(keys / "release-signing.pub")
    code, out, _ = _run(capsys, "verify", out.strip(), "--public-key", public)
    assert code == 0
    assert out.startswith("ok: edge-agent 1.4.0")


def test_the_same_source_builds_the_same_bytes(tmp_path: Path) -> None:
    one = bundle.build("1.0.0", tmp_path / "a")
    two = bundle.build("1.0.0", tmp_path / "b")
    assert one.read_bytes() == two.read_bytes()


def test_keygen_never_overwrites_nor_writes_where_others_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    assert _run(capsys, "keygen", "--out", str(keys))[0] == 0
    before = (keys / "release-signing.key").read_bytes()
    code, _, err = _run(capsys, "keygen", "--out", str(keys))
    assert code == 1
    assert "never overwritten" in err
    assert (keys / "release-signing.key").read_bytes() == before
    open_dir = tmp_path / "shared"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    code, _, err = _run(capsys, "keygen", "--out", str(open_dir))
    assert code == 1
    assert "readable by others" in err
    assert list(open_dir.iterdir()) == []


def test_verify_catches_a_tampered_artifact_and_another_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kid, private, public = signing.keygen(tmp_path / "k1")
    _, _, other_public = signing.keygen(tmp_path / "k2")
    artifact = bundle.build("2.0.0", tmp_path / "out")
    manifest = signing.sign(artifact, private)
    code, _, err = _run(capsys, "verify", str(manifest), "--public-key", str(other_public))
    assert code == 1
    assert "unknown key id" in err
    data = bytearray(artifact.read_bytes())
    data[100] ^= 1
    artifact.write_bytes(bytes(data))
    code, _, err = _run(capsys, "verify", str(manifest), "--public-key", str(public))
    assert code == 1
    assert "sha256 differs" in err
    assert kid in manifest.read_text()
    artifact.unlink()
    code, _, err = _run(capsys, "verify", str(manifest), "--public-key", str(public))
    assert code == 1
    assert "not beside the manifest" in err


def test_sign_refuses_a_wrong_name_or_version_and_a_readable_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, private, _ = signing.keygen(tmp_path / "k")
    artifact = bundle.build("2.0.0", tmp_path / "out")
    private.chmod(0o644)
    code, _, err = _run(capsys, "sign", str(artifact), "--key", str(private))
    assert code == 1
    assert "readable by others" in err
    private.chmod(0o600)
    renamed = artifact.rename(tmp_path / "out" / "edge-agent-2.0.1.tar.gz")
    code, _, err = _run(capsys, "sign", str(renamed), "--key", str(private))
    assert code == 1
    assert "no readable VERSION" in err
    assert not list((tmp_path / "out").glob("*.manifest.json"))


def test_build_refuses_a_bad_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "build", "--version", "../1", "--out", str(tmp_path))
    assert code == 1
    assert "does not match" in err
