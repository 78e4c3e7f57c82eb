"""The administration forms pick sites by name (issue 20): an account's
sites and a notification route's site are typed into the console's site
picker (a name in either language, accents optional, a suggestion or an id)
instead of a select listing every site (2,500 options were most of an
account page's rendering time); a box naming no site or several is refused
on that box, the form kept. Rows and pages name their sites by id lookup."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.api.console.conftest import csrf_of
from tests.support import seed

NewBrowser = Callable[..., TestClient]
PASSWORD = "Cuc-Bao-Tin-Sin-Ho-2027"
LUOT = "Bản Lướt Thượng"
NAM_XE = "Nậm Xe Đầu Nguồn"
MU_CA = "Mù Cả Trên"
MU_CA_EN = "Upper Mu Ca Hamlet"
TWIN = "Điểm Trùng Tên Mới"
UNKNOWN = "Không Có Nơi Này"


@pytest.fixture
def sites(db_conn: Any) -> dict[str, int]:
    made = {
        LUOT: seed.site(db_conn, "ban-luot-thuong", "bql-kkt", name=LUOT),
        NAM_XE: seed.site(db_conn, "nam-xe-dau-nguon", "bql-kkt", name=NAM_XE),
        MU_CA: seed.site(db_conn, "mu-ca-tren", "bql-kkt", name=MU_CA, name_en=MU_CA_EN),
    }
    seed.site(db_conn, "twin-a", "bql-kkt", name=TWIN)
    seed.site(db_conn, "twin-b", "bql-kkt", name=TWIN)
    return made


def _post(browser: TestClient, page: str, action: str, **form: Any) -> Any:
    csrf = csrf_of(browser.get(page).text)
    return browser.post(action, data={"csrf_token": csrf, **form})


def _account(admin: TestClient, **fields: Any) -> Any:
    form = {
        "username": "lo.thi.mai",
        "full_name": "Lò Thị Mai",
        "role": "technician",
        "language": "vi",
        "password": PASSWORD,
        "password_again": PASSWORD,
    } | fields
    return _post(admin, "/admin/users", "/admin/users", **form)


def _site_ids(db_conn: Any, username: str) -> list[int]:
    rows = db_conn.execute(
        "SELECT us.site_id FROM user_sites us JOIN users u ON u.id = us.user_id"
        " WHERE u.username = %s ORDER BY us.site_id",
        (username,),
    )
    return [r[0] for r in rows]


def _boxes(page: str, name: str = "site") -> list[str]:
    return re.findall(rf'<input type="text" name="{name}"[^>]*>', page)


def _value(box: str) -> str:
    found = re.search(r'value="([^"]*)"', box)
    assert found
    return found.group(1)


def test_an_account_gets_sites_typed_by_name_and_its_page_names_them(
    new_browser: NewBrowser, db_conn: Any, sites: dict[str, int]
) -> None:
    admin = new_browser("admin")
    form = admin.get("/admin/users").text
    assert 'name="site_ids"' not in form  # no select of every site
    boxes = _boxes(form)
    assert len(boxes) == 3
    assert all('data-place-kind="site"' in b for b in boxes)
    # Vietnamese, without accents, English
    created = _account(admin, site=[LUOT, "nam xe dau nguon", MU_CA_EN])
    assert created.status_code == 303, created.text
    path = created.headers["location"].split("?")[0]
    assert _site_ids(db_conn, "lo.thi.mai") == sorted(sites.values())

    page = admin.get(path).text
    shown = re.search(r"<dt>Điểm được giao thêm</dt><dd>(.*?)</dd>", page)
    assert shown
    assert set(shown.group(1).split(", ")) == {LUOT, NAM_XE, MU_CA}
    english = admin.get(f"{path}?lang=en").text
    assert MU_CA_EN in english
    # the edit form: one box a site the account has, and one empty
    filled = [_value(b) for b in _boxes(page)]
    assert len(filled) == 4
    assert filled[3] == ""
    assert {f"{name} [site:{sites[name]}]" for name in sites} == set(filled[:3])

    # kept as filled, one box emptied and one site typed by a part of its name
    kept = [v for v in filled if v and str(sites[LUOT]) not in v]
    edit = {"full_name": "Lò Thị Mai", "role": "technician", "language": "vi"}
    changed = _post(admin, path, path, **edit, site=[*kept, "", "luot thuong"])
    assert changed.headers["location"] == f"{path}?flash=admin_user_updated#main"
    assert _site_ids(db_conn, "lo.thi.mai") == sorted(sites.values())
    dropped = _post(admin, path, path, **edit, site=[kept[0], "", ""])
    assert dropped.status_code == 303
    assert _site_ids(db_conn, "lo.thi.mai") == [int(kept[0].rsplit(":", 1)[1].rstrip("]"))]
    cleared = _post(admin, path, path, **edit, site=["", "", ""])
    assert cleared.status_code == 303
    assert _site_ids(db_conn, "lo.thi.mai") == []
    assert re.search(r"<dt>Điểm được giao thêm</dt><dd>—</dd>", admin.get(f"{path}?lang=vi").text)


def test_ids_posted_as_the_select_did_are_still_taken(
    new_browser: NewBrowser, db_conn: Any, sites: dict[str, int]
) -> None:
    admin = new_browser("admin")
    created = _account(admin, site_ids=[str(sites[LUOT])], site=[MU_CA, ""])
    assert created.status_code == 303, created.text
    assert _site_ids(db_conn, "lo.thi.mai") == sorted([sites[LUOT], sites[MU_CA]])


@pytest.mark.parametrize(
    ("typed", "entry", "reason"),
    [
        ([LUOT, UNKNOWN, ""], 1, "Không có điểm lắp đặt nào trong phạm vi của bạn"),
        (["diem trung ten moi", LUOT, ""], 0, "Nhiều nơi mang tên này"),
        ([LUOT, "", "LC-001"], 2, "Không có điểm lắp đặt nào"),  # a board: no site
    ],
)
def test_a_box_naming_no_site_or_several_is_refused_on_that_box(
    new_browser: NewBrowser,
    db_conn: Any,
    sites: dict[str, int],
    typed: list[str],
    entry: int,
    reason: str,
) -> None:
    admin = new_browser("admin")
    board = db_conn.execute("SELECT id FROM boards ORDER BY id LIMIT 1").fetchone()[0]
    typed = [board if t == "LC-001" else t for t in typed]
    before = db_conn.execute("SELECT count(*) FROM users").fetchone()
    answer = _account(admin, site=typed)
    assert answer.status_code == 400, answer.text
    assert f'data-error="site.{entry}"' in answer.text
    refusal = re.sub(r"\s+", " ", answer.text.split('role="alert"', 1)[1].split("</div>", 1)[0])
    assert reason in refusal
    assert f"Điểm được giao thêm, mục thứ {entry + 1}" in refusal  # the box, in Vietnamese
    boxes = _boxes(answer.text)
    assert ['aria-invalid="true"' in b for b in boxes] == [i == entry for i in range(3)]
    assert [_value(b) for b in boxes] == typed  # the form kept
    assert "Lò Thị Mai" in answer.text
    assert db_conn.execute("SELECT count(*) FROM users").fetchone() == before

    # the same on an account's page: refused, nothing changed
    made = _account(admin, username="lo.thi.lan", site=[LUOT])
    path = made.headers["location"].split("?")[0]
    edit = {"full_name": "Lò Thị Lan", "role": "technician", "language": "vi"}
    refused = _post(admin, path, path, **edit, site=typed)
    assert refused.status_code == 400
    assert f'data-error="site.{entry}"' in refused.text
    assert [_value(b) for b in _boxes(refused.text)][:3] == typed
    assert _site_ids(db_conn, "lo.thi.lan") == [sites[LUOT]]


def _contact(admin: TestClient) -> str:
    made = _post(
        admin,
        "/admin/contacts",
        "/admin/contacts",
        name="Trực ban Mù Cả",
        email="truc.ban.mu.ca@laichau.gov.vn",
        language="vi",
    )
    assert made.status_code == 303, made.text
    return str(made.headers["location"].split("/")[3].split("?")[0])


def _route(admin: TestClient, contact: str, site: str) -> Any:
    form = {"contact_id": contact, "channel": "email", "min_severity": "warning"}
    return _post(admin, "/admin/routes", "/admin/routes", **form, site_id=site)


def test_a_route_gets_its_site_by_name_and_the_list_names_it(
    new_browser: NewBrowser, db_conn: Any, sites: dict[str, int]
) -> None:
    admin = new_browser("admin")
    contact = _contact(admin)
    form = admin.get("/admin/routes").text
    assert not re.search(r'<select name="site_id"', form)
    (box,) = _boxes(form, "site_id")
    assert 'data-place-kind="site"' in box
    created = _route(admin, contact, "mu ca tren")
    assert created.status_code == 303, created.text
    path = created.headers["location"].split("?")[0]
    route = path.rsplit("/", 1)[1]
    row = db_conn.execute("SELECT site_id FROM notification_routes WHERE id = %s", (route,))
    assert row.fetchone() == (sites[MU_CA],)
    listed = admin.get("/admin/routes").text
    item = re.search(rf'<li data-route="{route}">(.*?)</li>', listed, re.S)
    assert item
    assert MU_CA in item.group(1)
    assert MU_CA in admin.get(f"/admin/contacts/{contact}").text
    page = admin.get(path).text
    assert _value(_boxes(page, "site_id")[0]) == f"{MU_CA} [site:{sites[MU_CA]}]"
    # the box posted back as filled keeps the site; emptied: any site
    edit = {"contact_id": contact, "channel": "email", "min_severity": "major"}
    kept = _post(admin, path, path, **edit, site_id=f"{MU_CA} [site:{sites[MU_CA]}]")
    assert kept.status_code == 303
    assert db_conn.execute(
        "SELECT site_id, min_severity FROM notification_routes WHERE id = %s", (route,)
    ).fetchone() == (sites[MU_CA], "major")
    assert _post(admin, path, path, **edit, site_id=LUOT).status_code == 303
    assert db_conn.execute(
        "SELECT site_id FROM notification_routes WHERE id = %s", (route,)
    ).fetchone() == (sites[LUOT],)
    assert LUOT in admin.get("/admin/routes").text
    english = admin.get(f"/admin/routes/{route}?lang=en").text
    assert _value(_boxes(english, "site_id")[0]) == f"{LUOT} [site:{sites[LUOT]}]"
    mu_ca = _route(admin, contact, MU_CA_EN)  # by its English name
    assert mu_ca.status_code == 303, mu_ca.text
    assert MU_CA_EN in admin.get("/admin/routes").text  # the reader's language


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        (UNKNOWN, "Không có điểm lắp đặt nào trong phạm vi của bạn"),
        ("diem trung ten moi", "Nhiều nơi mang tên này"),
    ],
)
def test_a_route_site_naming_no_site_or_several_is_refused_on_its_box(
    new_browser: NewBrowser, db_conn: Any, sites: dict[str, int], typed: str, reason: str
) -> None:
    admin = new_browser("admin")
    contact = _contact(admin)
    before = db_conn.execute("SELECT count(*) FROM notification_routes").fetchone()
    answer = _route(admin, contact, typed)
    assert answer.status_code == 400, answer.text
    assert 'data-error="site_id"' in answer.text
    assert reason in answer.text
    (box,) = _boxes(answer.text, "site_id")
    assert 'aria-invalid="true"' in box
    assert _value(box) == typed
    assert db_conn.execute("SELECT count(*) FROM notification_routes").fetchone() == before


def test_no_page_lists_every_site(new_browser: NewBrowser, db_conn: Any) -> None:
    """300 sites more: the new-account and routes pages carry none of them
    as an option (a few suggestions, by name, in a datalist)."""
    org = db_conn.execute("SELECT id FROM organisations WHERE code = 'bql-kkt'").fetchone()[0]
    made = [
        r[0]
        for r in db_conn.execute(
            "INSERT INTO sites (code, organisation_id, name, kind)"
            " SELECT 'many-' || g, %s, 'Điểm Thử Nhiều ' || g, 'district_centre'"
            " FROM generate_series(1, 300) g RETURNING id",
            (org,),
        )
    ]
    admin = new_browser("admin")
    _contact(admin)  # the routes page's form needs one
    for path in ("/admin/users", "/admin/routes"):
        page = admin.get(path).text
        options = set(re.findall(r'<option value="(\d+)"', page))
        assert not options & {str(i) for i in made}, path
        assert page.count("<option") < 120, path
        assert len(page.encode()) < 30_000, path
