"""``fleet-server content add|list|retire|import`` with the settings in the
environment, as an administrator runs them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fleet_server.cli import main

Conn = psycopg.Connection[Any]
SHA = "c3" * 32


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, seeded: str) -> None:
    monkeypatch.setenv("FLEET_DATABASE_URL", seeded)


@pytest.fixture
def conn(seeded: str) -> Any:
    with psycopg.connect(seeded, autocommit=True) as c:
        yield c


def add(title: str, kind: str, language: str, *extra: str) -> list[str]:
    """``content add`` arguments."""
    return ["content", "add", "--title", title, "--kind", kind, "--language", language, *extra]


def registry(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT title, kind, language, sha256, from_department, approved_by,"
        " to_char(valid_from AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI'),"
        " to_char(valid_to AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI')"
        " FROM content_items WHERE approved_by <> 'so-tttt' ORDER BY id"
    ).fetchall()


def actions(conn: Conn) -> list[tuple[str, str | None]]:
    return [
        (str(r[0]), r[1])
        for r in conn.execute(
            "SELECT action, target_id FROM audit_log WHERE action LIKE 'content.%'"
            " AND action NOT LIKE 'content.submission.%' ORDER BY id"
        )
    ]


@pytest.mark.usefixtures("env")
def test_add_with_a_hash_list_and_retire(conn: Conn, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "content",
            "add",
            "--title",
            "Tuyên truyền bầu cử",
            "--kind",
            "propaganda",
            "--language",
            "tai",
            "--sha256",
            SHA.upper(),
            "--valid-from",
            "2026-12-01",
            "--valid-to",
            "2027-01-01T18:00",
            "--from-department",
        ]
    )
    printed = capsys.readouterr().out
    assert status == 0, printed
    [row] = registry(conn)
    assert row[:5] == ("Tuyên truyền bầu cử", "propaganda", "tai", SHA, True)
    assert row[5].startswith("system:cli:")
    assert row[6:] == ("2026-12-01 00:00", "2027-01-01 18:00")  # local time
    assert f"approved content 2: 'Tuyên truyền bầu cử' (propaganda, tai) {SHA}" in printed
    assert main(["content", "list", "--language", "tai"]) == 0
    listed = capsys.readouterr().out
    assert SHA in listed
    assert "Tuyên truyền bầu cử" in listed
    assert "1 item(s)" in listed
    assert main(["content", "list", "--valid-at", "2026-11-30"]) == 0
    assert SHA not in capsys.readouterr().out
    assert main(["content", "retire", SHA, "--at", "2026-12-15T12:00+07:00"]) == 0
    assert "retired content" in capsys.readouterr().out
    assert registry(conn)[0][7] == "2026-12-15 12:00"
    assert main(["content", "retire", SHA, "--at", "2026-12-20"]) == 1  # ends before that
    assert "retired: content" in capsys.readouterr().err
    # the item only starts on 1 December: retiring it before that is refused
    [(content_id,)] = conn.execute("SELECT id FROM content_items WHERE sha256 = %s", (SHA,))
    assert main(["content", "retire", str(content_id), "--at", "2026-11-01"]) == 1
    assert "invalid: at: content" in capsys.readouterr().err
    assert [a for a, _ in actions(conn)] == ["content.approve", "content.retire"]
    # the workflow mirrors the registry: an approved submission, then retired
    assert [
        r[0]
        for r in conn.execute(
            "SELECT action FROM audit_log WHERE action LIKE 'content.submission.%' ORDER BY id"
        )
    ] == ["content.submission.approve", "content.submission.retire"]


@pytest.mark.usefixtures("env")
def test_add_from_a_file_computes_the_hash(
    tmp_path: Path, conn: Conn, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x01video" * 100_000)
    expected = hashlib.sha256(clip.read_bytes()).hexdigest()
    status = main(add("Clip", "advertising", "vi-zh", "--file", str(clip)))
    assert status == 0, capsys.readouterr()
    assert registry(conn)[0][3] == expected
    again = main(add("Clip", "advertising", "vi-zh", "--sha256", expected))
    assert again == 1
    assert "duplicate: sha256: this file is already approved" in capsys.readouterr().err
    missing = main(add("x", "emergency", "vi", "--file", str(tmp_path / "nowhere.mp4")))
    assert missing == 2


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sha256", "abc"], "sha256: must be 64 hexadecimal digits"),
        (["--sha256", SHA, "--valid-from", "2027-01-01", "--valid-to", "2026-01-01"], "valid_to:"),
        (["--sha256", SHA, "--valid-from", "soon"], "valid_from:"),
    ],
)
def test_add_refuses_bad_values(
    conn: Conn, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    status = main(
        ["content", "add", "--title", "x", "--kind", "propaganda", "--language", "hmn", *extra]
    )
    assert status == 1
    assert message in capsys.readouterr().err
    assert registry(conn) == []
    assert actions(conn) == []


def test_unknown_language_is_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["content", "add", "--title", "x", "--kind", "propaganda", "--language", "fr"])
    assert "invalid choice: 'fr'" in capsys.readouterr().err


GOOD = """title,kind,language,sha256,valid_from,valid_to,from_department
Phòng chống cháy rừng,propaganda,hmn,{a},2026-12-01,2027-03-01,yes
"Bảo vệ biên giới, cột mốc",propaganda,vi,{b},2026-12-01T07:00+07:00,,no
Quảng cáo du lịch,advertising,vi-zh,{c},2026-12-01,,
"""


@pytest.mark.usefixtures("env")
def test_import_good_file(tmp_path: Path, conn: Conn, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "content.csv"
    sheet.write_text(GOOD.format(a="a" * 64, b="B" * 64, c="c" * 64), encoding="utf-8")
    status = main(["content", "import", str(sheet)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "line 2: " + "a" * 64 + ": approved as content" in printed
    assert f"{sheet}: 3 approved" in printed
    rows = registry(conn)
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
        ("Phòng chống cháy rừng", "hmn", "a" * 64, True),
        ("Bảo vệ biên giới, cột mốc", "vi", "b" * 64, False),
        ("Quảng cáo du lịch", "vi-zh", "c" * 64, False),
    ]
    assert rows[1][6] == "2026-12-01 07:00"
    assert [a for a, _ in actions(conn)] == ["content.approve"] * 3 + ["content.import"]
    detail = conn.execute(
        "SELECT after, detail FROM audit_log WHERE action = 'content.import'"
    ).fetchone()
    assert detail is not None
    assert detail[1] == "3 approved"
    assert len(detail[0]["approved"]) == 3


@pytest.mark.usefixtures("env")
def test_import_with_bad_rows_approves_nothing(
    tmp_path: Path, conn: Conn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(add("Đã duyệt", "propaganda", "vi", "--sha256", "d" * 64)) == 0
    capsys.readouterr()
    sheet = tmp_path / "content.csv"
    sheet.write_text(
        "title,kind,language,sha256,valid_from,valid_to\n"
        f"Tốt,propaganda,vi,{'1' * 64},2026-12-01,\n"
        f"Sai ngôn ngữ,propaganda,fr,{'2' * 64},2026-12-01,\n"
        f"Trùng trong tệp,propaganda,vi,{'1' * 64},2026-12-01,\n"
        f"Đã có,propaganda,vi,{'d' * 64},2026-12-01,\n"
        f"Ngược thời gian,emergency,ium,{'3' * 64},2026-12-01,2026-11-01\n"
        f",propaganda,vi,{'4' * 64},2026-12-01,\n"
        f"Thừa ô,propaganda,vi,{'5' * 64},2026-12-01,,x\n",
        encoding="utf-8",
    )
    status = main(["content", "import", str(sheet)])
    printed = capsys.readouterr().out
    assert status == 1
    assert f"line 2: {'1' * 64}: ok, not approved (other rows failed)" in printed
    assert f"line 3: {'2' * 64}: FAILED invalid: language: 'fr' is not one of" in printed
    assert (
        "line 4: " + "1" * 64 + ": FAILED duplicate: sha256: listed twice in the file (line 2)"
        in printed
    )
    assert "line 5: " + "d" * 64 + ": FAILED duplicate: sha256: already approved" in printed
    assert "line 6: " + "3" * 64 + ": FAILED invalid: valid_to: must be after valid_from" in printed
    assert "line 7: " + "4" * 64 + ": FAILED invalid: title: is required" in printed
    assert "line 8: " + "5" * 64 + ": FAILED invalid: more cells than columns" in printed
    assert "6 of 7 rows failed; nothing approved" in printed
    assert [r[3] for r in registry(conn)] == ["d" * 64]
    assert [a for a, _ in actions(conn)] == ["content.approve", "content.import"]


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("title,kind,language,sha256\n", "missing column(s) valid_from"),
        ("title,kind,language,sha256,valid_from,colour\n", "unknown column(s) 'colour'"),
    ],
)
def test_import_unusable_file(
    tmp_path: Path, conn: Conn, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    sheet = tmp_path / "content.csv"
    sheet.write_text(text, encoding="utf-8")
    assert main(["content", "import", str(sheet)]) == 2
    assert message in capsys.readouterr().err
    assert actions(conn) == []


@pytest.mark.usefixtures("env")
def test_overdue_lists_the_units_short_of_their_duty(
    conn: Conn, capsys: pytest.CaptureFixture[str]
) -> None:
    """Điều 10.1.c: "Định kỳ vào ngày 20 hàng tháng chủ động cung cấp tối
    thiểu 01 nội dung …" — a monthly unit bound since January owes an item
    for the last month whose 20th is over."""
    assert main(["content", "overdue", "--check"]) == 0
    assert "0 unit(s) overdue" in capsys.readouterr().out
    conn.execute(
        "INSERT INTO content_suppliers (name, obligation, obligation_from)"
        " VALUES ('Báo Lai Châu', 'monthly', '2020-01-01')"
    )
    assert main(["content", "overdue", "--check"]) == 1
    printed = capsys.readouterr().out
    assert "Báo Lai Châu: " in printed
    assert "(Điều 10.1.c)" in printed
    assert "0 of 1 received" in printed
    assert main(["content", "overdue"]) == 0
