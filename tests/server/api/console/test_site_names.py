"""Site names in the reader's language: the English name when reading
English (the Vietnamese one when a site has none), the Vietnamese name
otherwise. Board names have one name only."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.server.api.conftest import open_test_incident
from tests.server.api.console.fleet_state import (
    DAY_BOARD,
    open_ticket,
    report_cameras,
    set_states,
)
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
VI = "Cửa khẩu quốc tế Ma Lù Thàng"
EN = "Ma Lu Thang international border gate"
#: Mù Cả's English name is removed: English pages fall back to this.
MU_CA = "Cửa khẩu Mù Cả"


def without_board_names(html: str) -> str:
    """The page without the names of boards and cameras, which contain the
    site's Vietnamese name ("Bảng tin Cửa khẩu … số 01", "Camera 1 — Cửa
    khẩu …") in every language."""
    return re.sub(f"(Bảng tin |— ){VI}", "", html)


def test_english_site_names_where_the_console_shows_site_names(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    set_states(db_conn, clock.now)
    report_cameras(db_conn, clock.now)
    db_conn.execute("UPDATE sites SET name_en = NULL WHERE name = %s", (MU_CA,))
    incident = open_test_incident(db_conn, DAY_BOARD, "display_dark")
    ticket = open_ticket(db_conn, DAY_BOARD, clock.now)
    site = db_conn.execute("SELECT site_id FROM boards WHERE id = %s", (DAY_BOARD,)).fetchone()[0]
    operator = new_browser("operator")
    pages = [
        "/",  # the site list and the map
        f"/sites/{site}",
        f"/boards/{DAY_BOARD}",
        "/incidents",
        f"/incidents/{incident}",
        "/tickets",
        f"/tickets/{ticket}",
        "/cameras",
    ]
    for url in pages:
        vietnamese = operator.get(url, params={"lang": "vi"}).text
        assert VI in vietnamese, url
        assert EN not in vietnamese, url
        english = operator.get(url, params={"lang": "en"}).text
        assert EN in english, url
        assert VI not in without_board_names(english), url
    overview = operator.get("/", params={"lang": "en"}).text
    assert overview.count(EN) >= 3  # table row, marker title and label
    assert MU_CA in overview  # no English name: the Vietnamese one
    assert f"<title>Site {EN} ·" in operator.get(f"/sites/{site}", params={"lang": "en"}).text
    # The Border Guard's camera page too.
    guard = new_browser("guard").get("/cameras", params={"lang": "en"}).text
    assert EN in guard
    assert VI not in without_board_names(guard)
    assert MU_CA in guard
