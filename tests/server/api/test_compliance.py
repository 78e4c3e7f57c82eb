"""/api/v1 compliance days, plays, the annual report and the inspection archive."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from docx import Document

from tests.server.api.conftest import As

DAY = date(2026, 11, 20)
SHA = "c" * 64


@pytest.fixture
def boards(api_db: str) -> dict[str, str]:
    """One board of the Economic Zone Board, one of Phong Thổ district, with a
    compliance day and a play each."""
    with psycopg.connect(api_db, autocommit=True) as conn:
        found: dict[str, str] = dict(
            conn.execute(
                "SELECT DISTINCT ON (o.code) o.code, b.id FROM boards b"
                " JOIN sites s ON s.id = b.site_id JOIN organisations o ON o.id = s.organisation_id"
                " WHERE o.code IN ('bql-kkt', 'ubnd-phong-tho') ORDER BY o.code, b.id"
            ).fetchall()
        )
        for status, board in zip(("compliant", "non_compliant"), found.values(), strict=True):
            conn.execute(
                "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
                " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
                " afternoon_unknown, status, basis) VALUES (%s, %s, 180, 170, 350, 20, 0, 0, 0,"
                " %s, '{}')",
                (board, DAY, status),
            )
            start = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
            conn.execute(
                "INSERT INTO play_log (device_id, content_sha256, started_at, ended_at,"
                " content_kind, source) VALUES (%s, %s, %s, %s, 'advertising', 'display')",
                (board, SHA, start, start + timedelta(minutes=20)),
            )
    return found


def days_of(client: As, **params: Any) -> list[tuple[str, str]]:
    response = client.get(
        "/api/v1/compliance/days", params={"from": "2026-11-01", "to": "2026-11-28", **params}
    )
    assert response.status_code == 200, response.text
    return [(d["board_id"], d["status"]) for d in response.json()["items"]]


def test_each_role_sees_its_own_boards_days(as_: Any, boards: dict[str, str]) -> None:
    mine, theirs = boards["bql-kkt"], boards["ubnd-phong-tho"]
    assert days_of(as_("operator")) == [(mine, "compliant")]
    assert days_of(as_("viewer")) == [(mine, "compliant")]
    assert days_of(as_("district")) == [(theirs, "non_compliant")]
    assert sorted(days_of(as_("admin"))) == sorted([(mine, "compliant"), (theirs, "non_compliant")])
    assert days_of(as_("admin"), status="non_compliant") == [(theirs, "non_compliant")]
    for role in ("technician", "guard"):
        assert as_(role).get("/api/v1/compliance/days").status_code == 403


def test_bad_ranges_are_named(as_: Any, boards: dict[str, str]) -> None:
    admin = as_("admin")
    response = admin.get(
        "/api/v1/compliance/days", params={"from": "2026-11-10", "to": "2026-11-01"}
    )
    assert response.status_code == 400
    assert "`from` is after `to`" in response.json()["detail"]
    response = admin.get(
        "/api/v1/compliance/days", params={"from": "2024-01-01", "to": "2026-11-01"}
    )
    assert response.status_code == 400
    assert "at most 366 days" in response.json()["detail"]
    assert admin.get("/api/v1/compliance/days", params={"from": "yesterday"}).status_code == 422
    early = admin.get("/api/v1/compliance/days", params={"to": "0001-01-05"})
    assert early.status_code == 400
    assert "`to` is too early" in early.json()["detail"]


def test_plays_of_a_board_and_scope(as_: Any, boards: dict[str, str]) -> None:
    mine, theirs = boards["bql-kkt"], boards["ubnd-phong-tho"]
    window = {"since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z"}
    response = as_("operator").get(f"/api/v1/boards/{mine}/plays", params=window)
    assert response.status_code == 200, response.text
    [play] = response.json()["items"]
    assert (play["content_sha256"], play["minutes"], play["approved"]) == (SHA, 20.0, False)
    other = as_("operator").get(f"/api/v1/boards/{theirs}/plays", params=window)
    missing = as_("operator").get("/api/v1/boards/no-such-board/plays", params=window)
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"].replace(theirs, "X") == missing.json()["detail"].replace(
        "no-such-board", "X"
    )


def docx_text(body: bytes) -> str:
    doc = Document(io.BytesIO(body))
    return "\n".join(p.text for p in doc.paragraphs)


def test_annual_report_for_the_callers_organisation(as_: Any, boards: dict[str, str]) -> None:
    response = as_("operator").get("/api/v1/reports/annual", params={"year": 2026})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "bao-cao-nam-2026-bql-kkt.docx" in response.headers["content-disposition"]
    text = docx_text(response.content)
    assert "I. ĐẶC ĐIỂM TÌNH HÌNH" in text
    assert "tổng hợp toàn tỉnh" not in text


def test_only_the_province_gets_the_consolidated_report(
    as_: Any, boards: dict[str, str], api_db: str
) -> None:
    response = as_("admin").get("/api/v1/reports/annual", params={"year": 2026})
    assert response.status_code == 200
    assert "(tổng hợp toàn tỉnh)" in docx_text(response.content)
    with psycopg.connect(api_db) as conn:
        other = conn.execute(
            "SELECT id FROM organisations WHERE code = 'ubnd-phong-tho'"
        ).fetchone()[0]  # type: ignore[index]
    response = as_("operator").get(
        "/api/v1/reports/annual", params={"year": 2026, "organisation_id": other}
    )
    assert response.status_code == 404
    assert as_("technician").get("/api/v1/reports/annual", params={"year": 2026}).status_code == 403


def test_archive_zip_with_a_manifest_that_matches(as_: Any, boards: dict[str, str]) -> None:
    response = as_("operator").get(
        "/api/v1/archive", params={"from": "2026-11-20", "to": "2026-11-20"}
    )
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(zf.read(entry["name"])).hexdigest() == entry["sha256"]
        plays = zf.read("phat-song_plays.csv").decode("utf-8-sig")
    assert manifest["generated_by"] == "van.hanh"
    assert manifest["scope"] == "bql-kkt"
    assert boards["bql-kkt"] in plays
    assert boards["ubnd-phong-tho"] not in plays


def test_archive_rejections(as_: Any, boards: dict[str, str]) -> None:
    admin = as_("admin")
    both = admin.get(
        "/api/v1/archive",
        params={"from": "2026-11-20", "to": "2026-11-20", "board_id": "x", "site_id": 1},
    )
    assert both.status_code == 400
    assert "one of board_id, site_id, organisation_id" in both.json()["detail"]
    old = admin.get("/api/v1/archive", params={"from": "2019-01-01", "to": "2019-01-02"})
    assert old.status_code == 400
    assert "retention" in old.json()["detail"]
    other = as_("operator").get(
        "/api/v1/archive",
        params={"from": "2026-11-20", "to": "2026-11-20", "board_id": boards["ubnd-phong-tho"]},
    )
    assert other.status_code == 404
    assert (
        as_("guard")
        .get("/api/v1/archive", params={"from": "2026-11-20", "to": "2026-11-20"})
        .status_code
        == 403
    )


def download_rows(api_db: str, action: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(api_db) as conn:
        return conn.execute(
            "SELECT actor, target_type, target_id, after, address FROM audit_log"
            " WHERE action = %s ORDER BY id",
            (action,),
        ).fetchall()


def test_every_report_and_archive_download_is_audited(
    as_: Any, boards: dict[str, str], api_db: str
) -> None:
    """Who took which file, of what and which period, with the file's SHA-256."""
    report = as_("operator").get("/api/v1/reports/annual", params={"year": 2026})
    assert report.status_code == 200
    province = as_("admin").get("/api/v1/reports/annual", params={"year": 2026})
    assert province.status_code == 200
    rows = download_rows(api_db, "report.annual.download")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("van.hanh", "organisation", "bql-kkt"),
        ("quan.tri", "province", "toan-tinh"),
    ]
    after = rows[0][3]
    assert (after["year"], after["from"], after["to"]) == (2026, "2025-12-15", "2026-12-14")
    assert after["file"] == "bao-cao-nam-2026-bql-kkt.docx"
    assert after["sha256"] == hashlib.sha256(report.content).hexdigest()
    assert after["bytes"] == len(report.content)
    assert rows[1][3]["sha256"] == hashlib.sha256(province.content).hexdigest()

    period = {"from": "2026-11-20", "to": "2026-11-20"}
    whole = as_("operator").get("/api/v1/archive", params=period)
    one = as_("admin").get("/api/v1/archive", params={**period, "board_id": boards["bql-kkt"]})
    assert (whole.status_code, one.status_code) == (200, 200)
    refused = as_("district").get(
        "/api/v1/archive", params={**period, "board_id": boards["bql-kkt"]}
    )
    assert refused.status_code == 404
    rows = download_rows(api_db, "archive.download")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("van.hanh", "organisation", "bql-kkt"),
        ("quan.tri", "board", boards["bql-kkt"]),
    ]
    for row, answer in zip(rows, (whole, one), strict=True):
        assert (row[3]["from"], row[3]["to"]) == ("2026-11-20", "2026-11-20")
        assert row[3]["sha256"] == hashlib.sha256(answer.content).hexdigest()
        assert row[3]["file"] in answer.headers["content-disposition"]
