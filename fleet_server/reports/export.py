"""Files handed to people outside the system: CSV and XLSX that a spreadsheet
opens safely, and a manifest with the SHA-256 of each file so an inspector
can tell a file was not changed after it was made.

Used by the monthly availability report and the inspection archive. Cells
that start like a formula are never formulas: in CSV they get a leading
apostrophe (an attacker can choose a username or a board name), in XLSX
they are stored as text."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleet_server.private_files import open_private

#: What a spreadsheet reads as the start of a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MANIFEST = "manifest.json"


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: None is empty, dicts and
    lists are JSON, and a string starting like a formula gets a leading
    apostrophe. Numbers stay numbers (a negative number is not text)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """UTF-8 with a byte-order mark (Excel then reads Vietnamese correctly),
    a header row, every cell through :func:`csv_cell`."""
    with open_private(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
    return path


@dataclass(frozen=True, slots=True)
class Sheet:
    """One worksheet: a bold, frozen header row, then the rows."""

    #: At most 31 characters, none of ``[]:*?/\\`` (Excel's rules).
    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    #: Column index (0-based) -> Excel number format, e.g. ``"0.00%"``.
    number_formats: Mapping[int, str] = field(default_factory=dict)


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> Path:
    """An XLSX workbook with one worksheet per :class:`Sheet`."""
    from openpyxl import Workbook  # noqa: PLC0415 - only reports need it
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title)
        ws.append([_xlsx_text(h, ILLEGAL_CHARACTERS_RE) for h in sheet.header])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for values in sheet.rows:
            ws.append([_xlsx_text(v, ILLEGAL_CHARACTERS_RE) for v in values])
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, even when it starts with '='
                elif (fmt := sheet.number_formats.get(cell.column - 1)) is not None:
                    cell.number_format = fmt
        for index, title in enumerate(sheet.header, start=1):
            longest = max([len(str(title))] + [len(str(r[index - 1] or "")) for r in sheet.rows])
            ws.column_dimensions[get_column_letter(index)].width = min(60, max(10, longest + 2))
    with open_private(path, "wb") as out:
        book.save(out)
    return path


def _xlsx_text(value: Any, illegal: Any) -> Any:
    """Strings without the control characters XLSX cannot hold."""
    if isinstance(value, str):
        return illegal.sub("", value)
    return value


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(
    directory: Path,
    files: Sequence[Path],
    period: tuple[datetime, datetime],
    generated_by: str,
    *,
    generated_at: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """``manifest.json`` in ``directory``: each file's name (relative to the
    directory), size and SHA-256, the period [from, to), who made it and
    when, and ``extra`` fields (what the report is, its parameters)."""
    when = generated_at or datetime.now(UTC)
    manifest: dict[str, Any] = {
        "period": {"from": period[0].isoformat(), "to": period[1].isoformat()},
        "generated_by": generated_by,
        "generated_at": when.isoformat(),
        **(extra or {}),
        "files": [
            {
                "name": path.relative_to(directory).as_posix(),
                "bytes": path.stat().st_size,
                "sha256": sha256_of(path),
            }
            for path in files
        ],
    }
    target = directory / MANIFEST
    partial = target.with_suffix(".json.partial")
    with open_private(partial, "w", encoding="utf-8") as out:
        out.write(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    os.replace(partial, target)
    return target
