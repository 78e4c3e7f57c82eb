"""CSV, XLSX and manifest writing shared by the reports and the archive."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from fleet_server.reports import export

HOSTILE = ['=HYPERLINK("http://evil")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_is_utf8_with_bom_and_formula_safe(tmp_path: Path) -> None:
    path = export.write_csv(
        tmp_path / "a.csv",
        ["Bảng / Board", "Giá trị / Value"],
        [[name, -1.5] for name in HOSTILE] + [["Mường Tè", None], [{"k": "v"}, [1]]],
    )
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Bảng / Board", "Giá trị / Value"]
    assert [r[0] for r in rows[1:7]] == ["'" + v for v in HOSTILE]
    assert rows[1][1] == "-1.5"  # a number is not text
    assert rows[7] == ["Mường Tè", ""]
    assert rows[8] == ['{"k": "v"}', "[1]"]


def test_xlsx_cells_starting_like_formulas_stay_text(tmp_path: Path) -> None:
    path = export.write_xlsx(
        tmp_path / "a.xlsx",
        [
            export.Sheet(
                "Bảng - Boards",
                ["Bảng / Board", "Tỷ lệ / Ratio"],
                [[v, 0.5] for v in HOSTILE] + [["bell\x07", None]],
                {1: "0.00%"},
            ),
            export.Sheet("Trống - Empty", ["A"], []),
        ],
    )
    book = load_workbook(path)
    assert book.sheetnames == ["Bảng - Boards", "Trống - Empty"]
    ws = book["Bảng - Boards"]
    assert [c.value for c in ws[1]] == ["Bảng / Board", "Tỷ lệ / Ratio"]
    assert ws[1][0].font.b
    assert ws.freeze_panes == "A2"
    for row, value in zip(ws.iter_rows(min_row=2, max_row=7), HOSTILE, strict=True):
        assert row[0].data_type == "s"
        assert row[0].value == value
        assert row[1].value == 0.5
        assert row[1].number_format == "0.00%"
    assert ws["A8"].value == "bell"  # control characters XLSX cannot hold are dropped


def test_manifest_lists_each_file_with_its_sha256(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    files = [tmp_path / "a.csv", tmp_path / "sub" / "b.xlsx"]
    files[0].write_bytes(b"abc")
    files[1].write_bytes(b"")
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    path = export.write_manifest(
        tmp_path,
        files,
        (start, end),
        "system:cli:test",
        generated_at=end,
        extra={"report": "test"},
    )
    assert path == tmp_path / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    assert manifest["period"] == {"from": start.isoformat(), "to": end.isoformat()}
    assert manifest["generated_by"] == "system:cli:test"
    assert manifest["generated_at"] == end.isoformat()
    assert manifest["report"] == "test"
    assert manifest["files"] == [
        {
            "name": "a.csv",
            "bytes": 3,
            "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        },
        {
            "name": "sub/b.xlsx",
            "bytes": 0,
            "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        },
    ]
    assert not list(tmp_path.glob("*.partial"))
