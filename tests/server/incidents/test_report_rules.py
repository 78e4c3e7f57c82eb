"""What a person's report opens (Điều 9.3): the class and rule per category,
and a dedupe key the engine never takes for one of its own conditions (so it
never resolves a report — a person does)."""

from __future__ import annotations

from fleet_server.access.scope import CAMERA_RULE_PATTERN
from fleet_server.engine.keys import DedupeKey
from fleet_server.incidents.models import (
    GUARD_CATEGORIES,
    REPORT_CLASSES,
    REPORT_KEY_PREFIX,
    report_rule,
)
from fleet_server.vocabulary import INCIDENT_CLASSES


def test_each_category_opens_a_known_class_and_its_own_rule() -> None:
    assert set(REPORT_CLASSES.values()) <= set(INCIDENT_CLASSES)
    assert REPORT_CLASSES["security"] == "security"
    rules = {report_rule(c) for c in REPORT_CLASSES}
    assert len(rules) == len(REPORT_CLASSES)
    assert set(GUARD_CATEGORIES) <= set(REPORT_CLASSES)


def test_a_camera_report_is_a_camera_rule_for_the_border_guard() -> None:
    prefix = CAMERA_RULE_PATTERN.rstrip("%")
    assert report_rule("camera").startswith(prefix)
    assert not report_rule("screen").startswith(prefix)


def test_the_engine_leaves_reported_incidents_alone() -> None:
    assert DedupeKey.parse(REPORT_KEY_PREFIX + "0123456789abcdef01234567") is None
    assert DedupeKey.parse("board:lc-ma-lu-thang-01:board_lost") is not None
