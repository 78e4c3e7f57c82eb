"""The board page's tags: every reader sees them, administrators (org.write)
change them through the form (audited, as PATCH /api/v1/boards/{id}), a bad
tag is refused beside the form and nothing changes."""

from __future__ import annotations

import re
from typing import Any

BOARD = "lc-mu-ca-01"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_an_administrator_tags_a_board_from_its_page(new_browser: Any, db_conn: Any) -> None:
    browser = new_browser("admin")
    page = browser.get(f"/boards/{BOARD}")
    assert 'data-action="save-tags"' in page.text
    saved = browser.post(
        f"/boards/{BOARD}/tags", data={"csrf_token": _csrf(page.text), "tags": "Pilot, 4g pilot"}
    )
    assert saved.status_code == 303
    assert 'data-tags="4g,pilot"' in browser.get(saved.headers["location"]).text
    [[after]] = db_conn.execute("SELECT after FROM audit_log WHERE action = 'board.update'")
    assert after == {"tags": ["4g", "pilot"]}
    refused = browser.post(
        f"/boards/{BOARD}/tags", data={"csrf_token": _csrf(page.text), "tags": "ok, b@d"}
    )
    assert refused.status_code == 400
    assert 'data-error="tags' in refused.text
    assert 'aria-invalid="true"' in refused.text
    too_many = browser.post(
        f"/boards/{BOARD}/tags",
        data={"csrf_token": _csrf(page.text), "tags": " ".join(f"t{i}" for i in range(17))},
    )
    assert too_many.status_code == 400
    assert "Nhiều quá: tối đa 16 mục." in too_many.text  # not pydantic's English
    assert db_conn.execute("SELECT tags FROM boards WHERE id = %s", (BOARD,)).fetchone() == (
        ["4g", "pilot"],
    )


def test_readers_see_the_tags_without_the_form(new_browser: Any, db_conn: Any) -> None:
    db_conn.execute("UPDATE boards SET tags = '{pilot}' WHERE id = %s", (BOARD,))
    db_conn.commit()
    operator = new_browser("operator")
    page = operator.get(f"/boards/{BOARD}")
    assert 'data-tags="pilot"' in page.text
    assert 'data-action="save-tags"' not in page.text
    posted = operator.post(f"/boards/{BOARD}/tags", data={"csrf_token": _csrf(page.text)})
    assert posted.status_code == 403
