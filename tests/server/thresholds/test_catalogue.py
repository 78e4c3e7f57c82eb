"""The thresholds catalogue against the engine's own defaults, and the
checks an override goes through (no database)."""

from __future__ import annotations

import pytest

from fleet_server.engine.rules import RuleSettings
from fleet_server.engine.telemetry_rules import DEFAULTS
from fleet_server.errors import Invalid
from fleet_server.thresholds.catalogue import CATALOGUE, undescribed
from fleet_server.thresholds.models import check


def test_every_default_of_the_engine_is_described_or_deliberately_fixed() -> None:
    assert undescribed() == []


def test_the_catalogue_carries_the_engines_defaults() -> None:
    assert CATALOGUE["board_lost"].defaults == {
        "for_s": RuleSettings().board_lost.for_s,
        "clear_for_s": RuleSettings().board_lost.clear_for_s,
    }
    for rule, entry in CATALOGUE.items():
        if entry.kind == "telemetry":
            assert all(DEFAULTS[rule][k] == v for k, v in entry.defaults.items()), rule


def test_a_good_override_is_normalised() -> None:
    assert check(CATALOGUE, "overheating", "site", {"open_above": 80.0, "severity": "minor"}) == {
        "open_above": 80,
        "severity": "minor",
    }
    assert check(CATALOGUE, "network_degraded", "board", {"loss_open": 12.5}) == {"loss_open": 12.5}


@pytest.mark.parametrize(
    ("rule", "level", "params", "field"),
    [
        ("nope", "board", {"for_s": 1}, "rule"),
        ("site_outage", "board", {"for_s": 1}, "board_id"),
        ("disk_full", "site", {}, "params"),
        ("disk_full", "site", {"speed": 1}, "params.speed"),
        ("disk_full", "site", {"open_above": None}, "params.open_above"),
        ("disk_full", "site", {"clear_below": 95}, "params.clear_below"),
        ("overheating", "site", {"open_above": 151}, "params.open_above"),
        ("network_degraded", "site", {"rtt_open_ms": 900}, "params.rtt_clear_ms"),
        ("clock_skew", "organisation", {"max_skew_s": 0}, "params.max_skew_s"),
        ("mains_lost", "site", {"severity": 3}, "params.severity"),
    ],
)
def test_a_bad_override_names_its_field(
    rule: str, level: str, params: dict[str, object], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        check(CATALOGUE, rule, level, params)  # type: ignore[arg-type]
    assert refused.value.field == field
