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
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Conn, Db, client_address, context, require
from fleet_server.api.problems import Problem
from fleet_server.errors import Invalid
from fleet_server.provisioning import (
    Actor,
    BoardBundle,
    BoardRecord,
    CameraSpec,
    ImportFileError,
    NewBoard,
    ProvisioningBackend,
    ProvisioningError,
    ProvisioningService,
)
from fleet_server.provisioning.csvimport import COLUMNS, import_boards

router = APIRouter(tags=["provisioning"])

Provisioner = Annotated[Principal, Depends(require("board.provision"))]
BoardId = Annotated[str, Path(min_length=1, max_length=200, description="board id")]
NO_NUL = r"^[^\x00]*$"
MAX_CSV_BYTES = 2 * 1024 * 1024
T = TypeVar("T")

#: ProvisioningError.reason → HTTP status.
STATUS: dict[str, int] = {
    "bad_id": 422,
    "bad_row": 422,
    "ca_refused": 422,
    "unknown_site": 404,
    "not_found": 404,
    "duplicate": 409,
    "removed": 409,
    "broker_refused": 502,
    "broker_unavailable": 503,
    "not_configured": 503,
    "ca_unavailable": 503,
}


class CameraIn(BaseModel):
    camera_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class BoardCreate(BaseModel):
    id: str = Field(pattern=DEVICE_ID_PATTERN, description="the board id (its MQTT user name)")
    site: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="the site's code"
    )
    site_id: int | None = Field(default=None, ge=1, le=2**62, description="or the site's id")
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    model: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    serial: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    installed_on: date | None = None
    heartbeat_interval_s: int | None = Field(default=None, ge=5, le=86_400)
    cameras: list[CameraIn] = Field(default_factory=list, max_length=16)
    auth: Literal["password", "certificate"] = "password"


class RotateIn(BaseModel):
    auth: Literal["password", "certificate"] | None = Field(
        default=None, description="switch the board to this method (default: keep it)"
    )


class BoardLoginOut(BaseModel):
    """A board's inventory, broker login method and lifecycle (no secrets)."""

    id: str
    site_id: int
    site_code: str
    name: str
    model: str | None
    serial: str | None
    installed_on: date | None
    enabled: bool
    auth: Literal["password", "certificate"] | None
    cert_serial: str | None
    cert_not_after: datetime | None
    provisioned_at: datetime | None
    credentials_rotated_at: datetime | None
    disabled_at: datetime | None
    disabled_by: str | None
    removed_at: datetime | None
    removed_by: str | None
    cameras: list[str]


class BoardFile(BaseModel):
    name: str
    mode: str = Field(description="file mode on the board, e.g. 0600 for secrets")
    content: str


class CredentialsOut(BaseModel):
    """Shown once. Copy ``files`` into the board's /etc/fleet/."""

    auth: Literal["password", "certificate"]
    mqtt_url: str
    agent_toml: str
    password: str | None
    certificate_pem: str | None
    private_key_pem: str | None
    ca_pem: str | None
    cert_serial: str | None
    cert_not_after: datetime | None
    files: list[BoardFile]


class ProvisionedOut(BaseModel):
    board: BoardLoginOut
    credentials: CredentialsOut
    notes: list[str]


class ChangedOut(BaseModel):
    board: BoardLoginOut
    notes: list[str]


class ImportRowOut(BaseModel):
    line: int
    board_id: str | None
    ok: bool
    reason: str | None
    detail: str | None
    board: BoardLoginOut | None = None
    credentials: CredentialsOut | None = None


class ImportOut(BaseModel):
    provisioned: int
    failed: int
    rows: list[ImportRowOut]


# -- helpers --------------------------------------------------------------------------


def _board(record: BoardRecord) -> BoardLoginOut:
    data: dict[str, Any] = {k: getattr(record, k) for k in BoardLoginOut.model_fields}
    data["cameras"] = list(record.cameras)
    return BoardLoginOut.model_validate(data)


