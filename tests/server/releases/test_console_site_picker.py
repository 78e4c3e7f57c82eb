"""The rollout form's sites (console/releases_page.py): picked with the
place picker (a suggestion, a name or an id typed), a few short suggestions
listed instead of one option per site; the boards counted are the picked
sites' boards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.server.releases.support import SigningKey
from tests.server.releases.test_api import _publish
from tests.server.releases.test_console import _csrf


def test_a_rollout_targets_picked_sites(
    as_: Any, new_browser: Any, key: SigningKey, tmp_path: Path, db_conn: Any
) -> None:
    assert _publish(as_("admin"), key, tmp_path, "2.0.0").status_code == 201
    browser = new_browser("admin")
    page = browser.get("/releases").text
    assert 'name="site_ids"' not in page  # no select of every site
    pickers = re.findall(r'<input type="text" name="site"[^>]*>', page)
    assert len(pickers) == 3
    assert all('data-place-kind="site"' in p for p in pickers)
    sites = db_conn.execute(
        "SELECT s.id, s.name, count(b.id) FROM sites s JOIN boards b ON b.site_id = s.id"
        " WHERE b.enabled GROUP BY s.id ORDER BY s.id LIMIT 2"
    ).fetchall()
    (first, first_name, first_boards), (second, _name, second_boards) = sites
    suggestion = browser.get("/search/places", params={"q": first_name, "kind": "site"}).json()
    form = {
        "csrf_token": _csrf(page),
        "version": "2.0.0",
        "waves": "100%",
        "pause_min": "5",
        "threshold": "0",
        "health_deadline_s": "300",
        "dry_run": "yes",
    }
    one = browser.post(
        "/releases/rollouts", data={**form, "site": [suggestion["items"][0]["label"], "", ""]}
    )
    assert one.status_code == 200, one.text
    assert f'data-dry-run="{first_boards}"' in one.text
    two = browser.post("/releases/rollouts", data={**form, "site": [first_name, str(second)]})
    assert f'data-dry-run="{first_boards + second_boards}"' in two.text
    unknown = browser.post("/releases/rollouts", data={**form, "site": ["Không Có Nơi Này"]})
    assert unknown.status_code == 400
    assert 'data-error="site.0"' in unknown.text
    assert re.search(r'name="site"[^>]*value="Không Có Nơi Này"[^>]*aria-invalid="true"',
                     unknown.text)  # fmt: skip
    # the second box refused: that one marked alone
    second_bad = browser.post(
        "/releases/rollouts", data={**form, "site": [first_name, "Không Có Nơi Này", ""]}
    )
    assert 'data-error="site.1"' in second_bad.text
    marked = re.findall(r'<input type="text" name="site"[^>]*>', second_bad.text)
    assert ['aria-invalid="true"' in p for p in marked] == [False, True, False]
    board = db_conn.execute("SELECT id FROM boards WHERE site_id = %s", (first,)).fetchone()[0]
    assert browser.post("/releases/rollouts", data={**form, "site": [board]}).status_code == 400
