"""/api/v1/content/files: the broadcast file archive (Điều 9.1). Whoever may
approve content uploads a file (kept by its SHA-256, idempotent); whoever may
read the registry downloads it (docs/content.md "Broadcast file archive")."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

import anyio.from_thread
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from fleet_server.access.principal import Principal
from fleet_server.api.content_store import Store
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.problems import Problem
from fleet_server.content import service_files
from fleet_server.content.files import StoredFile
from fleet_server.content.schemas_files import StoredFileOut
from fleet_server.errors import Invalid, TooLarge

router = APIRouter(tags=["approved content"])

Reader = Annotated[Principal, Depends(require("content.read"))]
Approver = Annotated[Principal, Depends(require("content.approve"))]
Sha256 = Annotated[
    str, Path(min_length=64, max_length=64, description="the file's SHA-256, 64 hex digits")
]
#: What a multipart body may add to the file itself (boundaries, part headers).
_MULTIPART_SLACK = 64 * 1024


_BODY = {
    "requestBody": {
        "required": True,
        "description": "the file as the raw body (its media type as Content-Type, its name in"
        " ?filename=) or as multipart/form-data with the field 'file'",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "media_type": {"type": "string"},
                    },
                    "required": ["file"],
                }
            },
        },
    }
}


def _body_chunks(request: Request) -> Iterator[bytes]:
    """The request body, read from the event loop one chunk at a time while
    a worker thread writes it to disk."""
    chunks = request.stream()

    async def next_chunk() -> bytes | None:
        try:
            return await chunks.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk


@router.post(
    "/content/files",
    status_code=201,
    summary="keep a broadcast file in the archive, by its SHA-256 (idempotent)",
    openapi_extra=_BODY,
    responses={
        200: {"description": "the file was already in the archive: nothing changed"},
        413: {"description": "larger than FLEET_CONTENT_FILES_MAX_BYTES"},
    },
)
async def files_upload(
    request: Request,
    response: Response,
    conn: Db,
    now: Now,
    user: Approver,
    store: Store,
    filename: Annotated[str | None, Query(max_length=1000)] = None,
    sha256: Annotated[
        str | None, Query(max_length=64, description="the hash the file must have")
    ] = None,
) -> StoredFileOut:
    declared = request.headers.get("content-length")
    limit = store.max_bytes + _MULTIPART_SLACK
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"file: larger than the limit of {store.max_bytes:,} bytes")
    actor = user.acting_from(client_address(request))
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        if declared is None:
            # the form parser would spool a file of any size before we see it
            raise Problem(
                411,
                "a multipart upload needs a Content-Length; send a large file as the raw body",
                kind="length-required",
            )
        async with request.form(max_files=1, max_fields=5) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise Invalid("file: send the file as the form field 'file'", field="file")
            media = form.get("media_type")
            stored = await run_in_threadpool(
                service_files.store_upload,
                conn,
                store,
                upload.file,
                filename=filename or upload.filename,
                media_type=media if isinstance(media, str) and media else upload.content_type,
                actor=actor,
                now=now,
                expect_sha256=sha256,
            )
    else:
        stored = await run_in_threadpool(
            lambda: service_files.store_upload(
                conn,
                store,
                _body_chunks(request),
                filename=filename,
                media_type=content_type or None,
                actor=actor,
                now=now,
                expect_sha256=sha256,
            )
        )
    response.status_code = 201 if stored.created else 200
    response.headers["Location"] = f"{request.url.path}/{stored.sha256}"
    return await run_in_threadpool(service_files.file_out, conn, stored)


def _headers(found: StoredFile) -> dict[str, str]:
    digest = base64.b64encode(bytes.fromhex(found.sha256)).decode()
    return {
        "Content-Length": str(found.size_bytes),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename, safe='')}",
        "ETag": f'"{found.sha256}"',
        "Repr-Digest": f"sha-256=:{digest}:",
        "X-Content-Type-Options": "nosniff",
        # an uploaded HTML or SVG file must never run as this site's page
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=86400, immutable",
    }


@router.get(
    "/content/files/{sha256}",
    summary="download an archived broadcast file",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
)
def files_download(conn: Db, user: Reader, store: Store, sha256: Sha256) -> StreamingResponse:
    found, chunks = service_files.read_file(conn, store, sha256)
    return StreamingResponse(chunks, media_type=found.media_type, headers=_headers(found))


@router.head("/content/files/{sha256}", summary="is a broadcast file archived? (its headers)")
def files_head(conn: Db, user: Reader, sha256: Sha256) -> Response:
    found = service_files.get_file(conn, sha256)
    return Response(status_code=200, media_type=found.media_type, headers=_headers(found))
