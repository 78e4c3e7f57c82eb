"""Approving many files from a CSV sheet, with a report per row.

Columns (a header line names them, in any order; the first five are
required)::

    title,kind,language,sha256,valid_from,valid_to,from_department
    Phòng chống cháy rừng,propaganda,hmn,9f86d0…,2026-12-01,2027-03-01,yes

* ``kind``: propaganda, advertising or emergency;
* ``language``: a code of ``models.LANGUAGES`` (vi, hmn, tai, …, vi-en, vi-zh);
* ``valid_from``/``valid_to``: a date (local midnight), a local date and
  time, or an ISO 8601 time with offset; ``valid_to`` empty: no end;
* ``from_department``: yes/no (supplied by the provincial Department).

The file is the unit, not the row: every row is checked first (values, the
same hash twice in the file, a hash already approved); with any bad row,
nothing is approved and the report says which rows to fix, so the same file
can simply be imported again. Otherwise every row is approved in one
transaction, each with its own ``content.approve`` audit row, and one
``content.import`` row sums the import up. The reader is provisioning's
(``provisioning.csvimport.read_rows``) with this file's columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fleet_server.access.principal import Actor
from fleet_server.content import service, storage
from fleet_server.content.models import (
    ContentError,
    ContentItem,
    NewContent,
    parse_flag,
    parse_when,
)
from fleet_server.content.storage import Conn

REQUIRED = ("title", "kind", "language", "sha256", "valid_from")
OPTIONAL = ("valid_to", "from_department")
COLUMNS = REQUIRED + OPTIONAL
MAX_ROWS = 5000


@dataclass(frozen=True, slots=True)
class RowResult:
    """One data row: good (and approved, when the file was), or why not."""

    row: int  # line number in the file (the header is line 1)
    sha256: str | None
    reason: str | None = None
    detail: str | None = None
    field: str | None = None
    approved: ContentItem | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: tuple[RowResult, ...]

    @property
    def approved(self) -> list[RowResult]:
        return [r for r in self.rows if r.approved is not None]

    @property
    def failed(self) -> list[RowResult]:
        return [r for r in self.rows if not r.ok]

    def summary(self) -> str:
        if self.failed:
            return (
                f"{len(self.failed)} of {len(self.rows)} rows failed; nothing approved"
                " (fix them and import the file again)"
            )
        return f"{len(self.approved)} approved"


def parse_row(cells: dict[str, str]) -> NewContent:
    """One CSV record as a checked NewContent (ContentError otherwise)."""

    def cell(name: str) -> str:
        return (cells.get(name) or "").strip()

    for name in REQUIRED:
        if not cell(name):
            raise ContentError("invalid", f"{name}: is required", field=name)
    valid_to = cell("valid_to")
    return NewContent(
        title=cell("title"),
        kind=cell("kind"),
        language=cell("language"),
        sha256=cell("sha256"),
        valid_from=parse_when("valid_from", cell("valid_from")),
        valid_to=parse_when("valid_to", valid_to) if valid_to else None,
        from_department=parse_flag("from_department", cell("from_department")),
    ).checked()


def _check_rows(
    conn: Conn, records: list[tuple[int, dict[str, str]]]
) -> list[tuple[RowResult, NewContent | None]]:
    checked: list[tuple[RowResult, NewContent | None]] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        sha = (cells.get("sha256") or "").strip().lower() or None
        try:
            if cells.get("__extra__"):
                raise ContentError("invalid", "more cells than columns in the header")
            item = parse_row(cells)
            if item.sha256 in seen:
                raise ContentError(
                    "duplicate",
                    f"sha256: listed twice in the file (line {seen[item.sha256]})",
                    field="sha256",
                )
            existing = storage.by_sha256(conn, item.sha256)
            if existing is not None:
                raise ContentError(
                    "duplicate",
                    f"sha256: already approved (content {existing.id}, {existing.title!r})",
                    field="sha256",
                )
        except ContentError as exc:
            checked.append((RowResult(line, sha, exc.reason, exc.detail, exc.field), None))
        else:
            seen[item.sha256] = line
            checked.append((RowResult(line, item.sha256), item))
    return checked


class _Refused(Exception):
    """A row failed while approving: the whole file is rolled back."""


def import_content(
    conn: Conn,
    text: str,
    actor: Actor,
    now: datetime,
    *,
    source: str = "upload",
    on_row: Callable[[RowResult], None] | None = None,
) -> ImportReport:
    """Approve every row of ``text``, or none (see the module). ``on_row``
    sees each row's final result. ContentError("bad_file") when the file as a
    whole is unusable."""
    from fleet_server.provisioning.csvimport import (  # noqa: PLC0415 - heavy, used here only
        ImportFileError,
        read_rows,
    )

    try:
        records = read_rows(text, required=REQUIRED, columns=COLUMNS, max_rows=MAX_ROWS)
    except ImportFileError as exc:
        raise ContentError("bad_file", exc.detail) from None
    checked = _check_rows(conn, records)
    results = [result for result, _ in checked]
    if all(result.ok for result in results):
        try:
            with conn.transaction():
                for i, (result, item) in enumerate(checked):
                    assert item is not None
                    try:
                        stored = service.approve(
                            conn,
                            item,
                            actor,
                            now,
                            detail=f"import {source[:100]}, line {result.row}",
                        )
                    except ContentError as exc:  # approved by someone else meanwhile
                        results[i] = RowResult(
                            result.row, result.sha256, exc.reason, exc.detail, exc.field
                        )
                        raise _Refused from exc
                    results[i] = RowResult(result.row, result.sha256, approved=stored)
        except _Refused:
            results = [r if not r.ok else RowResult(r.row, r.sha256) for r in results]
    report = ImportReport(tuple(results))
    for result in report.rows:
        if on_row is not None:
            on_row(result)
    with conn.transaction():
        storage.audit_change(
            conn,
            actor,
            "content.import",
            None,
            after={
                "source": source[:200],
                "approved": [r.approved.id for r in report.approved if r.approved],
                "failed": [
                    {"line": r.row, "sha256": r.sha256, "reason": r.reason} for r in report.failed
                ],
            },
            detail=report.summary(),
        )
    return report
