"""The database collector against a real PostgreSQL, and one that cannot be reached."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager

import psycopg
import pytest

from fleet_server.db.connect import connect
from fleet_server.metrics import DatabaseCollector, new_registry, render
from fleet_server.metrics.collector import Conn
from tests.support.metrics import Scrape, parse
from tests.support.ports import free_port

FLEET_FAMILIES = {
    "fleet_boards",
    "fleet_incidents_open",
    "fleet_notification_outbox_depth",
    "fleet_notification_outbox_oldest_due_seconds",
    "fleet_timescaledb_jobs_failed",
    "fleet_compliance_last_run_timestamp_seconds",
}


class Source:
    """Connections to ``url``, counted; the URL can be changed to simulate an outage."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.calls = 0

    def __call__(self) -> AbstractContextManager[Conn]:
        self.calls += 1
        return connect(self.url, timeout=2)


def scrape_with(collector: DatabaseCollector) -> Scrape:
    registry = new_registry(process=False)
    registry.register(collector)
    body, content_type = render(registry)
    assert content_type.startswith("text/plain")
    return parse(body.decode())


@pytest.fixture
def nowhere() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/fleet"


def test_registering_does_not_touch_the_database(nowhere: str) -> None:
    source = Source(nowhere)
    new_registry(process=False).register(DatabaseCollector(source))
    assert source.calls == 0


def test_an_empty_fleet_has_zero_incidents_and_no_board_series(db_url: str) -> None:
    page = scrape_with(DatabaseCollector(Source(db_url)))
    assert page.value("fleet_database_up") == 1
    assert page.value("fleet_database_scrape_duration_seconds") > 0
    assert page.total("fleet_boards") == 0
    assert page.total("fleet_incidents_open") == 0
    assert len(page.families["fleet_incidents_open"].samples) == 12  # 3 classes x 4 severities
    assert page.value("fleet_notification_outbox_oldest_due_seconds") == 0


def test_an_unreachable_database_is_reported_not_raised(
    db_url: str, nowhere: str, caplog: pytest.LogCaptureFixture
) -> None:
    source = Source(nowhere)
    collector = DatabaseCollector(source)
    with caplog.at_level(logging.WARNING, logger="fleet_server.metrics.collector"):
        first, second = scrape_with(collector), scrape_with(collector)
    for page in (first, second):
        assert page.value("fleet_database_up") == 0
        assert not FLEET_FAMILIES & set(page.families)
    assert len(caplog.records) == 1  # said once, not at every scrape

    source.url = db_url  # the database is back
    back = scrape_with(collector)
    assert back.value("fleet_database_up") == 1
    assert set(back.families) >= FLEET_FAMILIES


def test_a_slow_query_fails_the_scrape_instead_of_hanging_it(db_url: str) -> None:
    with psycopg.connect(db_url) as holder:
        holder.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
        page = scrape_with(DatabaseCollector(Source(db_url), timeout_s=0.2))
        holder.rollback()
    assert page.value("fleet_database_up") == 0
    assert page.value("fleet_database_scrape_duration_seconds") < 5


def test_compliance_job_and_timescaledb_jobs(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        timescale = conn.execute(
            "SELECT to_regclass('timescaledb_information.job_stats') IS NOT NULL"
        ).fetchone() == (True,)
        failed = (
            conn.execute(
                "SELECT count(*) FROM timescaledb_information.job_stats"
                " WHERE last_run_status = 'Failed'"
            ).fetchone()[0]  # type: ignore[index]
            if timescale
            else 0
        )
    page = scrape_with(DatabaseCollector(Source(db_url)))
    assert page.value("fleet_compliance_last_run_timestamp_seconds") == 0
    # 0 on plain PostgreSQL; on TimescaleDB what job_stats says
    assert page.value("fleet_timescaledb_jobs_failed") == failed
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO job_cursors (name, position, updated_at)"
            " VALUES ('compliance_stored', now(), '2026-11-28T08:00:00Z')"
        )
    page = scrape_with(DatabaseCollector(Source(db_url)))
    assert page.value("fleet_compliance_last_run_timestamp_seconds") == 1_795_852_800
