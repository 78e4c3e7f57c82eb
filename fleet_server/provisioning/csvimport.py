"""Bulk provisioning from a CSV file, with a report per row.

Columns (a header line names them, in any order; ``board_id``, ``site`` and
``name`` are required, the others may be left out or empty)::

    board_id,site,name,model,serial,installed_on,cameras,auth,heartbeat_interval_s
    lc-mlt-03,ma-lu-thang,Bảng tin cửa khẩu số 3,LED P5,SN123,2026-05-01,cam1:Cổng;cam2,password

* ``site``: the site's code (``ma-lu-thang``);
* ``installed_on``: ``YYYY-MM-DD``;
* ``cameras``: ``;``-separated ``id`` or ``id:name`` (``cam1:Cổng chính;cam2``);
* ``auth``: ``password`` (default) or ``certificate``.

Each row is provisioned on its own (its own transaction, its own broker
change), so a bad row is reported with its reason — ``bad_row``, ``bad_id``,
``unknown_site``, ``duplicate`` (in the database or earlier in the file),
``broker_refused``, ``broker_unavailable``, ``ca_refused`` … — and leaves
nothing behind, while the good rows are provisioned. One audit row sums the
import up; every provisioned board has its own ``board.provision`` row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import Any

import psycopg

from fleet_server.access import audit
from fleet_server.access.principal import Actor
from fleet_server.access.scope import Scope
from fleet_server.provisioning import DEFAULT_BOARD_DIR
from fleet_server.provisioning.backend import BrokerAdmin
from fleet_server.provisioning.models import (
    AUTH_METHODS,
    CameraSpec,
    NewBoard,
    Provisioned,
    ProvisioningError,
    Reason,
)
from fleet_server.provisioning.service import ProvisioningService

Conn = psycopg.Connection[Any]

REQUIRED = ("board_id", "site", "name")
OPTIONAL = ("model", "serial", "installed_on", "cameras", "auth", "heartbeat_interval_s")
COLUMNS = REQUIRED + OPTIONAL
MAX_ROWS = 5000


class ImportFileError(ProvisioningError):
    """The file as a whole cannot be read (no header, missing column, too long):
    a plain bad request (400) to the API, with no ``reason`` member."""

    def __init__(self, detail: str) -> None:
        super().__init__("bad_row", detail)
        self.status, self.kind = 400, "bad-request"
        self.extra = {}


@dataclass(frozen=True, slots=True)
class RowResult:
    """One data row: provisioned, or why not."""

    row: int  # line number in the file (the header is line 1)
    board_id: str | None
    reason: Reason | None = None
    detail: str | None = None
    provisioned: Provisioned | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.provisioned is not None


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: tuple[RowResult, ...]

    @property
    def provisioned(self) -> list[RowResult]:
        return [r for r in self.rows if r.ok]

    @property
    def failed(self) -> list[RowResult]:
        return [r for r in self.rows if not r.ok]

    def summary(self) -> str:
        return f"{len(self.provisioned)} provisioned, {len(self.failed)} failed"


def _cameras(cell: str) -> tuple[CameraSpec, ...]:
    cameras = []
    for item in cell.split(";"):
        part = item.strip()
        if not part:
            continue
        camera_id, _, name = part.partition(":")
        camera_id = camera_id.strip()
        cameras.append(CameraSpec(camera_id, name.strip() or f"Camera {camera_id}"))
    return tuple(cameras)


def parse_row(cells: dict[str, str]) -> NewBoard:
    """One CSV record as a checked NewBoard (ProvisioningError otherwise)."""

    def cell(name: str) -> str | None:
        value = (cells.get(name) or "").strip()
        return value or None

    installed: date | None = None
    if raw := cell("installed_on"):
        try:
            installed = date.fromisoformat(raw)
        except ValueError:
            raise ProvisioningError(
                "bad_row", f"installed_on {raw[:40]!r} is not a date (YYYY-MM-DD)"
            ) from None
    heartbeat: int | None = None
    if raw := cell("heartbeat_interval_s"):
        try:
            heartbeat = int(raw)
        except ValueError:
            raise ProvisioningError(
                "bad_row", f"heartbeat_interval_s {raw[:40]!r} is not a number"
            ) from None
    auth = (cell("auth") or "password").lower()
    if auth not in AUTH_METHODS:
        raise ProvisioningError(
            "bad_row", f"auth must be 'password' or 'certificate', not {auth[:40]!r}"
        )
    site = cell("site")
    if site is None:
        raise ProvisioningError("bad_row", "site is required")
    spec = NewBoard(
        board_id=cell("board_id") or "",
        name=cell("name") or "",
        site=site,
        model=cell("model"),
        serial=cell("serial"),
        installed_on=installed,
        heartbeat_interval_s=heartbeat,
        cameras=_cameras(cell("cameras") or ""),
        auth=auth,  # checked above
    )
    spec.check()
    return spec


def read_rows(
    text: str,
    *,
    required: Sequence[str] = REQUIRED,
    columns: Sequence[str] = COLUMNS,
    max_rows: int = MAX_ROWS,
) -> list[tuple[int, dict[str, str]]]:
    """The data records with their line numbers; ImportFileError when the
    file as a whole is unusable. Other imports (the content registry) pass
    their own columns."""
    if text.startswith("\ufeff"):  # a spreadsheet's byte-order mark
        text = text[1:]
    if "\x00" in text:
        raise ImportFileError("the file contains NUL characters; is it really CSV text?")
    reader = csv.DictReader(io.StringIO(text, newline=""), skipinitialspace=True)
    if not reader.fieldnames:
        raise ImportFileError("the file is empty; the first line must name the columns")
    header = [(name or "").strip().lower() for name in reader.fieldnames]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFileError(
            f"missing column(s) {', '.join(missing)}; the columns are {', '.join(columns)}"
        )
    unknown = [c for c in header if c not in columns]
    if unknown:
        raise ImportFileError(
            f"unknown column(s) {', '.join(repr(c[:40]) for c in unknown)};"
            f" the columns are {', '.join(columns)}"
        )
    if len(set(header)) != len(header):
        raise ImportFileError("a column is named twice in the header")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for record in reader:
            if len(rows) >= max_rows:
                raise ImportFileError(f"more than {max_rows} rows; split the file")
            extra = record.pop(None, None)
            cells = {k: v for k, v in record.items() if isinstance(v, str)}
            # The record's first line: its last, less the line breaks in quoted cells.
            line = reader.line_num - sum(v.count("\n") for v in cells.values())
            if extra:
                cells["__extra__"] = "yes"
            if any(v.strip() for v in cells.values() if v):
                rows.append((line, cells))
    except csv.Error as exc:
        raise ImportFileError(f"line {reader.line_num}: not valid CSV ({exc})") from None
    return rows


def import_boards(
    service: ProvisioningService,
    conn: Conn,
    text: str,
    actor: Actor,
    *,
    scope: Scope | None = None,
    source: str = "upload",
    broker: BrokerAdmin | None = None,
    board_dir: PurePosixPath = DEFAULT_BOARD_DIR,
    on_row: Callable[[RowResult], None] | None = None,
) -> ImportReport:
    """Provision every good row at the sites ``scope`` sees (None: every
    site); report every row. ``on_row`` sees each result as soon as it is
    known (the CLI writes the board's files there)."""
    records = read_rows(text)
    results: list[RowResult] = []
    seen: dict[str, int] = {}
    with ExitStack() as stack:
        admin = broker
        for line, cells in records:
            board_id = (cells.get("board_id") or "").strip() or None
            try:
                if cells.get("__extra__"):
                    raise ProvisioningError("bad_row", "more cells than columns in the header")
                spec = parse_row(cells)
                if spec.board_id in seen:
                    raise ProvisioningError(
                        "duplicate",
                        f"board {spec.board_id} is listed twice in the file"
                        f" (line {seen[spec.board_id]})",
                    )
            except ProvisioningError as exc:
                result = RowResult(line, board_id, exc.reason, exc.detail)
            else:
                seen[spec.board_id] = line
                if admin is None:
                    # One broker session for the whole file, opened at the first
                    # good row; if it cannot be opened, nothing is done at all.
                    admin = stack.enter_context(service.backend.broker())
                try:
                    done = service.add_board(
                        conn,
                        spec,
                        actor,
                        scope=scope,
                        broker=admin,
                        board_dir=board_dir,
                        detail=f"import {source[:100]}, line {line}",
                    )
                except ProvisioningError as exc:
                    result = RowResult(line, board_id, exc.reason, exc.detail)
                else:
                    result = RowResult(line, board_id, provisioned=done)
            results.append(result)
            if on_row is not None:
                on_row(result)
    report = ImportReport(tuple(results))
    with conn.transaction():
        audit.record(
            conn,
            actor,
            "board.import",
            target_type="board",
            after={
                "source": source[:200],
                "provisioned": [r.board_id for r in report.provisioned],
                "failed": [
                    {"line": r.row, "board_id": r.board_id, "reason": r.reason}
                    for r in report.failed
                ],
            },
            detail=report.summary(),
        )
    return report
