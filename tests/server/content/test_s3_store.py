"""The broadcast file archive on S3-compatible storage (Điều 9.1: "thực hiện
việc sao lưu dữ liệu (thông tin tuyên truyền, thông tin quảng cáo, thời gian
đăng phát) phục vụ công tác thanh tra, kiểm tra").

The signing is checked against AWS's published Signature Version 4 examples;
the store itself against a real S3-compatible server, moto's, run as a
subprocess with IAM authentication on (it recomputes every signature and
refuses a wrong one). moto is in the test extras; the test finds
``moto_server`` in FLEET_TEST_MOTO_SERVER, beside the running Python, or on PATH."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from fleet_server.content.files import StoreUnavailable
from fleet_server.content.s3 import EMPTY_SHA256, S3Store, sign
from fleet_server.errors import NotFound
from tests.support.ports import free_port

S3_DOC_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def test_sigv4_matches_the_s3_get_object_example() -> None:
    """AWS S3 API reference, "Signature Calculations for the Authorization
    Header", example GET Object (a Range header)."""
    headers = sign(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        {"Range": "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256},
        payload_sha256=EMPTY_SHA256,
        access_key=S3_DOC_KEY[0],
        secret_key=S3_DOC_KEY[1],
        region="us-east-1",
        now=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        " SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        " Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert headers["x-amz-date"] == "20130524T000000Z"


def test_sigv4_matches_the_s3_put_object_example() -> None:
    """Same page, example PUT Object (a payload, an encoded key)."""
    payload = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
    headers = sign(
        "PUT",
        "https://examplebucket.s3.amazonaws.com/test%24file.text",
        {
            "Date": "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "x-amz-content-sha256": payload,
        },
        payload_sha256=payload,
        access_key=S3_DOC_KEY[0],
        secret_key=S3_DOC_KEY[1],
        region="us-east-1",
        now=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["Authorization"].endswith(
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
        " Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )


def test_sigv4_matches_the_test_suite_get_vanilla() -> None:
    """AWS Signature Version 4 test suite, ``get-vanilla``."""
    headers = sign(
        "GET",
        "https://example.amazonaws.com/",
        {},
        payload_sha256=EMPTY_SHA256,
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        service="service",
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"
        " SignedHeaders=host;x-amz-date,"
        " Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


@dataclass
class Moto:
    endpoint: str
    access_key: str
    secret_key: str


def _moto_server() -> str | None:
    beside_python = Path(sys.executable).parent / "moto_server"
    return (
        os.environ.get("FLEET_TEST_MOTO_SERVER")
        or (str(beside_python) if beside_python.exists() else None)
        or shutil.which("moto_server")
    )


def _iam(endpoint: str, params: dict[str, str]) -> str:
    body = urlencode({**params, "Version": "2010-05-08"}).encode()
    headers = sign(
        "POST",
        f"{endpoint}/",
        {"content-type": "application/x-www-form-urlencoded"},
        payload_sha256=hashlib.sha256(body).hexdigest(),
        access_key="AKIABOOTSTRAP",
        secret_key="bootstrap",
        region="us-east-1",
        service="iam",
        now=datetime.now(UTC),
    )
    answer = httpx.post(f"{endpoint}/", content=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.text


def _wait_listening(proc: subprocess.Popen[bytes], endpoint: str, log: Path) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            pytest.fail(f"moto_server exited: {log.read_text()}")
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # a subprocess starting: nothing to wait on but its port
    pytest.fail("moto_server did not listen within 30 s")


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[Moto]:
    server = _moto_server()
    if server is None:
        pytest.skip("moto_server not found (FLEET_TEST_MOTO_SERVER or PATH)")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # Authentication is on after the three IAM calls that make our user.
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    log = (tmp_path / "moto.log").open("wb")
    proc = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log, env=env
    )
    try:
        _wait_listening(proc, endpoint, tmp_path / "moto.log")
        _iam(endpoint, {"Action": "CreateUser", "UserName": "fleet"})
        keys = _iam(endpoint, {"Action": "CreateAccessKey", "UserName": "fleet"})
        access = re.search("<AccessKeyId>(.*?)</AccessKeyId>", keys)
        secret = re.search("<SecretAccessKey>(.*?)</SecretAccessKey>", keys)
        assert access is not None
        assert secret is not None
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        _iam(
            endpoint,
            {
                "Action": "PutUserPolicy",
                "UserName": "fleet",
                "PolicyName": "s3",
                "PolicyDocument": json.dumps(policy),
            },
        )
        moto = Moto(endpoint, access.group(1), secret.group(1))
        bucket = sign(
            "PUT",
            f"{endpoint}/archive",
            {"x-amz-content-sha256": EMPTY_SHA256},
            payload_sha256=EMPTY_SHA256,
            access_key=moto.access_key,
            secret_key=moto.secret_key,
            region="us-east-1",
            now=datetime.now(UTC),
        )
        assert httpx.put(f"{endpoint}/archive", headers=bucket).status_code == 200
        yield moto
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def s3_store(moto: Moto, tmp_path: Path, *, secret: str | None = None) -> S3Store:
    return S3Store(
        endpoint=moto.endpoint,
        bucket="archive",
        access_key=moto.access_key,
        secret_key=secret or moto.secret_key,
        spool_dir=tmp_path / "spool",
        prefix="lai-chau/",
        max_bytes=10 * 1024**2,
    )


def test_the_s3_store_round_trip(moto: Moto, tmp_path: Path) -> None:
    store = s3_store(moto, tmp_path)
    clip = os.urandom(3 * 1024**2 + 17)  # more than one read chunk
    sha = hashlib.sha256(clip).hexdigest()
    assert store.size(sha) is None
    assert store.put(store.spool(io.BytesIO(clip))) is True
    assert store.put(store.spool(io.BytesIO(clip))) is False  # never replaced
    assert list((tmp_path / "spool").iterdir()) == []
    assert store.size(sha) == len(clip)
    assert b"".join(store.read(sha)) == clip
    assert store.url_of(sha).endswith(f"/archive/lai-chau/sha256/{sha[:2]}/{sha[2:4]}/{sha}")
    assert store.delete(sha) is True
    assert store.delete(sha) is False
    with pytest.raises(NotFound):
        store.read(sha)


def test_a_wrong_secret_is_refused_by_the_server(moto: Moto, tmp_path: Path) -> None:
    """The server recomputes the signature: a wrong key is a 403, reported
    without the key."""
    store = s3_store(moto, tmp_path, secret="not-the-secret")
    with pytest.raises(StoreUnavailable, match=r"HTTP 403") as refused:
        store.size("0" * 64)
    assert "not-the-secret" not in str(refused.value)


def test_an_unreachable_store_is_named(tmp_path: Path) -> None:
    store = S3Store(
        endpoint=f"http://127.0.0.1:{free_port()}",
        bucket="archive",
        access_key="a",
        secret_key="secret-value",
        spool_dir=tmp_path,
    )
    with pytest.raises(StoreUnavailable, match="cannot be reached") as failed:
        store.size("0" * 64)
    assert "secret-value" not in str(failed.value)