def _credentials(bundle: BoardBundle) -> CredentialsOut:
    return CredentialsOut(
        auth=bundle.auth,
        mqtt_url=bundle.mqtt_url,
        agent_toml=bundle.agent_toml,
        password=bundle.password,
        certificate_pem=bundle.certificate_pem,
        private_key_pem=bundle.private_key_pem,
        ca_pem=bundle.ca_pem,
        cert_serial=bundle.cert_serial,
        cert_not_after=bundle.cert_not_after,
        files=[
            BoardFile(name=name, mode=f"{mode:04o}", content=content.decode())
            for name, (content, mode) in bundle.files().items()
        ],
    )


def problem_for(exc: ProvisioningError) -> Problem:
    return Problem(
        STATUS.get(exc.reason, 400),
        exc.detail,
        kind=exc.reason.replace("_", "-"),
        reason=exc.reason,
    )


def _actor(request: Request, user: Principal) -> Actor:
    return Actor(user.actor, user.user_id, address=client_address(request), sites=user.scope)


def _run(request: Request, conn: Conn, work: Callable[[ProvisioningService], T]) -> T:
    """Provisioning commits its own transaction (with the broker change inside
    it): what the request did so far (the token check) is committed first."""
    backend: ProvisioningBackend = request.app.state.provisioning
    service = ProvisioningService(backend, clock=context(request).clock)
    conn.commit()
    try:
        return work(service)
    except ProvisioningError as exc:
        raise problem_for(exc) from None


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
    done = _run(request, conn, lambda s: s.add_board(conn, spec, _actor(request, user)))
    _no_store(response)
    return ProvisionedOut(
        board=_board(done.board), credentials=_credentials(done.bundle), notes=list(done.notes)
    )


@router.post("/boards/{board_id}/disable", summary="disable a board: refused and kicked at once")
def boards_disable(request: Request, conn: Db, user: Provisioner, board_id: BoardId) -> ChangedOut:
    done = _run(request, conn, lambda s: s.disable_board(conn, board_id, _actor(request, user)))
    return ChangedOut(board=_board(done.board), notes=list(done.notes))


@router.post("/boards/{board_id}/enable", summary="enable a disabled board")
def boards_enable(request: Request, conn: Db, user: Provisioner, board_id: BoardId) -> ChangedOut:
    done = _run(request, conn, lambda s: s.enable_board(conn, board_id, _actor(request, user)))
    return ChangedOut(board=_board(done.board), notes=list(done.notes))


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
        lambda s: s.rotate_credentials(conn, board_id, _actor(request, user), auth=auth),
    )
    _no_store(response)
    return ProvisionedOut(
        board=_board(done.board), credentials=_credentials(done.bundle), notes=list(done.notes)
    )


@router.delete(
    "/boards/{board_id}",
    summary="remove a board: broker account deleted, certificates revoked, history kept",
)
def boards_remove(request: Request, conn: Db, user: Provisioner, board_id: BoardId) -> ChangedOut:
    done = _run(request, conn, lambda s: s.remove_board(conn, board_id, _actor(request, user)))
    return ChangedOut(board=_board(done.board), notes=list(done.notes))


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
        try:
            report = import_boards(service, conn, text, _actor(request, user), source=source)
        except ImportFileError as exc:
            raise Invalid(exc.detail) from None
        rows = [
            ImportRowOut(
                line=r.row,
                board_id=r.board_id,
                ok=r.ok,
                reason=r.reason,
                detail=r.detail,
                board=_board(r.provisioned.board) if r.provisioned else None,
                credentials=_credentials(r.provisioned.bundle) if r.provisioned else None,
            )
            for r in report.rows
        ]
        return ImportOut(provisioned=len(report.provisioned), failed=len(report.failed), rows=rows)

    result = await run_in_threadpool(_run, request, conn, work)
    _no_store(response)
    return result
