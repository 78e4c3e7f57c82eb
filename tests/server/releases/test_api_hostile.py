"""/api/v1/rollouts and /api/v1/data-budgets under hostile JSON: misspelt
fields, unknown organisations and sites, 0 %, NaN, negative pauses, wave
lists too long, duplicate boards, thresholds larger than the fleet, absurd
budgets; pause and abort racing on one rollout."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tests.server.releases.support import SigningKey
from tests.server.releases.test_api import _publish

Conn = Any
BOARDS = ["lc-ma-lu-thang-01", "lc-ma-lu-thang-02"]
BODY: dict[str, Any] = {
    "version": "2.0.0",
    "target": {"board_ids": BOARDS},
    "waves": [{"count": 1}],
}


def _raw(admin: Any, text: str) -> Any:
    headers = admin.headers | {"content-type": "application/json"}
    return admin.client.post("/api/v1/rollouts", content=text.encode(), headers=headers)


def test_hostile_rollout_bodies_are_refused_naming_the_field(
    as_: Any, key: SigningKey, tmp_path: Path, db_conn: Conn
) -> None:
    admin = as_("admin")
    assert _publish(admin, key, tmp_path, "2.0.0").status_code == 201
    [[site_id, org_id]] = db_conn.execute(
        "SELECT b.site_id, s.organisation_id FROM boards b JOIN sites s ON s.id = b.site_id"
        " WHERE b.id = %s",
        (BOARDS[0],),
    )
    refusals: list[tuple[dict[str, Any], str, str]] = [
        ({"max_failure": 5}, "max_failure", "Extra inputs"),  # misspelt: not the default 0
        ({"target": {"board_ids": BOARDS, "site": [site_id]}}, "target.site", "Extra"),
        ({"waves": [{"count": 1, "percnt": 50}]}, "waves.0.percnt", "Extra"),
        ({"target": {"organisation_id": 10**9}}, "target.organisation_id", "no organisation"),
        ({"target": {"site_ids": [site_id, 999_999]}}, "target.site_ids", "999999"),
        ({"waves": [{"percent": 0}]}, "waves.0.percent", ""),
        ({"waves": [{"percent": 100, "count": 3}]}, "waves.0", "either"),
        ({"waves": [{"count": 1}] * 21}, "waves", ""),
        ({"waves": [{"count": 0}]}, "waves.0.count", ""),
        ({"pause_s": -1}, "pause_s", ""),
        ({"pause_s": 10**12}, "pause_s", ""),
        ({"max_failures": 2**63}, "max_failures", ""),
        ({"starts_at": "2026-12-07T10:00:00"}, "starts_at", "timezone"),
    ]
    for change, field, words in refusals:
        answer = admin.post("/api/v1/rollouts", json=BODY | change)
        assert answer.status_code == 422, (change, answer.text)
        errors = answer.json()["errors"]
        assert any(str(e["field"]) == field for e in errors), (change, errors)
        assert words in answer.text, (change, answer.text)
    for token in ("NaN", "Infinity", "-Infinity", "1e999"):
        answer = _raw(admin, f'{{"version": "2.0.0", "target": {{"board_ids": ["{BOARDS[0]}"]}},'
                             f' "waves": [{{"percent": {token}}}]}}')  # fmt: skip
        assert answer.status_code == 422, (token, answer.text)
    assert admin.get("/api/v1/rollouts").json() == []
    # what is sane is taken: each board once, a threshold above the fleet
    # (never aborts), an organisation and a site that exist
    many = BODY | {
        "target": {"board_ids": BOARDS * 50, "organisation_id": org_id, "site_ids": [site_id]},
        "waves": [{"count": 100_000}],
        "max_failures": 100_000,
    }
    created = admin.post("/api/v1/rollouts", json=many)
    assert created.status_code == 201, created.text
    assert sorted(b["board_id"] for b in created.json()["boards"]) == BOARDS


def test_pause_and_abort_racing_leave_one_consistent_answer(
    as_: Any, key: SigningKey, tmp_path: Path, db_conn: Conn
) -> None:
    admin = as_("admin")
    assert _publish(admin, key, tmp_path, "2.0.0").status_code == 201
    rollout = admin.post("/api/v1/rollouts", json=BODY).json()
    url = f"/api/v1/rollouts/{rollout['id']}"
    answers: dict[str, int] = {}
    start = threading.Barrier(2)

    def act(action: str) -> None:
        start.wait()
        answers[action] = admin.post(f"{url}/{action}").status_code

    threads = [threading.Thread(target=act, args=(a,)) for a in ("pause", "abort")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers["abort"] == 200  # abort applies to a paused rollout too
    assert answers["pause"] in (200, 409)
    final = admin.get(url).json()
    assert (final["state"], final["counts"]) == ("aborted", {"cancelled": 2})
    audited = [
        r[0]
        for r in db_conn.execute(
            "SELECT action FROM audit_log WHERE action IN ('rollout.pause', 'rollout.abort')"
            " ORDER BY id"
        )
    ]
    expected = ["rollout.pause", "rollout.abort"] if answers["pause"] == 200 else ["rollout.abort"]
    assert audited == expected


def test_absurd_data_budgets_are_refused(as_: Any, db_conn: Conn) -> None:
    admin = as_("admin")
    for change, field in (
        ({"monthly_bytes": 999_999}, "monthly_bytes"),
        ({"monthly_bytes": 10**15 + 1}, "monthly_bytes"),
        ({"monthly_bytes": 2**63}, "monthly_bytes"),
        ({"monthly_bytes": -(2**63)}, "monthly_bytes"),
        ({"monthly_bytes": 1.5e6 + 0.5}, "monthly_bytes"),
        ({"monthly_bytes": "5e6"}, "monthly_bytes"),
        ({"site_id": 2**62 + 1, "board_id": None}, "site_id"),
        ({"budget": 5}, "budget"),
    ):
        body = {"board_id": BOARDS[0], "monthly_bytes": 30_000_000} | change
        answer = admin.put("/api/v1/data-budgets", json=body)
        assert answer.status_code == 422, (change, answer.text)
        errors = answer.json()["errors"]
        assert any(str(e["field"]).startswith(field) for e in errors), (change, answer.text)
    assert db_conn.execute("SELECT count(*) FROM data_budgets").fetchone() == (0,)
