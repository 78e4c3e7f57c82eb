"""/api/v1 board provisioning (``board.provision``: admins anywhere, operators
at their organisation's sites): add a board with its broker account and
one-time credentials, disable, enable, rotate its credentials, remove it,
and import many from a CSV file (docs/provisioning.md).

The credentials (password, or private key and certificate) are in the
response once — ``Cache-Control: no-store`` — and nowhere else: not in the
database, not in the audit log. A board outside the caller's scope, or at a
site outside it, is a 404 as if it did not exist. The broker's admin account
missing or unreachable is a 503 naming the problem; a refusal by the broker a
502; in both cases nothing was changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from fleet_server.access.principal import Actor, Principal
from fleet_server.api.deps import Conn, Db, client_address, context, require
from fleet_server.api.problems import Problem
from fleet_server.errors import Invalid
from fleet_server.provisioning import (
    CameraSpec,
    NewBoard,
    ProvisioningBackend,
    ProvisioningService,
)
from fleet_server.provisioning.csvimport import COLUMNS, import_boards
from fleet_server.provisioning.schemas import (
    BoardCreate,
    ChangedOut,
    ImportOut,
    ImportRowOut,
    ProvisionedOut,
    RotateIn,
    board_out,
    changed_out,
    credentials_out,
    provisioned_out,
)

router = APIRouter(tags=["provisioning"])

Provisioner = Annotated[Principal, Depends(require("board.provision"))]
BoardId = Annotated[str, Path(min_length=1, max_length=200, description="board id")]
MAX_CSV_BYTES = 2 * 1024 * 1024
T = TypeVar("T")


# -- helpers --------------------------------------------------------------------------


def _actor(request: Request, user: Principal) -> Actor:
    return user.acting_from(client_address(request))


def _run(request: Request, conn: Conn, work: Callable[[ProvisioningService], T]) -> T:
    """Provisioning commits its own transaction (with the broker change inside
    it): what the request did so far (the token check) is committed first."""
    backend: ProvisioningBackend = request.app.state.provisioning
    service = ProvisioningService(backend, clock=context(request).clock)
    conn.commit()
    return work(service)


def _no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"


# -- routes ---------------------------------------------------------------------------


@router.post(
    "/boards",
    status_code=201,
    summary="provision a board: its row, broker account and one-time credentials",
    responses={
        404: {"description": "no such site in the caller's scope"},
        409: {"description": "the board id exists"},
        502: {"description": "the broker refused; nothing was changed"},
        503: {"description": "the broker admin account is not configured or unreachable"},
    },
)
def boards_provision(
    request: Request, response: Response, conn: Db, user: Provisioner, body: BoardCreate
) -> ProvisionedOut:
    spec = NewBoard(
        board_id=body.id,
        name=body.name,
        site=body.site,
        site_id=body.site_id,
        model=body.model,
        serial=body.serial,
        installed_on=body.installed_on,
        heartbeat_interval_s=body.heartbeat_interval_s,
        cameras=tuple(CameraSpec(c.camera_id, c.name) for c in body.cameras),
        auth=body.auth,
    )
    done = _run(
        request,
        conn,
        lambda s: s.add_board(conn, spec, _actor(request, user), scope=user.scope),
    )
    _no_store(response)
    return provisioned_out(done)


@router.post("/boards/{board_id}/disable", summary="disable a board: refused and kicked at once")
def boards_disable(request: Request, conn: Db, user: Provisioner, board_id: BoardId) -> ChangedOut:
    done = _run(
        request,
        conn,
        lambda s: s.disable_board(conn, board_id, _actor(request, user), scope=user.scope),
    )
    return changed_out(done)


@router.post("/boards/{board_id}/enable", summary="enable a disabled board")
def boards_enable(request: Request, conn: Db, user: Provisioner, board_id: BoardId) -> ChangedOut:
    done = _run(
        request,
        conn,
        lambda s: s.enable_board(conn, board_id, _actor(request, user), scope=user.scope),
    )
    return changed_out(done)


@router.post(
    "/boards/{board_id}/rotate-credentials",
    summary="new password or certificate for a board; the old one stops working",
)
def boards_rotate(
    request: Request,
    response: Response,
    conn: Db,
    user: Provisioner,
    board_id: BoardId,
    body: RotateIn | None = None,
) -> ProvisionedOut:
    auth = body.auth if body is not None else None
    done = _run(
        request,
        conn,
        lambda s: s.rotate_credentials(
            conn, board_id, _actor(request, user), scope=user.scope, auth=auth
        ),
    )
    _no_store(response)
    return provisioned_out(done)


@router.delete(
    "/boards/{board_id}",
    summary="remove a board: broker account deleted, certificates revoked, history kept",
)
def boards_remove(request: Request, conn: Db, user: Provisioner, board_id: BoardId) -> ChangedOut:
    done = _run(
        request,
        conn,
        lambda s: s.remove_board(conn, board_id, _actor(request, user), scope=user.scope),
    )
    return changed_out(done)


_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": f"CSV with a header line; columns {', '.join(COLUMNS)}",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


async def _csv_text(request: Request) -> tuple[str, str]:
    """The uploaded CSV and a name for it (multipart ``file`` or a text/csv body)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10, max_part_size=MAX_CSV_BYTES) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise Invalid("send the CSV as the form field 'file'")
            raw = await upload.read(MAX_CSV_BYTES + 1)
            source = (upload.filename or "upload.csv")[:100]
    elif content_type in ("text/csv", "text/plain", "application/csv"):
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_CSV_BYTES:
                break
        source = "text/csv upload"
    else:
        raise Problem(
            415,
            "send the CSV as text/csv, or as multipart/form-data with a field 'file'",
            kind="unsupported-media-type",
        )
    if len(raw) > MAX_CSV_BYTES:
        raise Problem(413, f"the file is larger than {MAX_CSV_BYTES} bytes; split it")
    try:
        return raw.decode("utf-8"), source
    except UnicodeDecodeError:
        raise Invalid("the file is not UTF-8 text") from None


@router.post(
    "/boards/import",
    summary="provision boards from a CSV file, with a report per row",
    openapi_extra=_CSV_BODY,
    responses={
        400: {"description": "the file as a whole is unusable (header, encoding)"},
        503: {"description": "the broker admin account is not configured or unreachable"},
    },
)
async def boards_import(
    request: Request, response: Response, conn: Db, user: Provisioner
) -> ImportOut:
    text, source = await _csv_text(request)

    def work(service: ProvisioningService) -> ImportOut:
        report = import_boards(
            service, conn, text, _actor(request, user), scope=user.scope, source=source
        )
        rows = [
            ImportRowOut(
                line=r.row,
                board_id=r.board_id,
                ok=r.ok,
                reason=r.reason,
                detail=r.detail,
                board=board_out(r.provisioned.board) if r.provisioned else None,
                credentials=credentials_out(r.provisioned.bundle) if r.provisioned else None,
            )
            for r in report.rows
        ]
        return ImportOut(provisioned=len(report.provisioned), failed=len(report.failed), rows=rows)

    result = await run_in_threadpool(_run, request, conn, work)
    _no_store(response)
    return result
