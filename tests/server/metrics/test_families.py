"""Registries of their own, message kinds, and the documentation of every family."""

from __future__ import annotations

import pytest

from fleet_server.metrics import (
    ApiMetrics,
    EngineMetrics,
    IngestMetrics,
    NotificationMetrics,
    message_kind,
    new_registry,
    render,
)
from tests.support import messages as m
from tests.support.metrics import documented, parse


def test_each_registry_is_its_own() -> None:
    first, second = IngestMetrics(new_registry()), IngestMetrics(new_registry())
    first.messages.labels("heartbeat").inc(5)
    assert (
        first.registry.get_sample_value("fleet_ingest_messages_total", {"kind": "heartbeat"}) == 5
    )
    assert (
        second.registry.get_sample_value("fleet_ingest_messages_total", {"kind": "heartbeat"}) == 0
    )
    # What a shared (global) registry would do to a second service:
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        IngestMetrics(first.registry)


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        (m.heartbeat()[0], "heartbeat"),
        (m.power()[0], "power"),
        (m.state()[0], "state"),
        ("fleet/v1/lc-mlt-01/event/mains_lost", "event"),
        ("fleet/v1/lc-mlt-01/cmd_result", "cmd_result"),
        ("fleet/v1/lc-mlt-01/config/reported", "config_reported"),
        ("fleet/v1/lc-mlt-01/logs", "logs"),
        ("fleet/v1/lc-mlt-01/telemetry/bogus", "other"),
        ("somewhere/else", "other"),
    ],
)
def test_message_kind(topic: str, kind: str) -> None:
    assert message_kind(topic) == kind


def test_the_documentation_lists_every_family_with_its_type_and_labels() -> None:
    registry = new_registry(process=False)
    for group in (ApiMetrics, EngineMetrics, IngestMetrics, NotificationMetrics):
        group(registry)
    body, _ = render(registry)
    page = parse(body.decode())
    doc = documented()
    for name, family in page.families.items():
        if name.endswith("_created"):
            continue
        assert name in doc, f"docs/metrics.md does not list {name}"
        assert doc[name].type == family.type, name
        labels = {k for s in family.samples for k in s.labels} - {"le"}
        # families without samples yet (labelled, nothing observed) show no labels
        assert labels <= doc[name].labels, name
