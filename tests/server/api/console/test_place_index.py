"""The place picker's stored search (migration 0056): the database folds
names as the picker folds what is typed (``place_fold`` = ``fold``), a
rename is searched by its new name at once, and the search answers the
same as a plain reading of the names (accents and case ignored, the
caller's scope only) with the trigram index and without it (a database
without pg_trgm)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from fleet_server.access.scope import Scope
from fleet_server.api.console.place_search import LIMIT, fold
from fleet_server.organisations import storage_places
from tests.support import seed

NewBrowser = Callable[..., TestClient]
#: Names with accents, capitals, wildcards and a decomposed (NFD) spelling.
NAMES = [
    "Phong Thổ",
    "PHONG THỔ 2",
    "Trạm Phòng Thố",
    unicodedata.normalize("NFD", "Phong Thổ phân tách"),
    "Đồn Ma Lù Thàng",
    "Dồn ma lu thang",
    "Mường Tè 50%",
    "Sìn Hồ_a",
    "Tam Đường \\ cổng",
    "Ngã Ba Lai Châu",
    "Ψ Ελληνικά",
]
#: What readers type.
TYPED = [
    "phong tho",
    "PHÒNG",
    "tho",
    "ma lu",
    "đồn",
    "50%",
    "%",
    "_",
    "o_a",
    "\\ c",
    "lai chau",
    "ψ",
    "ελλ",
    "site-",
    "ng",
    "ho",
]


def test_the_database_folds_names_as_the_picker_folds_text(db: psycopg.Connection[Any]) -> None:
    chars = "".join(
        chr(c)
        for c in range(0x20, 0x3000)
        if unicodedata.category(chr(c))[0] not in "CZ" or c == 0x20
    )
    samples = [chars, *NAMES, *(unicodedata.normalize("NFD", n) for n in NAMES)]
    for text in samples:
        row = db.execute("SELECT place_fold(%s)", (text,)).fetchone()
        assert row is not None
        assert row[0] == fold(text), text[:40]
    assert fold("Phong Thổ ĐƯỜNG") == "phong tho duong"


@pytest.fixture
def named(api_db: str) -> dict[str, list[tuple[int, str]]]:
    """Each name as a site of the operator's organisation and of another,
    with a board each; -> the sites per organisation (id, name)."""
    made: dict[str, list[tuple[int, str]]] = {"bql-kkt": [], "ubnd-phong-tho": []}
    with psycopg.connect(api_db) as conn:
        for org, sites in made.items():
            for n, name in enumerate(NAMES):
                code = f"{org[:4]}-n{n}"
                site = seed.site(conn, code, org, name=name, name_en=f"Site {n} {org}")
                sites.append((site, name))
                seed.board(conn, f"{code}-b", site, name=f"Bảng {name}")
        conn.commit()
    return made


def _reference(
    conn: psycopg.Connection[Any], organisation: str | None, typed: str, kind: str
) -> list[str]:
    """The values the search should give: every place in scope whose names,
    code or id contain ``typed``, accents and case ignored, by name."""
    want = fold(typed.strip())
    scope = "TRUE" if organisation is None else "o.code = %(org)s"
    if kind == "site":
        rows = conn.execute(
            "SELECT s.id::text, s.name, s.name_en, s.code FROM sites s"
            f" JOIN organisations o ON o.id = s.organisation_id WHERE {scope}",
            {"org": organisation},
        ).fetchall()
        hits = [
            (name, int(id_), f"site:{id_}")
            for id_, name, name_en, code in rows
            if any(want in fold(x or "") for x in (name, name_en, code)) or id_ == typed
        ]
    else:
        rows = conn.execute(
            "SELECT b.id, b.name FROM boards b JOIN sites s ON s.id = b.site_id"
            f" JOIN organisations o ON o.id = s.organisation_id WHERE {scope}",
            {"org": organisation},
        ).fetchall()
        hits = [(name, id_, f"board:{id_}") for id_, name in rows if want in fold(f"{name}\n{id_}")]
    return [value for *_key, value in sorted(hits)[:LIMIT]]


def _found(browser: TestClient, typed: str, kind: str) -> list[str]:
    answer = browser.get("/search/places", params={"q": typed, "kind": kind})
    assert answer.status_code == 200, answer.text
    return [item["value"] for item in answer.json()["items"]]


def _compare(browsers: dict[str | None, TestClient], api_db: str) -> int:
    compared = 0
    with psycopg.connect(api_db) as conn:
        for organisation, browser in browsers.items():
            for typed in TYPED:
                for kind in ("site", "board"):
                    want = _reference(conn, organisation, typed, kind)
                    assert _found(browser, typed, kind) == want, (organisation, typed, kind)
                    compared += len(want)
    return compared


def test_search_answers_as_a_plain_reading_with_and_without_the_trigram_index(
    new_browser: NewBrowser,
    named: dict[str, list[tuple[int, str]]],
    api_db: str,
    db_owner_url: str,
) -> None:
    browsers = {None: new_browser("admin"), "bql-kkt": new_browser("operator")}
    with psycopg.connect(db_owner_url) as owner:
        indexes = owner.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%search_trgm_idx'"
        ).fetchone()
    assert indexes == (2,)  # the test server ships pg_trgm
    assert _compare(browsers, api_db) > 50
    operator_sees = _found(browsers["bql-kkt"], "phong tho", "site")
    assert operator_sees
    assert all(value in {f"site:{s}" for s, _ in named["bql-kkt"]} for value in operator_sees)
    with psycopg.connect(db_owner_url) as owner:
        owner.execute("DROP EXTENSION pg_trgm CASCADE")  # the indexes go with it
        owner.commit()
    assert _compare(browsers, api_db) > 50


def test_a_renamed_place_is_found_by_its_new_name(
    new_browser: NewBrowser, named: dict[str, list[tuple[int, str]]], api_db: str
) -> None:
    admin = new_browser("admin")
    site, _name = named["bql-kkt"][0]
    with psycopg.connect(api_db) as conn:
        conn.execute("UPDATE sites SET name = 'Điểm Đổi Tên' WHERE id = %s", (site,))
        conn.execute("UPDATE boards SET name = 'Bảng Mới Tinh' WHERE site_id = %s", (site,))
        conn.commit()
    assert _found(admin, "diem doi ten", "site") == [f"site:{site}"]
    assert _found(admin, "bang moi tinh", "board") == ["board:bql--n0-b"]
    assert f"site:{site}" not in _found(admin, "phong tho", "site")


def test_a_search_leaves_the_planner_as_it_was(
    named: dict[str, list[tuple[int, str]]], api_db: str
) -> None:
    params = {"like": "%phong tho%", "folded": "phong tho", "exact": "phong tho", "id": None}
    with psycopg.connect(api_db) as conn:
        for setting in ("on", "off"):
            conn.execute(f"SET LOCAL enable_seqscan = {setting}")
            assert storage_places.boards(conn, Scope.everything(), "contains", params, 5)
            assert storage_places.sites(conn, Scope.everything(), "contains", params, 5)
            shown = conn.execute("SELECT current_setting('enable_seqscan')").fetchone()
            assert shown == (setting,)
