"""The database's maintenance_occurrence_end (migration 0060) against the
domain rule it mirrors (``maintenance.models.occurrence_end``): one-off,
daily and weekly windows, at every edge of an occurrence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from fleet_server.maintenance.models import occurrence_end

START = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
LENGTHS = [timedelta(minutes=1), timedelta(hours=3), timedelta(hours=30), timedelta(days=8)]
#: offsets from the first start: before, at the start, inside, at and after
#: the end, and the same a period (day, week) or several later
OFFSETS = [
    timedelta(seconds=s)
    for s in (-1, 0, 1, 59, 60, 61, 3 * 3600 - 1, 3 * 3600, 10_000, 86_399, 86_400)
] + [
    timedelta(days=d, seconds=s)
    for d in (1, 2, 6, 7, 8, 14, 40, 400)
    for s in (-1, 0, 1, 60, 3 * 3600 - 1, 3 * 3600, 30 * 3600)
]


def test_the_database_and_the_engine_agree_on_every_occurrence(
    db: psycopg.Connection[Any],
) -> None:
    cases = [
        (START, START + length, recurrence, START + offset)
        for length in LENGTHS
        for recurrence in ("none", "daily", "weekly")
        for offset in OFFSETS
    ]
    rows = db.execute(
        "SELECT maintenance_occurrence_end(s, e, r, a)"
        " FROM unnest(%s::timestamptz[], %s::timestamptz[], %s::text[], %s::timestamptz[])"
        " WITH ORDINALITY AS c(s, e, r, a, n) ORDER BY n",
        [list(column) for column in zip(*cases, strict=True)],
    ).fetchall()
    got = [row[0] for row in rows]
    # before its first start a window covers nothing (the engine only asks
    # about windows that have started: ``storage.started_windows``)
    expected = [None if at < s else occurrence_end(s, e, r, at) for s, e, r, at in cases]
    assert got == expected
    # the cases reach every outcome: none, the first occurrence, a repeat
    assert None in got
    assert START + LENGTHS[1] in got
    assert START + LENGTHS[1] + timedelta(days=7) in got


def test_the_planner_inlines_it(db: psycopg.Connection[Any]) -> None:
    """Inlined, the call becomes its expression in the plan (no function
    executor per row): what makes /maintenance cheap."""
    plan = db.execute(
        "EXPLAIN (VERBOSE, COSTS OFF) SELECT maintenance_occurrence_end("
        "starts_at, ends_at, recurrence, now()) FROM maintenance_windows"
    ).fetchall()
    text = "\n".join(row[0] for row in plan)
    assert "maintenance_occurrence_end" not in text
    assert "GREATEST" in text
