"""A picker that takes a site only matches names against sites: every
board's name holds its site's ("Bảng tin Cửa khẩu Huổi Luông 1"), so a part of
the site's name used to match the site and its boards and be refused as
ambiguous (found by the phone walkthrough)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from fleet_server.access.principal import Principal
from fleet_server.api.console import place_search
from fleet_server.errors import Invalid
from tests.support import seed
from tests.support.principals import province_admin

SITE = "Cửa khẩu Huổi Luông"


def admin() -> Principal:
    return province_admin(user_id=99, username="test.admin")


@pytest.fixture
def conn(api_db: str) -> Any:
    with psycopg.connect(api_db) as c:
        site = seed.site(c, "huoi-luong", "bql-kkt", name=SITE)
        for n in (1, 2):
            seed.board(c, f"lc-huoi-luong-0{n}", "huoi-luong", name=f"Bảng tin {SITE} {n}")
        seed.site(c, "twin-a", "bql-kkt", name="Điểm Trùng Tên Mới")
        seed.site(c, "twin-b", "bql-kkt", name="Điểm Trùng Tên Mới")
        c.commit()
        c.info_site = site  # type: ignore[attr-defined]
        yield c


@pytest.mark.parametrize("typed", ["huoi luong", "Huổi Luông", "cua khau huoi luong", SITE])
def test_a_site_only_picker_takes_part_of_a_sites_name(conn: Any, typed: str) -> None:
    site = conn.info_site
    assert place_search.site_picked(conn, admin(), typed, "site", boards=False) == site
    assert place_search.site_picked(conn, admin(), typed, "site") == site
    assert place_search.resolve(conn, admin(), typed, "site_id", sites_only=True) == (site, None)


def test_a_mixed_picker_still_refuses_a_part_that_names_a_site_and_its_boards(conn: Any) -> None:
    with pytest.raises(Invalid, match="where: several places match"):
        place_search.resolve(conn, admin(), "huoi luong")


def test_a_board_still_names_its_site_where_boards_are_allowed(conn: Any) -> None:
    typed = f"Bảng tin {SITE} 2"
    assert place_search.site_picked(conn, admin(), typed, "site") == conn.info_site
    with pytest.raises(Invalid, match="site: no site in your scope matches"):
        place_search.site_picked(conn, admin(), typed, "site", boards=False)


def test_two_sites_of_one_name_are_still_ambiguous(conn: Any) -> None:
    for boards in (True, False):
        with pytest.raises(Invalid, match="site: several places match"):
            place_search.site_picked(conn, admin(), "diem trung ten moi", "site", boards=boards)


def test_several_pickers_name_the_box_refused(conn: Any) -> None:
    """A refused box is named by its place among them (from 0, as a list's
    entry), so the form marks that one alone."""
    typed = ["", SITE, "no such place at all"]
    with pytest.raises(Invalid, match=r"site\.2: no site in your scope matches") as found:
        place_search.sites_picked(conn, admin(), typed, "site")
    assert found.value.field == "site.2"
    with pytest.raises(Invalid, match=r"site\.0: several places match") as found:
        place_search.sites_picked(conn, admin(), ["diem trung ten moi", SITE], "site")
    assert found.value.field == "site.0"
    assert place_search.sites_picked(conn, admin(), [SITE, "", "huoi luong"], "site") == [
        conn.info_site
    ]
