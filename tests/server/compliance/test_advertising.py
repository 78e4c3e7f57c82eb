"""Advertising per day and board on hand-built days (Điều 8.3: "Thời lượng
đăng phát thông tin quảng cáo thực hiện theo quy định của pháp luật về quảng
cáo"). The regulation fixes no figure: the ceiling is a setting, a share of
the day's minutes on air, and a day over it is a compliance finding."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from fleet_server.access.pagination import ListParams
from fleet_server.access.scope import Scope
from fleet_server.compliance import service
from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.models import ComplianceSettings, parse_ceilings
from fleet_server.errors import ConfigError
from fleet_server.settings import Settings
from tests.server.compliance.conftest import DAY, SHA_A, SHA_B, SHA_X, Conn, Days, at

NEXT = DAY + timedelta(days=1)
BOARD = "lc-mlt-01"


def advertising_day(days: Days, ad_minutes: int, board: str = BOARD) -> None:
    """Six hours on air: ``ad_minutes`` of approved advertising from 07:00,
    propaganda for the rest of the two three-hour blocks."""
    start = at(DAY, "07:00")
    days.samples(board, start, start + timedelta(minutes=ad_minutes), sha=SHA_B, kind="advertising")
    days.samples(board, start + timedelta(minutes=ad_minutes), at(DAY, "10:00"), sha=SHA_A)
    days.samples(board, at(DAY, "14:00"), at(DAY, "17:00"), sha=SHA_A)


def share(conn: Conn, board: str = BOARD) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT advertising_minutes, total_minutes, advertising_share_percent,"
        " advertising_ceiling_percent, advertising_ceiling_from"
        " FROM compliance_days WHERE board_id = %s AND day = %s",
        (board, DAY),
    ).fetchone()
    conn.commit()
    assert row is not None
    ad, total, pct, ceiling, source = row
    return (
        round(ad, 2),
        round(total, 2),
        None if pct is None else round(pct, 2),
        None if ceiling is None else round(ceiling, 2),
        source,
    )


def findings(conn: Conn) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT class, severity, state, board_id, dedupe_key, details FROM incidents"
        " WHERE rule = 'advertising_share_exceeded' ORDER BY id"
    ).fetchall()
    conn.commit()
    return rows


def run(job: ComplianceJob, conn: Conn, hhmm: str) -> dict[str, int]:
    done = job.run(conn, at(NEXT, hhmm))
    conn.commit()
    return done


def test_the_share_is_advertising_over_the_minutes_on_air(conn: Conn, days: Days) -> None:
    """Điều 8.3: "Thời lượng đăng phát thông tin quảng cáo thực hiện theo quy
    định của pháp luật về quảng cáo" — the share is approved advertising over
    every minute on air that day (propaganda, advertising, unapproved and
    unidentified alike), in percent; the registry says what is advertising."""
    advertising_day(days, 60)
    # 30 minutes of a file the registry does not hold: on air, not advertising
    days.samples(BOARD, at(DAY, "18:00"), at(DAY, "18:30"), sha=SHA_X, kind="advertising")
    run(ComplianceJob(ComplianceSettings()), conn, "06:00")
    # 60 / 390 minutes on air
    assert share(conn) == (60.0, 390.0, 15.38, 10.0, "fleet")


def test_nothing_on_air_has_no_share_and_no_finding(conn: Conn, days: Days) -> None:
    """Điều 8.3: a day with no minute on air has no share to judge (not 0 %,
    not 100 %) and raises nothing."""
    advertising_day(days, 60, board="lc-mlt-01")
    days.samples("lc-mlt-02", at(DAY, "07:00"), at(DAY, "17:00"), on=False)
    run(ComplianceJob(ComplianceSettings()), conn, "08:00")
    assert share(conn, "lc-mlt-02") == (0.0, 0.0, None, 10.0, "fleet")
    assert [f[3] for f in findings(conn)] == [BOARD]


@pytest.mark.parametrize("ad_minutes", [30, 36])
def test_under_or_at_the_ceiling_raises_nothing(conn: Conn, days: Days, ad_minutes: int) -> None:
    """Điều 8.3: advertising up to the configured ceiling (10 % of 360
    minutes on air is 36 minutes) is within it; only more is a finding."""
    advertising_day(days, ad_minutes)
    run(ComplianceJob(ComplianceSettings()), conn, "08:00")
    assert share(conn)[2] == round(100 * ad_minutes / 360, 2)
    assert findings(conn) == []


def test_over_the_ceiling_raises_one_finding_the_next_morning(conn: Conn, days: Days) -> None:
    """Điều 8.3: a day whose advertising exceeds the ceiling raises one
    compliance finding at the report hour of the next morning, naming the
    share and which ceiling applied; later runs raise nothing more."""
    advertising_day(days, 40)  # 11.11 % of 360 minutes
    job = ComplianceJob(ComplianceSettings())
    run(job, conn, "00:10")
    run(job, conn, "06:59")
    assert findings(conn) == []
    assert run(job, conn, "07:00")["advertising"] == 1
    assert run(job, conn, "07:30")["advertising"] == 0
    [(klass, severity, state, board, key, details)] = findings(conn)
    assert (klass, severity, state, board) == ("compliance", "minor", "open", BOARD)
    assert key == f"advertising:{BOARD}:{DAY}"
    assert details["advertising_share_percent"] == 11.11
    assert details["ceiling_percent"] == 10.0
    assert details["ceiling_from"] == "fleet"
    assert (details["advertising_minutes"], details["minutes_on_air"]) == (40.0, 360.0)
    # advertising never counts toward Điều 8.1: 140 counted minutes in the
    # morning, some of it unknown, so no broadcast incident; 8.3 stands alone
    assert days.day(BOARD, DAY)["status"] == "unknown"
    assert conn.execute("SELECT count(*) FROM incidents").fetchone() == (1,)


def test_late_data_that_brings_it_under_clears_the_finding_once(conn: Conn, days: Days) -> None:
    """Điều 8.3: the share is of the whole day on air; propaganda that
    arrives late (spooled on the board) lowers it, and the finding is
    resolved through the incident lifecycle, once, and not raised again; the
    notice queued for the opening is cancelled before anybody was told."""
    contact = conn.execute(
        "INSERT INTO contacts (name, email) VALUES ('Sở TT&TT', 'so@example.vn') RETURNING id"
    ).fetchone()
    conn.execute(
        "INSERT INTO notification_routes (incident_class, min_severity, channel, contact_id)"
        " VALUES ('compliance', 'minor', 'email', %s)",
        (contact[0],),  # type: ignore[index]
    )
    conn.commit()
    advertising_day(days, 40)
    job = ComplianceJob(ComplianceSettings())
    run(job, conn, "07:05")
    assert [f[2] for f in findings(conn)] == ["open"]
    # the evening, two hours of propaganda, arrives now: 40 / 480 = 8.33 %
    days.samples(BOARD, at(DAY, "19:00"), at(DAY, "21:00"), sha=SHA_A)
    run(job, conn, "08:00")
    assert share(conn)[2] == 8.33
    assert [f[2] for f in findings(conn)] == ["resolved"]
    note = conn.execute(
        "SELECT e.note FROM incident_events e JOIN incidents i ON i.id = e.incident_id"
        " WHERE i.rule = 'advertising_share_exceeded' AND e.kind = 'resolved'"
    ).fetchall()
    assert note == [(f"{BOARD} on {DAY}: advertising is now 8.3 % (ceiling 10 %)",)]
    run(job, conn, "09:00")
    assert [f[2] for f in findings(conn)] == ["resolved"]
    outbox = conn.execute(
        "SELECT o.kind, o.state FROM notification_outbox o JOIN incidents i"
        " ON i.id = o.incident_id WHERE i.rule = 'advertising_share_exceeded' ORDER BY o.id"
    ).fetchall()
    assert outbox == [("incident_opened", "cancelled")]


def test_a_site_override_wins_over_its_organisation_and_the_fleet(conn: Conn, days: Days) -> None:
    """Điều 8.3 defers to the law on advertising, which the managing agency
    applies per unit: a ceiling set for the site wins over its
    organisation's, which wins over the fleet's, and the day names it."""
    advertising_day(days, 60, board="lc-mlt-01")  # 16.67 %
    by_org = ComplianceSettings(advertising_ceilings=((("organisation", "bqlkkt"), 20.0),))
    run(ComplianceJob(by_org), conn, "08:00")
    assert share(conn)[3:] == (20.0, "organisation:bqlkkt")
    assert findings(conn) == []
    conn.execute("DELETE FROM compliance_days")
    conn.execute("DELETE FROM job_cursors")
    conn.commit()
    by_site = ComplianceSettings(
        advertising_ceilings=(
            (("organisation", "bqlkkt"), 20.0),
            (("site", "ma-lu-thang"), 15.0),
        )
    )
    run(ComplianceJob(by_site), conn, "08:00")
    assert share(conn)[3:] == (15.0, "site:ma-lu-thang")
    [(*_, details)] = findings(conn)
    assert (details["ceiling_percent"], details["ceiling_from"]) == (15.0, "site:ma-lu-thang")


def test_a_ceiling_for_another_site_does_not_apply(conn: Conn, days: Days) -> None:
    """Điều 8.3: an override covers the site or organisation it names only."""
    advertising_day(days, 60)
    settings = ComplianceSettings(advertising_ceilings=((("site", "mu-ca"), 50.0),))
    run(ComplianceJob(settings), conn, "08:00")
    assert share(conn)[3:] == (10.0, "fleet")
    assert len(findings(conn)) == 1


def test_the_settings_give_the_job_its_ceilings() -> None:
    """Điều 8.3: the fleet's ceiling and its overrides come from the
    environment (FLEET_COMPLIANCE_ADVERTISING_CEILING_*)."""
    settings = Settings(
        compliance_advertising_ceiling_percent=12.5,
        compliance_advertising_ceiling_overrides="organisation:bqlkkt=20, site:ma-lu-thang=5%",
    ).compliance_settings()
    assert settings.advertising_ceiling_percent == 12.5
    assert settings.advertising_ceilings == (
        (("organisation", "bqlkkt"), 20.0),
        (("site", "ma-lu-thang"), 5.0),
    )
    assert Settings().compliance_settings().advertising_ceilings == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("ma-lu-thang=5", "write organisation:<code>=<percent> or site:<code>=<percent>"),
        ("site:ma-lu-thang", "write organisation:<code>=<percent> or site:<code>=<percent>"),
        ("district:phong-tho=5", "district:phong-tho: not organisation:<code> or site:<code>"),
        ("site:Ma-Lu=5", "site:Ma-Lu: not organisation:<code> or site:<code>"),
        ("site:ma-lu-thang=five", "'five' is not a number"),
        ("site:ma-lu-thang=150", "150.0 is not a percentage between 0 and 100"),
        ("site:ma-lu-thang=-1", "-1.0 is not a percentage between 0 and 100"),
        ("site:ma-lu-thang=nan", "is not a percentage between 0 and 100"),
        ("site:ma-lu-thang=5,site:ma-lu-thang=6", "site:ma-lu-thang is given twice"),
    ],
)
def test_bad_overrides_are_refused_naming_the_entry(overrides: str, message: str) -> None:
    """Điều 8.3: a ceiling nobody could mean is refused when the server
    starts, with the setting and the entry named, never applied quietly."""
    with pytest.raises(ValidationError) as excinfo:
        Settings(compliance_advertising_ceiling_overrides=overrides)
    assert "FLEET_COMPLIANCE_ADVERTISING_CEILING_OVERRIDES" in str(excinfo.value)
    assert message in str(excinfo.value)
    with pytest.raises(ConfigError, match="advertising ceiling"):
        parse_ceilings(overrides)


@pytest.mark.parametrize("percent", [-0.5, 100.5, float("nan")])
def test_a_bad_fleet_ceiling_is_refused(percent: float) -> None:
    """Điều 8.3: the fleet's ceiling is a percentage between 0 and 100."""
    with pytest.raises(ValidationError, match="compliance_advertising_ceiling_percent"):
        Settings(compliance_advertising_ceiling_percent=percent)
    with pytest.raises(ConfigError, match="is not a percentage between 0 and 100"):
        ComplianceSettings(advertising_ceiling_percent=percent)
    with pytest.raises(ConfigError, match="advertising ceiling for site:mu-ca"):
        ComplianceSettings(advertising_ceilings=((("site", "mu-ca"), percent),))


