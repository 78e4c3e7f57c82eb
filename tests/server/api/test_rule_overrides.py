"""Rule thresholds through the API: the catalogue with its defaults, an
administrator setting and clearing overrides per organisation, site and
board (audited), every refusal naming what is wrong, and the engine reading
an organisation's override as each of its sites' (the site's own beats it,
threshold by threshold)."""

from __future__ import annotations

from typing import Any

import pytest

from fleet_server.engine.storage import rule_overrides
from tests.server.api.conftest import audit_actions
from tests.support import seed

URL = "/api/v1/rule-overrides"
BOARD = "lc-ma-lu-thang-01"


def test_the_catalogue_gives_each_rule_its_defaults_units_and_ranges(as_: Any) -> None:
    rules = {r["rule"]: r for r in as_("admin").get("/api/v1/rules").json()}
    battery = {p["name"]: p for p in rules["battery_low"]["params"]}
    assert battery["open_below"] == {
        "name": "open_below",
        "unit": "percent",
        "default": 30,
        "low": 0,
        "high": 100,
        "integer": False,
    }
    assert battery["severity"]["default"] == "critical"
    assert rules["site_outage"]["levels"] == ["organisation", "site"]
    assert [p["name"] for p in rules["board_lost"]["params"]] == ["for_s", "clear_for_s"]
    assert "content_unapproved" not in rules  # judged at once, always (Điều 9.3)
    assert "window_s" not in {p["name"] for p in rules["network_degraded"]["params"]}
    assert rules["battery_low"]["title_vi"] == "Pin UPS yếu"


def test_an_admin_sets_replaces_and_clears_an_override(as_: Any, db_conn: Any) -> None:
    admin = as_("admin")
    body = {"rule": "battery_low", "board_id": BOARD, "params": {"open_below": 25, "for_s": 60}}
    first = admin.put(URL, json=body)
    assert first.status_code == 200, first.text
    assert first.json()["level"] == "board"
    assert first.json()["params"] == {"open_below": 25, "for_s": 60}
    assert first.json()["updated_by"] == "quan.tri"
    again = admin.put(URL, json={**body, "params": {"clear_above": 50}})
    assert again.json()["id"] == first.json()["id"]  # one override per rule and target
    assert again.json()["params"] == {"clear_above": 50}
    listed = admin.get(URL, params={"rule": "battery_low"}).json()
    assert [o["id"] for o in listed] == [first.json()["id"]]
    assert listed[0]["target_name"]
    assert admin.delete(f"{URL}/{first.json()['id']}").status_code == 204
    assert admin.get(f"{URL}/{first.json()['id']}").status_code == 404
    assert admin.delete(f"{URL}/{first.json()['id']}").status_code == 404
    actions = [a for a in audit_actions(db_conn) if a[1] != "login"]
    assert actions == [
        ("quan.tri", "rule_override.set"),
        ("quan.tri", "rule_override.set"),
        ("quan.tri", "rule_override.clear"),
    ]
    before, after = db_conn.execute(
        "SELECT before, after FROM audit_log WHERE action = 'rule_override.set' ORDER BY id DESC"
    ).fetchone()
    assert before["params"] == {"open_below": 25, "for_s": 60}
    assert after["params"] == {"clear_above": 50}


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"rule": "no_such_rule", "params": {"for_s": 1}}, 400, "unknown rule"),
        ({"rule": "content_unapproved", "params": {"for_s": 1}}, 400, "unknown rule"),
        ({"params": {"open_above": 50}}, 400, "has no threshold 'open_above'"),
        ({"params": {"window_s": 60}}, 400, "has no threshold 'window_s'"),
        ({"params": {}}, 400, "at least one threshold"),
        ({"params": {"open_below": "30"}}, 400, "not a number"),
        ({"params": {"open_below": True}}, 400, "not a number"),
        ({"params": {"open_below": 130}}, 400, "outside 0..100"),
        ({"params": {"for_s": -1}}, 400, "outside"),
        ({"params": {"for_s": 8 * 86_400}}, 400, "outside"),
        ({"params": {"severity": "catastrophic"}}, 400, "not a severity"),
        ({"params": {"open_below": 45}}, 400, "wrong side"),  # clears above 40 by default
        ({"params": {"open_below": 20, "clear_above": 10}}, 400, "wrong side"),
        ({"rule": "agent_restarting", "params": {"boots_per_hour": 2.5}}, 400, "whole number"),
        ({"rule": "site_outage", "params": {"for_s": 60}}, 400, "not set per board"),
        ({"site_id": 1}, 422, "exactly one"),
        ({"board_id": None}, 422, "exactly one"),
        ({"board_id": "lc-nowhere-01"}, 404, "not found"),
    ],
)
def test_a_bad_override_is_refused_naming_the_problem(
    as_: Any, body: dict[str, Any], status: int, names: str
) -> None:
    sent = {"rule": "battery_low", "board_id": BOARD, "params": {"for_s": 30}, **body}
    answer = as_("admin").put(URL, json={k: v for k, v in sent.items() if v is not None})
    assert answer.status_code == status, answer.text
    assert names in answer.json()["detail"]


def test_only_administrators_read_and_set_thresholds(as_: Any) -> None:
    body = {"rule": "battery_low", "board_id": BOARD, "params": {"for_s": 30}}
    for key in ("operator", "technician", "viewer", "guard", "province"):
        assert as_(key).put(URL, json=body).status_code == 403, key
        assert as_(key).get(URL).status_code == 403, key
        assert as_(key).get("/api/v1/rules").status_code == 403, key


def test_the_engine_reads_an_organisations_override_under_its_sites_own(
    as_: Any, db_conn: Any
) -> None:
    admin = as_("admin")
    org = seed.organisation_id(db_conn, "bql-kkt")
    site = seed.site_of_board(db_conn, BOARD)
    org_body = {
        "rule": "mains_lost",
        "organisation_id": org,
        "params": {"for_s": 600, "clear_for_s": 30},
    }
    assert admin.put(URL, json=org_body).status_code == 200
    site_body = {"rule": "mains_lost", "site_id": site, "params": {"for_s": 120}}
    assert admin.put(URL, json=site_body).status_code == 200
    sites, boards = rule_overrides(db_conn)
    assert sites[site]["mains_lost"] == {"for_s": 120, "clear_for_s": 30}
    other_sites = [s for s in seed.sites_of_kind(db_conn, "border_gate") if s != site]
    assert other_sites
    assert sites[other_sites[0]]["mains_lost"] == {"for_s": 600, "clear_for_s": 30}
    assert boards == {}
