"""The registry and the engine together: a board showing a file nobody
approved is a security incident naming the board, the hash and when it began;
approving the hash through the registry's service (what the API and the CLI
call) clears it; retiring a file a board still shows raises it again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import fleet_protocol as fp
from fleet_server.access.principal import Actor
from fleet_server.content import service
from fleet_server.content.models import NewContent
from fleet_server.engine.service import Engine
from tests.server.engine.conftest import Conn, Store
from tests.support.clock import Clock

BOARD = "lc-muong-te-01"
SHA = "e7" * 32
ADMIN = Actor("quan.tri", address="127.0.0.1")


def show(store: Store, clock: Clock, sha: str, started: datetime) -> None:
    """One display sample, measured now: the screen on, playing ``sha``
    since ``started``."""
    store.reading(
        BOARD,
        fp.TelemetryKind.DISPLAY,
        fp.DisplayData(
            screen_on=True,
            player_running=True,
            content_id="clip-ban-dem",
            content_kind="propaganda",
            content_sha256=sha,
            content_started_at=started,
        ),
    )


def incidents(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT id, rule, class, severity, state, board_id, details FROM incidents"
        " WHERE rule = 'content_unapproved' ORDER BY id"
    ).fetchall()


def test_approving_the_hash_resolves_the_incident(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    started = clock() - timedelta(minutes=2)
    store.state(BOARD, "online")
    show(store, clock, SHA, started)
    engine.evaluate(engine_conn)
    [(incident_id, rule, klass, severity, state, board, details)] = incidents(engine_conn)
    assert (rule, klass, severity, state, board) == (
        "content_unapproved",
        "security",
        "critical",
        "open",
        BOARD,
    )
    assert details["sha256"] == SHA
    assert datetime.fromisoformat(details["started_at"]) == started
    assert details["why"] == "not in the approved registry"

    # Sở TT&TT approves the file, valid from before it went on screen
    approved = service.approve(
        engine_conn,
        NewContent(
            title="Phòng chống ma túy",
            kind="propaganda",
            language="hni",
            sha256=SHA,
            valid_from=started - timedelta(hours=1),
        ),
        ADMIN,
        clock(),
    )
    clock.advance(1)
    engine.evaluate(engine_conn)  # the next pass sees it approved: the condition clears
    assert incidents(engine_conn)[0][4] == "open"  # content_unapproved clears after 60 s
    clock.advance(60)
    engine.evaluate(engine_conn)
    [(same_id, *_rest, state, _board, _details)] = incidents(engine_conn)
    assert (same_id, state) == (incident_id, "resolved")

    # retired while the board still shows it: the incident is back (reopened,
    # as the engine does within 15 minutes of resolving one)
    service.retire(engine_conn, approved.id, ADMIN, clock())
    clock.advance(5)
    show(store, clock, SHA, started)
    engine.evaluate(engine_conn)
    [(same_id, *_rest, state, _board, _details)] = incidents(engine_conn)
    assert (same_id, state) == (incident_id, "open")
    events = engine_conn.execute(
        "SELECT kind FROM incident_events WHERE incident_id = %s ORDER BY id", (incident_id,)
    ).fetchall()
    assert [e[0] for e in events][-2:] == ["resolved", "reopened"]
