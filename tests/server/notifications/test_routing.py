"""Routing rule, group keys and message planning (pure domain logic, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fleet_server.notifications.models import Notice, OutboxRow, Recipient, Route, Text
from fleet_server.notifications.routing import (
    group_key_for,
    plan_messages,
    recipients_for,
    route_matches,
)

AT = datetime(2025, 5, 20, 0, 30, tzinfo=UTC)
SO_TTTT, BQL_KKT, BDBP, UBND = 1, 2, 3, 4
MA_LU_THANG, SIN_HO = 10, 20
DEPARTMENT_DESK, GUARD_DESK, EZB_TECH, MLT_TECH, EZB_DIRECTOR = 100, 101, 102, 103, 104


def notice(**overrides: Any) -> Notice:
    values: dict[str, Any] = {
        "kind": "incident_opened",
        "severity": "major",
        "title": Text("Sự cố"),
        "occurred_at": AT,
        "organisation_id": BQL_KKT,
        "site_id": MA_LU_THANG,
        "board_id": "lc-mlt-01",
        "incident_id": 1,
        "incident_class": "technical",
        "incident_kind": "camera_unreachable",
    }
    values.update(overrides)
    return Notice(**values)


# The province's routes, as the docs describe them.
ROUTES = [
    # Information-security incidents anywhere → the Department (Điều 9.3).
    Route(1, DEPARTMENT_DESK, "email", "vi", incident_class="security"),
    # Cameras at the Economic Zone Board's border gates → Border Guard duty desk.
    Route(2, GUARD_DESK, "webhook", "vi", organisation_id=BQL_KKT, incident_kinds=("camera*",)),
    # Power and uplink at border gates → Economic Zone Board technicians.
    Route(
        3,
        EZB_TECH,
        "email",
        "vi",
        organisation_id=BQL_KKT,
        incident_class="technical",
        incident_kinds=("mains*", "battery*", "network*", "site_*"),
    ),
    # Ma Lù Thàng's own technician gets everything major or worse there.
    Route(4, MLT_TECH, "email", "en", site_id=MA_LU_THANG, min_severity="major"),
    # Escalation list of the Economic Zone Board.
    Route(5, EZB_DIRECTOR, "email", "vi", organisation_id=BQL_KKT, escalation_level=1),
]


def contacts(found: list[Recipient]) -> list[int]:
    return [r.contact_id for r in found]


def test_camera_incident_at_border_gate_goes_to_border_guard_and_site_technician() -> None:
    found = recipients_for(notice(incident_kind="camera_stream_failed"), ROUTES)
    assert contacts(found) == [GUARD_DESK, MLT_TECH]
    assert found[0].channel == "webhook"
    assert found[1].language == "en"


def test_power_and_uplink_go_to_economic_zone_technicians() -> None:
    for kind in ("mains_lost", "network_degraded", "site_outage"):
        assert contacts(recipients_for(notice(incident_kind=kind), ROUTES)) == [
            EZB_TECH,
            MLT_TECH,
        ]


def test_security_goes_to_the_department_everywhere_and_is_not_silenced_by_site_routes() -> None:
    at_district = notice(
        incident_class="security",
        incident_kind="unapproved_content",
        organisation_id=UBND,
        site_id=SIN_HO,
    )
    assert contacts(recipients_for(at_district, ROUTES)) == [DEPARTMENT_DESK]
    at_gate = notice(incident_class="security", incident_kind="unapproved_content")
    # All matching routes deliver: the site technician's route does not win over the Department's.
    assert contacts(recipients_for(at_gate, ROUTES)) == [DEPARTMENT_DESK, MLT_TECH]


def test_organisation_and_site_filters() -> None:
    camera_at_district = notice(organisation_id=UBND, site_id=SIN_HO)
    assert recipients_for(camera_at_district, ROUTES) == []
    site_route = ROUTES[3]
    assert route_matches(site_route, notice(site_id=MA_LU_THANG))
    assert not route_matches(site_route, notice(site_id=SIN_HO))


def test_minimum_severity() -> None:
    site_route = ROUTES[3]  # major or worse
    assert route_matches(site_route, notice(severity="critical"))
    assert route_matches(site_route, notice(severity="major"))
    assert not route_matches(site_route, notice(severity="minor"))
    assert not route_matches(site_route, notice(severity="warning"))
    assert route_matches(ROUTES[1], notice(severity="warning"))  # default: warning and up


def test_class_filter_needs_a_class() -> None:
    assert not route_matches(ROUTES[0], notice(incident_class=None))
    assert not route_matches(ROUTES[0], notice(incident_class="compliance"))
    assert not route_matches(ROUTES[1], notice(incident_kind=None))


def test_escalation_level_widens_the_audience() -> None:
    normal = notice(incident_kind="mains_lost")
    escalated = replace(normal, kind="incident_escalated", escalation_level=1)
    assert EZB_DIRECTOR not in contacts(recipients_for(normal, ROUTES))
    assert contacts(recipients_for(escalated, ROUTES)) == [EZB_TECH, MLT_TECH, EZB_DIRECTOR]


def test_one_recipient_per_contact_and_channel() -> None:
    routes = [
        Route(1, EZB_TECH, "email", "vi", organisation_id=BQL_KKT),
        Route(2, EZB_TECH, "email", "vi", site_id=MA_LU_THANG),
        Route(3, EZB_TECH, "webhook", "vi"),
    ]
    direct = [Recipient(EZB_TECH, "email", "vi"), Recipient(MLT_TECH, "email", "en")]
    found = recipients_for(notice(), routes, direct)
    assert [(r.contact_id, r.channel) for r in found] == [
        (EZB_TECH, "email"),
        (EZB_TECH, "webhook"),
        (MLT_TECH, "email"),
    ]


def test_group_keys() -> None:
    assert group_key_for(notice()) == f"site:{MA_LU_THANG}"
    assert group_key_for(notice(site_id=None)) is None
    assert group_key_for(notice(incident_class="security")) is None  # Điều 9.3: at once


def row(
    row_id: int, due: datetime, *, contact: int = 1, group: str | None = "site:10"
) -> OutboxRow:
    return OutboxRow(
        id=row_id,
        idempotency_key=f"k{row_id}",
        channel="email",
        contact_id=contact,
        language="vi",
        subject=f"s{row_id}",
        body_text="b",
        payload={},
        group_key=group,
        available_at=due,
        attempts=0,
        contact_name="x",
        contact_active=True,
        email="x@example.org",
        webhook_url=None,
        webhook_secret=None,
    )


def test_plan_waits_for_the_window_then_sends_the_group_together() -> None:
    window = timedelta(seconds=60)
    rows = [row(1, AT), row(2, AT + timedelta(seconds=20)), row(3, AT, group=None)]
    early = plan_messages(rows, AT + timedelta(seconds=30), window)
    assert [[r.id for r in m] for m in early] == [[3]]
    ripe = plan_messages(rows, AT + timedelta(seconds=60), window)
    assert [[r.id for r in m] for m in ripe] == [[1, 2], [3]]


def test_plan_separates_contacts_and_groups() -> None:
    rows = [row(1, AT), row(2, AT, contact=2), row(3, AT, group="site:20")]
    plan = plan_messages(rows, AT, timedelta(0))
    assert [[r.id for r in m] for m in plan] == [[1], [2], [3]]
