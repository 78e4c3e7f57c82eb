"""The operational forms' "where" picker (console/place_search.py): the
scoped, accent-blind search behind it, past the old 500-site cap, hostile
search text, and the forms resolving what a reader without JavaScript
types (an id or an exact name), refusing an unknown or ambiguous one
naming the field."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console.forms import LOCAL_INPUT
from fleet_server.localtime import LOCAL_TZ
from tests.server.api.console.conftest import csrf_of
from tests.support import seed
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"
FAR = "Trạm Phong Thổ Xa Nhất"


def post(browser: TestClient, page: str, action: str, form: dict[str, str]) -> Any:
    token = csrf_of(browser.get(page).text)
    return browser.post(action, data={**form, "csrf_token": token})


def labels(browser: TestClient, **params: str) -> list[str]:
    answer = browser.get("/search/places", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    return [item["label"] for item in answer.json()["items"]]


@pytest.fixture
def many_sites(api_db: str) -> dict[str, int]:
    """510 more sites of the operator's organisation (the last beyond the old
    500 cap, named with accents), and one of another organisation."""
    with psycopg.connect(api_db) as conn:
        for n in range(509):
            seed.site(conn, f"them-{n:03d}", "bql-kkt", name=f"Điểm thêm {n:03d}")
        far = seed.site(conn, "tram-xa", "bql-kkt", name=FAR)
        other = seed.site(conn, "phong-tho-khac", "ubnd-phong-tho", name="Phong Thổ Khác Tổ Chức")
        twin_a = seed.site(conn, "trung-a", "bql-kkt", name="Điểm Trùng Tên")
        twin_b = seed.site(conn, "trung-b", "bql-kkt", name="Điểm Trùng Tên")
        conn.commit()
    return {"far": far, "other": other, "twin_a": twin_a, "twin_b": twin_b}


def test_search_is_scoped_accent_blind_and_reaches_every_site(
    new_browser: NewBrowser, many_sites: dict[str, int]
) -> None:
    operator = new_browser("operator")
    found = labels(operator, q="phong tho")
    assert any(f"[site:{many_sites['far']}]" in label for label in found)
    assert not any(f"[site:{many_sites['other']}]" in label for label in found)  # not in scope
    assert labels(operator, q="khac to chuc") == []
    assert len(labels(operator, q="diem them")) == 20  # at most 20 suggestions
    boards = labels(operator, q=BOARD[:8], kind="board")
    assert any(f"[board:{BOARD}]" in label for label in boards)
    assert all("[board:" in label for label in boards)
    assert all("[site:" in label for label in labels(operator, q="diem", kind="site"))
    admin = new_browser("admin")
    assert any(f"[site:{many_sites['other']}]" in x for x in labels(admin, q="PHONG THO KHAC"))
    assert new_browser().get("/search/places", params={"q": "phong"}).status_code in (303, 401)


@pytest.mark.parametrize(
    "text", ["%", "_", "\\", "%%__", "' OR 1=1 --", "x'); DROP TABLE sites; --", "ạ" * 99 + "%"]
)
def test_hostile_search_text_is_matched_as_itself(
    new_browser: NewBrowser, many_sites: dict[str, int], text: str
) -> None:
    assert labels(new_browser("admin"), q=text) == []


def test_overlong_or_nul_search_text_is_refused_or_ignored(new_browser: NewBrowser) -> None:
    admin = new_browser("admin")
    assert admin.get("/search/places", params={"q": "a" * 5000}).status_code == 400
    assert admin.get("/search/places", params={"q": "phong", "kind": "x"}).status_code == 400
    assert admin.get("/search/places", params={"q": "\x00"}).json() == {"items": []}


def test_forms_take_a_site_beyond_the_old_cap_by_suggestion_name_or_id(
    new_browser: NewBrowser, many_sites: dict[str, int], api_db: str, clock: Clock
) -> None:
    operator = new_browser("operator")
    far = many_sites["far"]
    suggestion = labels(operator, q="tram phong tho xa")[0]
    ticket = post(operator, "/tickets/new", "/tickets/new", {"where": suggestion, "title": "Xa"})
    assert ticket.status_code == 303, ticket.text
    by_name = post(
        operator,
        "/tickets/new",
        "/tickets/new",
        {"where": "tram phong tho xa nhat", "title": "Tên"},
    )
    assert by_name.status_code == 303, by_name.text
    board = post(operator, "/tickets/new", "/tickets/new", {"where": BOARD, "title": "Bảng"})
    assert board.status_code == 303, board.text
    with psycopg.connect(api_db) as conn:
        rows = conn.execute("SELECT title, site_id, board_id FROM tickets ORDER BY id").fetchall()
    # part of one place's name, unaccented, as the hint invites; part of
    # several places' names is refused below
    part = post(
        operator, "/tickets/new", "/tickets/new", {"where": "phong tho xa", "title": "Một phần"}
    )
    assert part.status_code == 303, part.text
    with psycopg.connect(api_db) as conn:
        assert conn.execute("SELECT site_id FROM tickets WHERE title = 'Một phần'").fetchone() == (
            far,
        )
        conn.execute("DELETE FROM tickets WHERE title = 'Một phần'")
        conn.commit()
    assert rows[0][:2] == ("Xa", far)
    assert rows[1][:2] == ("Tên", far)
    assert rows[2][0] == "Bảng"
    assert rows[2][2] == BOARD
    starts = (clock.now + timedelta(hours=2)).astimezone(LOCAL_TZ)
    window = post(
        operator,
        "/maintenance",
        "/maintenance",
        {
            "where": FAR,
            "starts_at": starts.strftime(LOCAL_INPUT),
            "ends_at": (starts + timedelta(hours=1)).strftime(LOCAL_INPUT),
            "reason": "Bảo trì",
        },
    )
    assert window.status_code == 303, window.text
    due = (clock.now.astimezone(LOCAL_TZ).date() + timedelta(days=10)).isoformat()
    schedule = post(
        operator,
        "/maintenance/preventive",
        "/maintenance/preventive",
        {"where": f"site:{far}", "title": "Vệ sinh", "every_days": "30", "next_due_on": due},
    )
    assert schedule.status_code == 303, schedule.text
    with psycopg.connect(api_db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM maintenance_windows WHERE site_id = %s", (far,)
        ).fetchone() == (1,)
        assert conn.execute(
            "SELECT count(*) FROM preventive_schedules WHERE site_id = %s", (far,)
        ).fetchone() == (1,)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_unknown_ambiguous_or_out_of_scope_names_are_refused_naming_the_field(
    new_browser: NewBrowser, many_sites: dict[str, int], lang: str
) -> None:
    operator = new_browser("operator")
    page = f"/tickets/new?lang={lang}"
    unknown = post(operator, page, "/tickets/new", {"where": "Không Có Nơi Này", "title": "x"})
    assert unknown.status_code == 400
    alert = re.search(r'role="alert" data-error="where">(.*?)</div>', unknown.text, re.S)
    assert alert, unknown.text
    words = {"vi": ("Ở đâu", "Không có điểm"), "en": ("Where", "No site or board")}[lang]
    assert all(w in alert.group(1) for w in words)
    assert 'name="where"' in unknown.text
    assert 'aria-invalid="true"' in unknown.text
    assert 'value="Không Có Nơi Này"' in unknown.text  # what was typed comes back
    twins = post(operator, page, "/tickets/new", {"where": "diem trung ten", "title": "x"})
    assert twins.status_code == 400
    assert {"vi": "Nhiều nơi", "en": "Several places"}[lang] in twins.text
    part = post(operator, page, "/tickets/new", {"where": "diem them 00", "title": "x"})
    assert part.status_code == 400  # part of ten sites' names
    assert {"vi": "Nhiều nơi", "en": "Several places"}[lang] in part.text
    # another organisation's site by name: unknown (no hint it exists); by id: not found
    other_name = post(
        operator, page, "/tickets/new", {"where": "Phong Thổ Khác Tổ Chức", "title": "x"}
    )
    assert other_name.status_code == 400
    other_id = post(
        operator, page, "/tickets/new", {"where": f"site:{many_sites['other']}", "title": "x"}
    )
    assert other_id.status_code == 404


def test_form_pages_list_a_short_choice_not_the_whole_fleet(
    new_browser: NewBrowser, many_sites: dict[str, int], api_db: str
) -> None:
    admin = new_browser("admin")
    with psycopg.connect(api_db) as conn:
        site = seed.site_of_board(conn, BOARD)
    for path in ("/maintenance", "/maintenance/preventive", "/tickets/new"):
        page = admin.get(path).text
        assert 'list="where-places"' in page
        assert 'data-place-search="/search/places"' in page
        listed = re.search(r'<datalist id="where-places">(.*?)</datalist>', page, re.S)
        assert listed
        assert listed.group(1).count("<option") == 50
        assert "<script>" not in page  # the picker's code is in console.js (CSP)
    own = admin.get("/tickets/new", params={"site_id": site}).text
    listed = re.search(r'<datalist id="where-places">(.*?)</datalist>', own, re.S)
    assert listed
    assert f"[board:{BOARD}]" in listed.group(1)
