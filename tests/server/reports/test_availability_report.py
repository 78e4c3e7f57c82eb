"""fleet-server report availability: CSV and XLSX per board, site and
organisation that open, with Vietnamese-first headers, the figures of the SQL
functions, and a manifest whose hashes match the files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from fleet_server.availability.period import month
from fleet_server.cli import main
from fleet_server.reports import availability
from tests.server.availability.conftest import Conn, Fleet

OCTOBER = month("2026-10")  # wholly in the past


def at(day: int, hour: int = 0) -> datetime:
    return OCTOBER.start + timedelta(days=day - 1, hours=hour)


@pytest.fixture
def fleet(db: Conn) -> Fleet:
    return Fleet(db)


@pytest.fixture
def october(fleet: Fleet, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """A month: one board up all month, one down its last day, one installed
    on 16 October and never heard from; a district board elsewhere."""
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    fleet.board("lc-ma-lu-thang-01", "ma-lu-thang", org="bql-kkt")
    fleet.board("lc-ma-lu-thang-02", "ma-lu-thang", org="bql-kkt")
    fleet.board("lc-mu-ca-01", "mu-ca", org="bql-kkt", installed_on=date(2026, 10, 16))
    fleet.board("lc-phong-tho-01", "phong-tho", org="ubnd-phong-tho")
    fleet.conn.execute("UPDATE boards SET name = '=cmd|calc' WHERE id = 'lc-phong-tho-01'")
    fleet.history("lc-ma-lu-thang-01", (at(1) - timedelta(days=3), "online"))
    fleet.history("lc-ma-lu-thang-02", (at(1), "online"), (at(31), "offline"))
    fleet.history("lc-phong-tho-01", (at(1), "online"))
    return fleet


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_the_command_writes_csv_xlsx_and_a_matching_manifest(
    october: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bao-cao"
    assert main(["report", "availability", "--month", "2026-10", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "availability-2026-10-boards.csv",
        "availability-2026-10-organisations.csv",
        "availability-2026-10-sites.csv",
        "availability-2026-10.xlsx",
        "manifest.json",
    ]
    printed = capsys.readouterr().out.split()
    assert sorted(printed) == sorted(str(out / n) for n in names)
    assert printed[-1] == str(out / "manifest.json")

    boards = read_csv(out / "availability-2026-10-boards.csv")
    assert boards[0][:2] == ["Mã bảng / Board ID", "Bảng / Board"]
    assert boards[0][-1] == "Tỷ lệ sẵn sàng (%) / Availability (%)"
    by_id = {row[0]: row for row in boards[1:]}
    assert set(by_id) == {
        "lc-ma-lu-thang-01",
        "lc-ma-lu-thang-02",
        "lc-mu-ca-01",
        "lc-phong-tho-01",
    }
    hours = 31 * 24
    assert by_id["lc-ma-lu-thang-01"][6:] == [
        str(float(hours)),
        str(float(hours)),
        "0.0",
        "0.0",
        "0.0",
        "100.0",
    ]
    assert by_id["lc-ma-lu-thang-02"][-1] == str(round(30 / 31 * 100, 2))
    assert by_id["lc-mu-ca-01"][6] == str(16 * 24.0)  # from its installation
    assert by_id["lc-mu-ca-01"][-1] == ""  # nothing known
    assert by_id["lc-phong-tho-01"][1] == "'=cmd|calc"  # never a formula

    sites = {row[0]: row for row in read_csv(out / "availability-2026-10-sites.csv")[1:]}
    # seconds summed over the site's boards: (31 + 30) days up of 62
    assert sites["ma-lu-thang"][4] == "2"
    assert sites["ma-lu-thang"][-1] == str(round(61 / 62 * 100, 2))
    orgs = {row[0]: row for row in read_csv(out / "availability-2026-10-organisations.csv")[1:]}
    assert orgs["bql-kkt"][2:4] == ["2", "3"]

    book = load_workbook(out / "availability-2026-10.xlsx")
    assert book.sheetnames == [
        "Bảng - Boards",
        "Điểm đặt - Sites",
        "Đơn vị - Organisations",
        "Thông tin - About",
    ]
    ws = book["Bảng - Boards"]
    assert [c.value for c in ws[1]][:2] == ["Mã bảng / Board ID", "Bảng / Board"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    assert rows["lc-ma-lu-thang-02"][-1].value == pytest.approx(30 / 31)
    assert rows["lc-ma-lu-thang-02"][-1].number_format == "0.00%"
    assert rows["lc-phong-tho-01"][1].value == "=cmd|calc"
    assert rows["lc-phong-tho-01"][1].data_type == "s"

    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["period"] == {
        "from": OCTOBER.start.isoformat(),
        "to": OCTOBER.end.isoformat(),
    }
    assert manifest["report"] == "availability"
    assert manifest["complete"] is True
    assert manifest["generated_by"].startswith("system:cli:")
    assert datetime.fromisoformat(manifest["generated_at"]) <= datetime.now(UTC)
    assert sorted(f["name"] for f in manifest["files"]) == sorted(names[:4])
    for entry in manifest["files"]:
        data = (out / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)


def test_one_organisation_and_maintenance_counted(october: Fleet, tmp_path: Path) -> None:
    october.window(at(31), at(32), board_id="lc-ma-lu-thang-02")
    out = tmp_path / "bql"
    args = ["report", "availability", "--month", "2026-10", "--org", "bql-kkt", "--out", str(out)]
    assert main(args) == 0
    boards = read_csv(out / "availability-2026-10-bql-kkt-boards.csv")
    assert "lc-phong-tho-01" not in {row[0] for row in boards}
    excluded = {row[0]: row for row in boards[1:]}["lc-ma-lu-thang-02"]
    assert excluded[-2:] == ["24.0", "100.0"]  # the down day was maintenance
    assert main([*args, "--include-maintenance"]) == 0
    counted = {row[0]: row for row in read_csv(out / "availability-2026-10-bql-kkt-boards.csv")}
    assert counted["lc-ma-lu-thang-02"][-1] == str(round(30 / 31 * 100, 2))
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert (manifest["organisation"], manifest["exclude_maintenance"]) == ("bql-kkt", False)


def test_a_running_month_is_measured_up_to_now(fleet: Fleet, tmp_path: Path) -> None:
    now = datetime(2026, 10, 11, 0, 0, tzinfo=OCTOBER.start.tzinfo)
    fleet.board("b1")
    fleet.history("b1", (at(1), "online"))
    files = availability.write_report(
        fleet.conn,
        "2026-10",
        OCTOBER,
        tmp_path,
        organisation=None,
        exclude_maintenance=True,
        generated_by="test",
        now=now,
    )
    manifest = json.loads(files[-1].read_text("utf-8"))
    assert manifest["complete"] is False
    assert datetime.fromisoformat(manifest["measured_until"]) == now
    rows = read_csv(tmp_path / "availability-2026-10-boards.csv")
    assert rows[1][6] == str(10 * 24.0)


def test_clear_errors(october: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["report", "availability", "--month", "2026-10", "--out", str(tmp_path)]
    assert main([*args, "--org", "khong-co"]) == 1
    assert "no organisation with code 'khong-co'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["report", "availability", "--month", "10-2026"])
    assert exit_.value.code == 2
    assert "YYYY-MM" in capsys.readouterr().err
    blocked = tmp_path / "file"
    blocked.write_text("")
    args = ["report", "availability", "--month", "2026-10", "--out", str(blocked)]
    assert main(args) == 1
    assert f"cannot write {blocked}" in capsys.readouterr().err
