"""A rollout's boards paged apart (GET /api/v1/rollouts/{id}/boards, the
console's /rollouts/{id}): walked by cursor in position order or problems
first, filtered by state, hostile cursors refused; the rollout's answer
keeps the counts and at most the first boards (issue 20)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from fleet_server.rollouts import service
from tests.server.releases.support import SigningKey, write_release

BOARDS = ["lc-ma-lu-thang-01", "lc-ma-lu-thang-02", "lc-mu-ca-01", "lc-phong-tho-01"]


def _rollout(admin: Any, key: SigningKey, tmp: Path) -> int:
    manifest, artifact = write_release(key, tmp / "2.0.0", "2.0.0", None)
    published = admin.post(
        "/api/v1/releases",
        files={
            "manifest": ("m.json", manifest.read_bytes()),
            "artifact": (artifact.name, artifact.read_bytes()),
        },
    )
    assert published.status_code == 201, published.text
    body = {"version": "2.0.0", "target": {"board_ids": BOARDS}, "waves": [{"percent": 100}]}
    created = admin.post("/api/v1/rollouts", json=body | {"starts_at": "2099-01-01T00:00:00Z"})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _walk(admin: Any, url: str, **extra: str) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "1"} | extra | ({"cursor": cursor} if cursor else {})
        answer = admin.get(url, params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen += [(b["board_id"], b["state"]) for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            assert "link" not in answer.headers
            return seen
        assert 'rel="next"' in answer.headers["link"]
    raise AssertionError("the walk did not end")


@pytest.fixture
def rollout(as_: Any, key: SigningKey, tmp_path: Path, db_conn: Any) -> int:
    rollout_id = _rollout(as_("admin"), key, tmp_path)
    db_conn.execute(
        "UPDATE rollout_boards SET state = 'failed', reason = 'health check failed'"
        " WHERE rollout_id = %s AND board_id = %s",
        (rollout_id, BOARDS[2]),
    )
    return rollout_id


def test_boards_walked_by_cursor_in_order_and_problems_first(as_: Any, rollout: int) -> None:
    admin = as_("admin")
    url = f"/api/v1/rollouts/{rollout}/boards"
    assert [b for b, _ in _walk(admin, url)] == BOARDS
    problems = _walk(admin, url, sort="problems")
    assert problems[0] == (BOARDS[2], "failed")
    assert [b for b, _ in problems[1:]] == [BOARDS[0], BOARDS[1], BOARDS[3]]
    failed = admin.get(url, params={"state": "failed"}).json()
    assert [(b["board_id"], b["reason"]) for b in failed["items"]] == [
        (BOARDS[2], "health check failed")
    ]
    assert (failed["total"], failed["next_cursor"]) == (1, None)
    both = admin.get(url, params=[("state", "failed"), ("state", "pending"), ("limit", "2")])
    assert both.json()["total"] == 4


def test_rollout_answer_keeps_counts_and_the_first_boards(
    as_: Any, rollout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = as_("admin")
    whole = admin.get(f"/api/v1/rollouts/{rollout}").json()
    assert whole["counts"] == {"pending": 3, "failed": 1}
    assert (whole["boards_total"], whole["boards_truncated"]) == (4, False)
    assert [b["board_id"] for b in whole["boards"]] == BOARDS
    monkeypatch.setattr(service, "DETAIL_BOARDS", 2)
    capped = admin.get(f"/api/v1/rollouts/{rollout}").json()
    assert [b["board_id"] for b in capped["boards"]] == BOARDS[:2]
    assert (capped["boards_total"], capped["boards_truncated"]) == (4, True)


def _cursor(document: dict[str, Any]) -> str:
    raw = json.dumps(document).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_hostile_cursors_and_filters_refused(as_: Any, rollout: int) -> None:
    admin = as_("admin")
    url = f"/api/v1/rollouts/{rollout}/boards"
    first = admin.get(url, params={"limit": "1"}).json()
    problems_cursor = admin.get(url, params={"limit": "1", "sort": "problems"}).json()
    incidents = admin.get("/api/v1/incidents", params={"limit": "1"}).json()["next_cursor"]
    for params in (
        {"cursor": "not a cursor"},
        {"cursor": "x" * 3000},
        {"cursor": _cursor({"v": 1, "l": "rollout_boards", "s": "position", "k": ["1"]})},
        {"cursor": _cursor({"v": 1, "l": "rollout_boards", "s": "position", "k": [2**70]})},
        {"cursor": _cursor({"v": 1, "l": "incidents", "s": "position", "k": [1]})},
        {"cursor": problems_cursor["next_cursor"]},  # made for another sort
        {"cursor": first["next_cursor"], "offset": "1"},
        {"sort": "board_id"},
        {"state": "exploded"},
        {"limit": "0"},
    ) + (({"cursor": incidents},) if incidents else ()):
        answer = admin.get(url, params=params)
        assert answer.status_code in (400, 422), (params, answer.text)
    assert admin.get("/api/v1/rollouts/999999/boards").status_code == 404
    assert as_("operator").get(url).status_code == 403


def test_console_page_shows_counts_and_a_page_of_problems_first(
    as_: Any, rollout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = as_("admin")
    page = admin.get(f"/rollouts/{rollout}")
    assert page.status_code == 200, page.text
    rows = [line for line in page.text.splitlines() if "data-board=" in line]
    assert f'data-board="{BOARDS[2]}"' in rows[0]  # the failure first
    assert len(rows) == 4
    assert 'data-state-link="failed"' in page.text
    monkeypatch.setattr("fleet_server.api.console.releases_page.ROLLOUT_PAGE_BOARDS", 3)
    first = admin.get(f"/rollouts/{rollout}")
    assert first.text.count("data-board=") == 3
    assert 'rel="next"' in first.text
    link = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = admin.get(link.replace("&amp;", "&"))
    assert second.status_code == 200
    assert second.text.count("data-board=") == 1
    only = admin.get(f"/rollouts/{rollout}?state=failed")
    assert only.text.count("data-board=") == 1
    # a position that no longer reads: the list's first page, its filters kept
    stale = admin.get(f"/rollouts/{rollout}?state=failed&cursor=garbage", follow_redirects=False)
    assert stale.status_code == 303
    assert stale.headers["location"] == f"/rollouts/{rollout}?state=failed"
