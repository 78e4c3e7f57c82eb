"""Fleet state read from PostgreSQL at scrape time.

Nothing here runs on a timer: each scrape runs three short queries (boards
by state, unresolved incidents, the notification outbox) in one read-only
transaction with a statement timeout, so a slow database makes one scrape
fail, not pile up. When the database cannot be reached the scrape still
answers, with ``fleet_database_up 0`` and without the fleet families.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fleet_server.errors import DatabaseUnavailable
from fleet_server.vocabulary import SEVERITIES

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
ConnectionSource = Callable[[], AbstractContextManager[Conn]]

#: board_status states, and "disabled" for a board switched off by an operator
BOARD_STATES = ("online", "offline", "lost", "stale", "unknown", "disabled")
INCIDENT_CLASSES = ("technical", "security", "compliance")
OUTBOX_STATES = ("pending", "sending")

# Removed boards keep their row (history) but are no longer part of the fleet.
_BOARDS_SQL = """
SELECT o.code, s.code,
       CASE WHEN NOT b.enabled THEN 'disabled' ELSE coalesce(st.state, 'unknown') END,
       count(*)
FROM boards b
JOIN sites s ON s.id = b.site_id
JOIN organisations o ON o.id = s.organisation_id
LEFT JOIN board_status st ON st.board_id = b.id
WHERE b.removed_at IS NULL
GROUP BY 1, 2, 3
"""
_INCIDENTS_SQL = """
SELECT class, severity, count(*) FROM incidents WHERE state <> 'resolved' GROUP BY 1, 2
"""
_OUTBOX_SQL = """
SELECT state, count(*) FROM notification_outbox
WHERE state IN ('pending', 'sending') GROUP BY 1
"""
_OLDEST_DUE_SQL = """
SELECT coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)
FROM notification_outbox WHERE state = 'pending' AND next_attempt_at <= now()
"""


# TimescaleDB's compression, retention and rollup jobs; none on plain PostgreSQL.
_TIMESCALE_SQL = "SELECT to_regclass('timescaledb_information.job_stats') IS NOT NULL"
_TIMESCALE_JOBS_SQL = """
SELECT count(*) FROM timescaledb_information.job_stats WHERE last_run_status = 'Failed'
"""
# When the compliance job last went through its late data (docs/compliance.md).
_COMPLIANCE_SQL = """
SELECT coalesce(extract(epoch FROM max(updated_at)), 0) FROM job_cursors
WHERE name = 'compliance_stored'
"""


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "boards": GaugeMetricFamily(
            "fleet_boards",
            "Boards by connectivity state, organisation and site (as the engine decided it).",
            labels=["organisation", "site", "state"],
        ),
        "incidents": GaugeMetricFamily(
            "fleet_incidents_open",
            "Incidents not resolved yet (open or acknowledged), by class and severity.",
            labels=["class", "severity"],
        ),
        "outbox": GaugeMetricFamily(
            "fleet_notification_outbox_depth",
            "Notification outbox rows waiting to be sent (pending) or being sent.",
            labels=["state"],
        ),
        "oldest_due": GaugeMetricFamily(
            "fleet_notification_outbox_oldest_due_seconds",
            "How long the oldest pending outbox row has been due (0: none is due).",
        ),
        "timescale_jobs": GaugeMetricFamily(
            "fleet_timescaledb_jobs_failed",
            "TimescaleDB background jobs (compression, retention, rollups) whose last run"
            " failed; 0 on plain PostgreSQL.",
        ),
        "compliance": GaugeMetricFamily(
            "fleet_compliance_last_run_timestamp_seconds",
            "When the compliance job last read the new display data (Unix time; 0: never).",
        ),
    }


def _status_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "fleet_database_up", "1 if the last scrape could read the fleet state from PostgreSQL."
        ),
        GaugeMetricFamily(
            "fleet_database_scrape_duration_seconds",
            "Time the last scrape spent reading the fleet state from PostgreSQL.",
        ),
    )


class DatabaseCollector(Collector):
    """A custom collector: the fleet's state as PostgreSQL has it, per scrape.

    ``connection`` gives a connection as a context manager (a pool's
    ``connection()``, or ``psycopg.connect``); ``timeout_s`` caps each query.
    """

    def __init__(self, connection: ConnectionSource, *, timeout_s: float = 5.0) -> None:
        self._connection = connection
        self._timeout_ms = max(1, int(timeout_s * 1000))
        self._was_up = True

    def describe(self) -> Iterator[Metric]:
        # Registration asks for the names: answer without touching the database.
        yield from _families().values()
        yield from _status_families()

    def collect(self) -> Iterator[Metric]:
        up, duration = _status_families()
        started = time.perf_counter()
        try:
            families = self._read()
        except (psycopg.Error, DatabaseUnavailable) as exc:
            if self._was_up:
                log.warning("metrics: cannot read the fleet state: %s", str(exc).strip()[:300])
            self._was_up = False
            up.add_metric([], 0)
            duration.add_metric([], time.perf_counter() - started)
            yield up
            yield duration
            return
        if not self._was_up:
            log.info("metrics: the fleet state can be read again")
        self._was_up = True
        up.add_metric([], 1)
        duration.add_metric([], time.perf_counter() - started)
        yield from families
        yield up
        yield duration

    def _read(self) -> list[Metric]:
        f = _families()
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute(
                "SELECT set_config('statement_timeout', %s, true)", (str(self._timeout_ms),)
            )
            boards = conn.execute(_BOARDS_SQL).fetchall()
            incidents = conn.execute(_INCIDENTS_SQL).fetchall()
            outbox = dict(conn.execute(_OUTBOX_SQL).fetchall())
            oldest = conn.execute(_OLDEST_DUE_SQL).fetchone()
            timescale_failed = (
                conn.execute(_TIMESCALE_JOBS_SQL).fetchone()
                if conn.execute(_TIMESCALE_SQL).fetchone() == (True,)
                else None
            )
            compliance = conn.execute(_COMPLIANCE_SQL).fetchone()
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for organisation, site, state, count in boards:
            counts.setdefault((organisation, site), {})[state] = int(count)
        # Every state of every site, zeros included: a series that vanishes
        # when its last board leaves a state would break rates and alerts.
        for (organisation, site), by_state in sorted(counts.items()):
            for state in BOARD_STATES:
                f["boards"].add_metric([organisation, site, state], by_state.get(state, 0))
        open_ = {(str(c), str(s)): int(n) for c, s, n in incidents}
        for incident_class in INCIDENT_CLASSES:
            for severity in SEVERITIES:
                f["incidents"].add_metric(
                    [incident_class, severity], open_.get((incident_class, severity), 0)
                )
        for state in OUTBOX_STATES:
            f["outbox"].add_metric([state], int(outbox.get(state, 0)))
        f["oldest_due"].add_metric([], float(oldest[0]) if oldest else 0.0)
        f["timescale_jobs"].add_metric([], int(timescale_failed[0]) if timescale_failed else 0)
        f["compliance"].add_metric([], float(compliance[0]) if compliance else 0.0)
        return list(f.values())
