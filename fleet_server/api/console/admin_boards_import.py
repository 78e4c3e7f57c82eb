"""Many boards at once in the console (``POST /admin/boards/import``,
``board.provision``): a CSV file with the columns of the API's
``/api/v1/boards/import`` (docs/provisioning.md), provisioned through the
same import at the sites the reader may provision, and one page with a line
per row — provisioned with its one-time credentials and files, or refused
with the reason. As for one board, the credentials are on that page only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import admin, forms
from fleet_server.api.console.admin_boards import board_files, list_page, run
from fleet_server.api.console.web import form_for, render
from fleet_server.api.deps import Db, client_address
from fleet_server.errors import Invalid, RequestError
from fleet_server.provisioning.csvimport import COLUMNS, ImportFileError, import_boards
from fleet_server.provisioning.schemas import credentials_out

router = APIRouter(include_in_schema=False)

ProvisionForm = Annotated[Principal, Depends(form_for("board.provision"))]
MAX_CSV_BYTES = 2 * 1024 * 1024


@router.post("/admin/boards/import")
def boards_import(
    request: Request,
    conn: Db,
    user: ProvisionForm,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Provision every good row; the answer is the one page with each
    provisioned board's credentials and each refused row's reason."""
    raw = file.file.read(MAX_CSV_BYTES + 1) if file is not None and file.filename else b""
    name = (file.filename or "")[:100] if file is not None else ""
    actor = user.acting_from(client_address(request))
    try:
        if not raw:
            raise Invalid("file: choose the CSV file", field="file")
        if len(raw) > MAX_CSV_BYTES:
            raise Invalid(f"file: larger than {MAX_CSV_BYTES} bytes; split it", field="file")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("file: not UTF-8 text", field="file") from None
        report = run(
            request,
            conn,
            lambda s: import_boards(
                s, conn, text, actor, scope=user.scope, source=name or "console upload"
            ),
        )
    except RequestError as exc:
        if isinstance(exc, ImportFileError):
            exc.field = "file"  # type: ignore[attr-defined]  # the file as a whole: its box marked
        return admin.refused(
            conn, exc, {}, lambda ctx: list_page(request, conn, user, ctx), "import"
        )
    rows = [
        {
            "line": r.row,
            "board_id": r.board_id,
            "ok": r.ok,
            "reason": r.reason,
            "detail": r.detail,
            # the row's reason in the reader's language, when the console words it
            "worded": forms.reason(r.detail, None)[1] if r.detail else None,
            "credentials": credentials_out(r.provisioned.bundle) if r.provisioned else None,
            "files": board_files(r.provisioned) if r.provisioned else [],
        }
        for r in report.rows
    ]
    return render(
        request,
        "admin_import.html",
        user,
        {
            "tabs": admin.tabs_for(user),
            "rows": rows,
            "provisioned": len(report.provisioned),
            "failed": len(report.failed),
            "columns": COLUMNS,
        },
    )
