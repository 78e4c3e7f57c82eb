"""/api/v1/releases: signed agent releases (admin only, ``release.manage``),
and the artifacts boards download (docs/updates.md).

Downloading an artifact needs no account: a board verifies the manifest's
Ed25519 signature and the artifact's SHA-256 before it switches, so a
tampered or substituted file is refused whoever served it, and a release
holds no secret (the same file may sit on any static file server). The
download honours HTTP Range (Starlette's FileResponse), so a board on a
weak 4G link resumes where it stopped."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, UploadFile
from fastapi.responses import FileResponse

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Ctx, Db, Now, client_address, require
from fleet_server.errors import NotFound
from fleet_server.releases import files, service, storage
from fleet_server.releases.models import ReleaseInvalid

router = APIRouter(tags=["releases"])

Manager = Annotated[Principal, Depends(require(service.CAPABILITY))]
Artifact = Annotated[
    str, Path(pattern=r"^edge-agent-[0-9A-Za-z.+~-]{1,32}\.tar\.gz$", max_length=60)
]
#: a manifest is a few hundred bytes
_MANIFEST_MAX = 16 * 1024


@router.get("/releases", summary="the published agent releases, newest first")
def releases_list(conn: Db, user: Manager) -> list[dict[str, Any]]:
    return [service.public_view(r) for r in service.list_releases(conn, user)]


@router.post(
    "/releases",
    status_code=201,
    summary="publish a signed release (multipart: manifest, artifact, notes)",
    responses={
        409: {"description": "that version is already published"},
        422: {"description": "bad manifest or signature, an artifact not the manifest's"},
    },
)
def releases_publish(
    request: Request,
    ctx: Ctx,
    conn: Db,
    now: Now,
    user: Manager,
    manifest: UploadFile,
    artifact: UploadFile,
    notes: Annotated[str | None, Form(max_length=2000)] = None,
) -> dict[str, Any]:
    raw = manifest.file.read(_MANIFEST_MAX + 1)
    if len(raw) > _MANIFEST_MAX:
        raise ReleaseInvalid("manifest", f"larger than {_MANIFEST_MAX} bytes")
    data = service.read_manifest(raw)
    release = service.publish(
        conn,
        user.acting_from(client_address(request)),
        manifest_data=data,
        artifact=artifact.file,
        public_keys=service.trusted_keys(ctx.settings),
        root=service.releases_root(ctx.settings),
        notes=notes,
        now=now,
    )
    return service.public_view(release)


@router.get(
    "/releases/files/{artifact}",
    summary="download an artifact (no account needed: the board checks its signature)",
    response_class=FileResponse,
    responses={206: {"description": "the range asked for"}, 416: {"description": "bad range"}},
)
def releases_file(ctx: Ctx, conn: Db, artifact: Artifact) -> FileResponse:
    release = storage.by_artifact(conn, artifact)
    path = files.artifact_path(service.releases_root(ctx.settings), artifact) if release else None
    if release is None or path is None:
        raise NotFound("artifact", artifact)
    return FileResponse(
        path,
        media_type="application/gzip",
        filename=artifact,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