def test_the_api_model_carries_the_share_and_its_ceiling(conn: Conn, days: Days) -> None:
    """Điều 8.3: what the API and console read of a day says its share, the
    ceiling it was judged with and where that came from; the reports page
    lists a day over its ceiling even when the broadcast minimum was met."""
    days.samples(BOARD, at(DAY, "07:00"), at(DAY, "10:00"), sha=SHA_A)
    days.samples(BOARD, at(DAY, "11:00"), at(DAY, "12:00"), sha=SHA_B, kind="advertising")
    days.samples(BOARD, at(DAY, "14:00"), at(DAY, "17:00"), sha=SHA_A)
    run(ComplianceJob(ComplianceSettings()), conn, "08:00")
    page = service.compliance_days(
        conn,
        Scope(province_wide=True),
        ListParams(limit=10, offset=0, sort=None),
        at(NEXT, "08:00"),
        first=DAY,
        last=DAY,
        board_id=BOARD,
    )
    [day] = page.items
    assert (
        day.advertising_minutes,
        day.advertising_share_percent,
        day.advertising_ceiling_percent,
        day.advertising_ceiling_from,
    ) == (60.0, 14.29, 10.0, "fleet")
    recent = service.recent(conn, Scope(province_wide=True), at(NEXT, "08:00"), 7)
    assert recent.advertising_over == 1
    [problem] = [p for p in recent.problems if p[1] == BOARD]
    assert (problem[4], round(problem[8], 2), problem[9]) == ("compliant", 14.29, 10.0)
