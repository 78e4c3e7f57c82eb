"""The broadcast file archive on S3-compatible object storage (AWS S3, MinIO,
Ceph RGW, a provider's object storage): PUT, GET, HEAD and DELETE signed with
AWS Signature Version 4 over httpx, path-style URLs
(``<endpoint>/<bucket>/<prefix>sha256/ab/cd/<hash>``).

Uploads are spooled and hashed on local disk first (``files.spool``), then
sent with ``x-amz-content-sha256`` set to the file's SHA-256: the service
recomputes it and refuses a body that does not match, so a file is never
stored under a hash it does not have. An object is never replaced: PUT is
sent only after HEAD found none (and with ``If-None-Match: *``, which
services that know it enforce)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlsplit

import httpx

from fleet_server.content.files import (
    DEFAULT_MAX_BYTES,
    Spooled,
    StoreUnavailable,
    key_of,
    spool,
    sweep_spool,
)
from fleet_server.errors import NotFound

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret_key}".encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _canonical_query(query: str) -> str:
    pairs = []
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    payload_sha256: str,
    access_key: str,
    secret_key: str,
    region: str,
    service: str = "s3",
    now: datetime,
) -> dict[str, str]:
    """``headers`` with ``x-amz-date`` and ``Authorization`` added: AWS
    Signature Version 4 over the method, the path (its segments already
    percent-encoded once, as S3 wants), the query, every header given plus
    ``host`` and ``x-amz-date``, and the payload's SHA-256."""
    parts = urlsplit(url)
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    names = sorted(signed)
    canonical = "\n".join(
        [
            method.upper(),
            parts.path or "/",
            _canonical_query(parts.query),
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    signature = hmac.new(
        signing_key(secret_key, day, region, service), to_sign.encode(), hashlib.sha256
    ).hexdigest()
    return {
        **headers,
        "x-amz-date": amz_date,
        "Authorization": f"{ALGORITHM} Credential={access_key}/{scope},"
        f" SignedHeaders={';'.join(names)}, Signature={signature}",
    }


class S3Store:
    """Content files as objects of one bucket."""

    backend = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        spool_dir: Path,
        region: str = "us-east-1",
        prefix: str = "",
        max_bytes: int = DEFAULT_MAX_BYTES,
        client: httpx.Client | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.spool_dir = spool_dir
        self._access_key = access_key
        self._secret_key = secret_key
        self._client = client or httpx.Client(timeout=httpx.Timeout(30.0, read=300.0))

    def url_of(self, sha256: str) -> str:
        key = f"{self.prefix}{key_of(sha256)}"
        path = "/".join(quote(p, safe="-_.~") for p in (self.bucket, *key.split("/")))
        return f"{self.endpoint}/{path}"

    def _request(
        self,
        method: str,
        sha256: str,
        *,
        headers: Mapping[str, str] | None = None,
        payload_sha256: str = EMPTY_SHA256,
        content: BinaryIO | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        url = self.url_of(sha256)
        signed = sign(
            method,
            url,
            {**(headers or {}), "x-amz-content-sha256": payload_sha256},
            payload_sha256=payload_sha256,
            access_key=self._access_key,
            secret_key=self._secret_key,
            region=self.region,
            now=datetime.now(UTC),
        )
        request = self._client.build_request(method, url, headers=signed, content=content)
        try:
            return self._client.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(
                f"the object store at {urlsplit(self.endpoint).netloc} cannot be reached:"
                f" {type(exc).__name__}"
            ) from exc

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code >= 300:
            if not response.is_stream_consumed:
                response.read()
            code = _error_code(response.text)
            raise StoreUnavailable(
                f"the object store refused to {what} (HTTP {response.status_code}"
                f"{', ' + code if code else ''})"
            )

    def spool(self, stream: BinaryIO | Iterable[bytes]) -> Spooled:
        return spool(stream, self.spool_dir, self.max_bytes)

    def put(self, spooled: Spooled) -> bool:
        try:
            if self.size(spooled.sha256) is not None:
                return False
            with spooled.path.open("rb") as body:
                response = self._request(
                    "PUT",
                    spooled.sha256,
                    headers={
                        "content-length": str(spooled.size_bytes),
                        "content-type": "application/octet-stream",
                        "if-none-match": "*",
                    },
                    payload_sha256=spooled.sha256,
                    content=body,
                )
            if response.status_code in (409, 412):  # placed meanwhile by another upload
                return False
            self._check(response, "store a file")
            return True
        finally:
            spooled.discard()

    def size(self, sha256: str) -> int | None:
        response = self._request("HEAD", sha256)
        if response.status_code == 404:
            return None
        self._check(response, "look up a file")
        return int(response.headers.get("content-length", "0"))

    def read(self, sha256: str) -> Iterator[bytes]:
        response = self._request("GET", sha256, stream=True)
        if response.status_code == 404:
            response.close()
            raise NotFound("content file", sha256)
        try:
            self._check(response, "read a file")
        finally:
            if response.status_code >= 300:
                response.close()
        return _body(response)

    def sweep_spool(self) -> int:
        return sweep_spool(self.spool_dir)

    def delete(self, sha256: str) -> bool:
        if self.size(sha256) is None:
            return False
        self._check(self._request("DELETE", sha256), "delete a file")
        return True


def _body(response: httpx.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(1 << 20)
    finally:
        response.close()


def _error_code(text: str) -> str:
    """The ``<Code>`` of an S3 error document (never its message, which may
    echo the request)."""
    start = text.find("<Code>")
    end = text.find("</Code>", start)
    return text[start + 6 : end][:60] if start >= 0 and end > start else ""
