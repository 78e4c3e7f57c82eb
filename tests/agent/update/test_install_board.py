"""packaging/install-board.sh staged under DESTDIR: the first release installed
only after its manifest's signature and its SHA-256 are checked."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from fleet_server.releases import bundle
from tests.support.board_process import broken_sources, release, signing_key

SCRIPT = Path(__file__).resolve().parents[3] / "packaging" / "install-board.sh"


def _install(
    artifact: Path, public: Path, dest: Path, python: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESTDIR": str(dest), "FLEET_AGENT_PYTHON": str(python or sys.executable)}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        ["sh", str(SCRIPT), str(artifact), str(public)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def test_installs_the_layout_and_the_unit(tmp_path: Path) -> None:
    key = signing_key(tmp_path / "keys")
    rel = release("1.0.0", tmp_path / "out", key)
    dest = tmp_path / "board"
    done = _install(rel.artifact, key.private.with_name("release-signing.pub"), dest)
    assert done.returncode == 0, done.stderr
    root = dest / "opt" / "fleet-agent"
    assert os.readlink(root / "current") == "releases/1.0.0"
    assert (root / "releases" / "1.0.0" / "VERSION").read_text() == "1.0.0\n"
    assert os.access(root / "bin" / "edge-agent-guard", os.X_OK)
    unit = (dest / "etc" / "systemd" / "system" / "edge-agent.service").read_text()
    assert "ExecStartPre=/opt/fleet-agent/bin/edge-agent-guard" in unit
    assert "ExecStart=/opt/fleet-agent/current/bin/edge-agent" in unit
    for state in ("fleet", "fleet-agent"):
        assert (dest / "var" / "lib" / state).stat().st_mode & 0o777 == 0o700
    version = subprocess.run(
        [str(root / "current" / "bin" / "edge-agent"), "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "FLEET_AGENT_PYTHON": sys.executable},
        check=True,
    )
    assert "Edge agent" in version.stdout


def test_a_tampered_artifact_or_a_foreign_key_installs_nothing(tmp_path: Path) -> None:
    key = signing_key(tmp_path / "keys")
    other = signing_key(tmp_path / "other")
    rel = release("1.0.0", tmp_path / "out", key)
    dest = tmp_path / "board"
    foreign = _install(rel.artifact, other.private.with_name("release-signing.pub"), dest)
    assert foreign.returncode != 0
    assert "unknown key id" in foreign.stderr
    # another build under the same name: it unpacks, its VERSION agrees, its digest does not
    bundle.build("1.0.0", tmp_path / "out", sources=broken_sources(tmp_path / "broken"))
    tampered = _install(rel.artifact, key.private.with_name("release-signing.pub"), dest)
    assert tampered.returncode != 0
    assert "differs from its manifest" in tampered.stderr
    assert not (dest / "opt").exists()


def test_the_artifact_never_checks_itself(tmp_path: Path) -> None:
    # a forged release whose own code says yes to any signature, at interpreter start
    key = signing_key(tmp_path / "keys")
    built = bundle.build("1.0.0", tmp_path / "build")
    artifact = tmp_path / "out" / built.name
    artifact.parent.mkdir()
    hook = b"import fleet_protocol.releases as r\nr.verify = lambda *args: None\n"
    with tarfile.open(built, "r:gz") as src, tarfile.open(artifact, "w:gz") as out:
        for member in src.getmembers():
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
        info = tarfile.TarInfo("edge-agent-1.0.0/lib/sitecustomize.py")
        info.size = len(hook)
        out.addfile(info, io.BytesIO(hook))
    fields = {
        "format": 1,
        "name": "edge-agent",
        "version": "1.0.0",
        "artifact": artifact.name,
        "size": artifact.stat().st_size,
        "sha256": hashlib.sha256(artifact.read_bytes()).hexdigest(),
        "created_at": "2026-12-07T00:00:00+00:00",
        "key_id": key.key_id,
        "signature": base64.b64encode(bytes(64)).decode(),
    }
    (tmp_path / "out" / "edge-agent-1.0.0.manifest.json").write_text(json.dumps(fields))
    dest = tmp_path / "board"
    done = _install(artifact, key.private.with_name("release-signing.pub"), dest)
    assert done.returncode != 0
    assert "bad signature" in done.stderr
    assert not (dest / "opt").exists()


def test_a_version_that_is_a_path_is_refused(tmp_path: Path) -> None:
    key = signing_key(tmp_path / "keys")
    odd = tmp_path / "edge-agent-...tar.gz"  # the version would be ".."
    odd.write_bytes(b"")
    done = _install(odd, key.private.with_name("release-signing.pub"), tmp_path / "board")
    assert done.returncode == 2
    assert "not a version" in done.stderr


def test_a_version_with_a_final_newline_is_not_built(tmp_path: Path) -> None:
    with pytest.raises(bundle.BuildError, match="does not match"):
        bundle.build("1.0.0\n", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_what_is_unpacked_is_what_was_checked(tmp_path: Path) -> None:
    # the artifact swapped for another build of the same version right after its check
    key = signing_key(tmp_path / "keys")
    rel = release("1.0.0", tmp_path / "out", key)
    other = bundle.build("1.0.0", tmp_path / "other", sources=broken_sources(tmp_path / "b"))
    swapper = tmp_path / "python-then-swap"
    swapper.write_text(
        f'#!/bin/sh\n"{sys.executable}" "$@"\nrc=$?\ncp "{other}" "{rel.artifact}"\nexit $rc\n'
    )
    swapper.chmod(0o755)
    dest = tmp_path / "board"
    done = _install(rel.artifact, key.private.with_name("release-signing.pub"), dest, swapper)
    assert done.returncode == 0, done.stderr
    main = dest / "opt" / "fleet-agent" / "current" / "lib" / "edge_agent" / "__main__.py"
    assert "broken release" not in main.read_text()
