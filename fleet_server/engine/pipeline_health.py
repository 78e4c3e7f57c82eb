"""The platform's own record of its broker and ingest being up (table
``pipeline_uptime``, migration 0038): without it a lone board's silence
cannot be told from our side's outage.

A process that is up calls :func:`beat` every ``every_s`` seconds — ingest
with ``"ingest"`` while it runs and ``"broker"`` while it is connected to
the broker. A beat within ``SPAN_SLACK`` beats of the last one extends that
span; a later one starts a new span, so a gap between spans is a time the
component was down (or never said it was up). Nothing else is written: a
crashed process cannot say it is down, its silence says it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from fleet_server.engine.offline_evidence import Uptime

Conn = psycopg.Connection[Any]

COMPONENTS = ("ingest", "broker")
#: a beat later than this many intervals after the span's end starts a new span
SPAN_SLACK = 2.5
#: spans older than this are deleted by the beats themselves
KEEP = timedelta(days=35)


def beat(conn: Conn, component: str, instance: str, at: datetime, every_s: float) -> None:
    """``component`` (of process ``instance``) is up at ``at``."""
    if component not in COMPONENTS:
        raise ValueError(f"unknown platform component {component!r}")
    extended = conn.execute(
        """UPDATE pipeline_uptime SET up_to = greatest(up_to, %(at)s)
            WHERE (component, instance, up_from) = (
                SELECT component, instance, up_from FROM pipeline_uptime
                 WHERE component = %(c)s AND instance = %(i)s AND up_from <= %(at)s
                 ORDER BY up_from DESC LIMIT 1)
              AND up_to >= %(at)s - %(slack)s""",
        {
            "c": component,
            "i": instance,
            "at": at,
            "slack": timedelta(seconds=every_s * SPAN_SLACK),
        },
    )
    if extended.rowcount:
        return
    conn.execute(
        "INSERT INTO pipeline_uptime (component, instance, up_from, up_to)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (component, instance, at, at),
    )
    conn.execute("DELETE FROM pipeline_uptime WHERE up_to < %s", (at - KEEP,))


def record_up(conn: Conn, instance: str, at: datetime, every_s: float, *, broker: bool) -> None:
    """Ingest process ``instance`` is up at ``at``, and so is its broker
    while it is connected to it; one transaction."""
    with conn.transaction():
        beat(conn, "ingest", instance, at, every_s)
        if broker:
            beat(conn, "broker", instance, at, every_s)


def spans(conn: Conn, start: datetime, end: datetime) -> tuple[Uptime, ...]:
    """Every component's spans that touch ``start``..``end``, with the last
    span before ``start`` of each (what it said before the window), merged
    across its instances."""
    rows = conn.execute(
        """SELECT component, up_from, up_to FROM pipeline_uptime
            WHERE up_to >= %s - interval '1 day' AND up_from <= %s
            ORDER BY component, up_from""",
        (start, end),
    ).fetchall()
    return tuple(Uptime(r[0], r[1], r[2]) for r in rows)
