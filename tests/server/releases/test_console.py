"""The console's release and rollout pages: an administrator counts the
boards, starts a rollout from the form, pauses and aborts it and sees each
board's state; a refused form names the field; every other role gets 403;
the board page shows the agent version and its last update."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from fleet_server.api.console.rollout_words import reason_words
from tests.server.releases.support import SigningKey
from tests.server.releases.test_api import _publish

BOARD = "lc-ma-lu-thang-01"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_an_administrator_runs_a_rollout_from_the_console(
    as_: Any, new_browser: Any, key: SigningKey, tmp_path: Path, db_conn: Any
) -> None:
    assert _publish(as_("admin"), key, tmp_path, "2.0.0").status_code == 201
    browser = new_browser("admin")
    page = browser.get("/releases")
    assert page.status_code == 200
    assert 'data-version="2.0.0"' in page.text
    assert 'href="/releases"' in page.text  # in the menu
    form = {
        "csrf_token": _csrf(page.text),
        "version": "2.0.0",
        "board_ids": f"{BOARD}, lc-mu-ca-01",
        "waves": "1, 100%",
        "pause_min": "5",
        "threshold": "0",
        "health_deadline_s": "300",
    }
    counted = browser.post("/releases/rollouts", data=form | {"dry_run": "yes"})
    assert counted.status_code == 200
    assert 'data-dry-run="2"' in counted.text
    refused = browser.post("/releases/rollouts", data=form | {"waves": "1, nhiều"})
    assert refused.status_code == 400
    assert 'data-error="waves"' in refused.text
    started = browser.post("/releases/rollouts", data=form)
    assert started.status_code == 303
    url = started.headers["location"].split("?")[0]
    shown = browser.get(url)
    assert 'data-board="lc-ma-lu-thang-01" data-state="pending"' in shown.text
    assert browser.post(f"{url}/pause", data={"csrf_token": _csrf(shown.text)}).status_code == 303
    paused = browser.get(url)
    assert 'data-state="paused"' in paused.text
    aborted = browser.post(
        f"{url}/abort", data={"csrf_token": _csrf(paused.text), "reason": "thử lại sau"}
    )
    assert aborted.status_code == 303
    final = browser.get(url)
    assert 'data-state="aborted"' in final.text
    assert 'data-board="lc-mu-ca-01" data-state="cancelled"' in final.text
    assert "đợt cập nhật: Đã hủy" in final.text  # the engine's reason, in Vietnamese
    # what a person typed is isolated: a right-to-left override in it cannot turn the page around
    assert re.search(r'<bdi class="small">[^<]*thử lại sau[^<]*</bdi>', final.text)
    assert "rollout: Aborted" in browser.get(f"{url}?lang=en").text
    again = browser.post(f"{url}/resume", data={"csrf_token": _csrf(final.text)})
    assert again.status_code == 409  # refused beside the buttons' place
    [[n]] = db_conn.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'rollout.%%'")
    assert n == 3  # create, pause, abort

    board = browser.get(f"/boards/{BOARD}")
    assert 'data-update-state="cancelled"' in board.text


def test_the_rollout_form_targets_by_tag(
    as_: Any, new_browser: Any, key: SigningKey, tmp_path: Path
) -> None:
    assert _publish(as_("admin"), key, tmp_path, "2.0.0").status_code == 201
    for board in (BOARD, "lc-mu-ca-01"):
        as_("admin").patch(f"/api/v1/boards/{board}", json={"tags": ["pilot"]})
    browser = new_browser("admin")
    page = browser.get("/releases")
    assert 'name="tags"' in page.text
    form = {"csrf_token": _csrf(page.text), "version": "2.0.0", "waves": "100%"}
    counted = browser.post("/releases/rollouts", data=form | {"tags": "pilot", "dry_run": "yes"})
    assert 'data-dry-run="2"' in counted.text
    refused = browser.post("/releases/rollouts", data=form | {"tags": "Pilot!"})
    assert refused.status_code == 400
    assert 'data-error="target.tags.0"' in refused.text


@pytest.mark.parametrize("role", ["operator", "technician", "viewer"])
def test_other_roles_may_not_open_the_pages(new_browser: Any, role: str) -> None:
    browser = new_browser(role)
    assert browser.get("/releases").status_code == 403
    assert browser.get("/rollouts/1").status_code == 403
    assert 'href="/releases"' not in browser.get(f"/boards/{BOARD}").text


@pytest.mark.parametrize(
    ("reason", "lang", "words"),
    [
        (
            "morning broadcast window 07:00-10:30 on air or about to start",
            "vi",
            "trong giờ phát sóng sáng 07:00–10:30 hoặc sắp đến giờ",
        ),
        (
            "3 failures of 5 boards tried exceed the threshold of 50 % of the boards tried",
            "en",
            "3 failures of 5 boards tried exceed the threshold of 50 %",
        ),
        ("board disabled during its update", "vi", "bảng tin bị tắt trong lúc đang cập nhật"),
        (
            "reported healthy, but its agent runs 1.0.0",
            "vi",
            "báo chạy ổn, nhưng agent của nó đang chạy 1.0.0",
        ),
        ("crash loop: 3 starts", "vi", "crash loop: 3 starts"),  # the board's own words
    ],
)
def test_the_engines_reasons_in_the_readers_language(reason: str, lang: str, words: str) -> None:
    assert reason_words(reason, lang) == words


def test_a_refused_rollout_names_its_field_and_keeps_the_page(
    as_: Any, new_browser: Any, key: SigningKey, tmp_path: Path
) -> None:
    assert _publish(as_("admin"), key, tmp_path, "2.0.0").status_code == 201
    browser = new_browser("admin")
    form = {
        "csrf_token": _csrf(browser.get("/releases").text),
        "version": "2.0.0",
        "board_ids": BOARD,
        "waves": "100%",
    }
    came_from = {"referer": "http://testserver/releases"}
    # the model's own field (max_failure_percent) under the form's label
    refused = browser.post(
        "/releases/rollouts", data=form | {"threshold": "200%"}, headers=came_from
    )
    assert refused.status_code == 400
    assert "Mục cần sửa: Ngưỡng dừng" in refused.text
    assert "max failure" not in refused.text
    assert re.search(r'<input name="threshold"[^>]*aria-invalid="true"', refused.text)
    # the language switch goes to the page, not to the form's address (405)
    assert 'href="/releases?lang=en"' in refused.text
    assert browser.get("/releases?lang=en").status_code == 200
    # longer than the route takes: the error page names the field in the reader's language
    too_long = browser.post(
        "/releases/rollouts?lang=en", data=form | {"pause_min": "1" * 11}, headers=came_from
    )
    assert too_long.status_code == 400
    assert "Pause between waves (minutes)" in too_long.text
    assert 'href="/releases?lang=vi"' in too_long.text
    assert 'maxlength="10"' in browser.get("/releases").text  # the browser cuts it first
