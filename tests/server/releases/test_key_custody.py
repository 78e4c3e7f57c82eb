"""The release signing key's custody: where keygen writes it, who may read
it, and that no command prints or leaks it."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from fleet_server.cli import main
from fleet_server.releases import bundle, signing


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["releases", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _secret_shapes(private: Path) -> list[str]:
    """The private key as PEM lines and as the raw seed in base64."""
    pem = private.read_text().splitlines()
    seed = signing.load_private(private).private_bytes_raw()
    return [line for line in pem if "PRIVATE KEY" not in line] + [base64.b64encode(seed).decode()]


def test_the_key_is_0600_and_never_printed_whatever_the_umask(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = os.umask(0)
    try:
        code, out, err = _run(capsys, "keygen", "--out", str(tmp_path / "keys"))
    finally:
        os.umask(old)
    assert code == 0, err
    private = tmp_path / "keys" / signing.PRIVATE_NAME
    assert private.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    artifact = bundle.build("1.0.0", tmp_path / "out")
    code, sign_out, sign_err = _run(capsys, "sign", str(artifact), "--key", str(private))
    assert code == 0
    manifest = Path(sign_out.strip()).read_text()
    for shape in _secret_shapes(private):
        for text in (out, err, sign_out, sign_err, manifest):
            assert shape not in text


def test_keygen_refuses_a_directory_someone_else_owns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    try:
        os.chown(theirs, os.geteuid() + 4242, -1)
    except PermissionError:
        pytest.skip("not root: cannot give a directory away")
    code, _, err = _run(capsys, "keygen", "--out", str(theirs))
    assert code == 1
    assert "not to you" in err
    assert list(theirs.iterdir()) == []


def test_sign_refuses_a_key_that_is_not_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "release-signing.key"
    os.mkfifo(fifo, 0o600)  # reading it would wait forever
    artifact = bundle.build("1.0.0", tmp_path / "out")
    code, _, err = _run(capsys, "sign", str(artifact), "--key", str(fifo))
    assert code == 1
    assert "not a regular file" in err
