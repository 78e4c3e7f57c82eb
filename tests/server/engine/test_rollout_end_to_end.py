"""Rollouts end to end (issue 19): real Mosquitto, real ingest, the real
engine, the API process serving the artifacts and publishing the commands
(uvicorn), and four boards as real processes (supervisor, boot guard,
release launcher: tests/support/board_process.py).

Two rollouts run side by side:

- 1.1.0 to three boards in two waves; the second board of the first wave is
  inside its site's broadcast window when the rollout starts, so it waits
  and is sent the update only once the window has ended; all three end
  healthy, their births carrying the new agent_version;
- a broken 1.2.0 (its agent exits at start) to two boards, one per wave: the
  first rolls itself back after its crash loop, the rollout aborts at its
  threshold (no failure allowed) and the second board never gets the command.
"""

from __future__ import annotations

import threading
import time as wall
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from psycopg_pool import ConnectionPool

from fleet_server.access.principal import Actor
from fleet_server.api.app import create_app
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.localtime import LOCAL_TZ
from fleet_server.releases import service as releases
from fleet_server.rollouts import service as rollouts
from fleet_server.rollouts.job import FILES_PATH, RolloutSettings
from fleet_server.rollouts.schemas import RolloutDetail, RolloutIn
from fleet_server.settings import Settings
from tests.server.ingest.conftest import make_settings, running  # noqa: F401 - fixture
from tests.server.rollouts.conftest import ADMIN
from tests.support import seed
from tests.support.board_process import (
    Board,
    Release,
    SigningKey,
    broken_sources,
    release,
    signing_key,
)
from tests.support.board_process import running as board_running
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port
from tests.support.wait import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.isolated]

Conn = psycopg.Connection[Any]
#: the broadcast window of e2e-2's site ends this long after the rollouts start
WINDOW_LEFT = timedelta(seconds=12)
#: board -> site; e2e-2's site has the window
BOARDS = {"e2e-0": "site-a", "e2e-1": "site-a", "e2e-2": "site-b", "e2e-3": "site-a"}


@dataclass(frozen=True)
class Signed:
    key: SigningKey
    first: Release
    good: Release
    broken: Release


@pytest.fixture
def signed(tmp_path: Path) -> Signed:
    key = signing_key(tmp_path / "keys")
    out = tmp_path / "dist"
    return Signed(
        key,
        release("1.0.0", out, key),
        release("1.1.0", out, key),
        release("1.2.0", out, key, broken_sources(tmp_path / "broken")),
    )


def _api(settings: Settings, stack: ExitStack) -> str:
    """The API process (artifacts, the command retry) on a free port."""
    port = free_port()
    pool = stack.enter_context(ConnectionPool(settings.database_url, min_size=1, max_size=4))
    app = create_app(settings, pool=pool, broker_check=lambda: None, console=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="api-uvicorn", daemon=True)
    thread.start()
    stack.callback(thread.join, 10)
    stack.callback(setattr, server, "should_exit", True)
    wait_for(lambda: server.started or not thread.is_alive(), timeout=20, what="uvicorn")
    assert server.started
    return f"http://127.0.0.1:{port}"


def _engine(url: str, base_url: str, stack: ExitStack) -> None:
    settings = RolloutSettings(base_url=base_url, every_s=0.3, window_margin_s=0)
    engine = Engine(url, EngineSettings(tick_s=0.3, rollouts=settings))
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_forever, args=(stop,), name="engine")
    thread.start()
    stack.callback(thread.join, 15)
    stack.callback(stop.set)
    assert engine.is_leader.wait(10)


def window_delay(now: datetime) -> timedelta:
    """How long to wait before the window is set: broadcast windows are
    times of one local day, so a window from ``now`` to ``now + WINDOW_LEFT``
    cannot cross local midnight; within WINDOW_LEFT before it, wait for the
    new day (at most WINDOW_LEFT, only then)."""
    local = now.astimezone(LOCAL_TZ)
    end = local + WINDOW_LEFT
    if end.date() == local.date():
        return timedelta(0)
    return datetime.combine(end.date(), time(0), LOCAL_TZ) - local + timedelta(milliseconds=200)


@pytest.mark.parametrize(
    ("local", "delay"),
    [
        (datetime(2026, 12, 7, 12, 0, tzinfo=LOCAL_TZ), timedelta(0)),
        (datetime(2026, 12, 7, 23, 59, 47, 900_000, tzinfo=LOCAL_TZ), timedelta(0)),
        (datetime(2026, 12, 7, 23, 59, 50, tzinfo=LOCAL_TZ), timedelta(seconds=10.2)),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=LOCAL_TZ), timedelta(seconds=1.2)),
        (datetime(2026, 12, 8, 0, 0, 0, tzinfo=LOCAL_TZ), timedelta(0)),
    ],
)
def test_the_window_never_crosses_local_midnight(local: datetime, delay: timedelta) -> None:
    assert window_delay(local.astimezone(UTC)) == delay
    start = (local + delay).astimezone(LOCAL_TZ)
    assert (start + WINDOW_LEFT).date() == start.date()


def _seed(conn: Conn, window_ends: datetime) -> None:
    seed.organisation(conn, "org-e2e")
    for site in ("site-a", "site-b"):
        seed.site(conn, site, "org-e2e")
    for board_id, site in BOARDS.items():
        seed.board(conn, board_id, site, heartbeat_interval_s=5)
    local_end = window_ends.astimezone(LOCAL_TZ)
    start = max(local_end - timedelta(minutes=30), local_end.replace(hour=0, minute=0, second=0))
    conn.execute(
        "INSERT INTO broadcast_windows (site_id, part, starts_at, ends_at)"
        " VALUES (%s, 'morning', %s, %s)",
        (seed.site_id(conn, "site-b"), start.time(), local_end.time()),
    )


def _start(conn: Conn, version: str, boards: list[str], waves: list[dict[str, int]]) -> int:
    body = RolloutIn.model_validate(
        {
            "version": version,
            "target": {"board_ids": boards},
            "waves": waves,
            "pause_s": 0,
            "max_failures": 0,
        }
    )
    with conn.transaction():
        created = rollouts.create(conn, ADMIN, Actor("quan.tri"), body, now=datetime.now(UTC))
    assert isinstance(created, RolloutDetail)
    return created.id


def _states(conn: Conn, rollout_id: int) -> dict[str, str]:
    rows = conn.execute(
        "SELECT board_id, state FROM rollout_boards WHERE rollout_id = %s", (rollout_id,)
    )
    return {str(b): str(s) for b, s in rows}


def _rollout(conn: Conn, rollout_id: int) -> tuple[str, str | None]:
    row = conn.execute("SELECT state, reason FROM rollouts WHERE id = %s", (rollout_id,)).fetchone()
    assert row is not None
    return str(row[0]), row[1]


def _births(conn: Conn) -> dict[str, str]:
    rows = conn.execute(
        "SELECT device_id, data->>'agent_version' FROM board_latest"
        " WHERE kind = 'state' AND data->>'status' = 'online'"
    )
    return {str(b): str(v) for b, v in rows}


def test_rollouts_with_real_boards(
    db_url: str,
    mosquitto: Mosquitto,
    make_settings: Callable[..., Settings],  # noqa: F811
    signed: Signed,
    tmp_path: Path,
) -> None:
    # sleeps only within WINDOW_LEFT before local midnight: the real engine
    # reads the wall clock, no injectable clock spans the processes
    wall.sleep(window_delay(datetime.now(UTC)).total_seconds())
    window_ends = datetime.now(UTC) + WINDOW_LEFT
    settings = make_settings(
        database_url=db_url,
        data_dir=str(tmp_path / "server"),
        release_public_keys=f"{signed.key.key_id}:{signed.key.public_b64}",
        command_retry_interval_s=0.3,
    )
    with psycopg.connect(db_url, autocommit=True) as conn, ExitStack() as stack:
        _seed(conn, window_ends)
        for rel in (signed.good, signed.broken):
            with conn.transaction(), rel.artifact.open("rb") as data:
                releases.publish(
                    conn, "test", manifest_data=rel.manifest, artifact=data,
                    public_keys=releases.trusted_keys(settings),
                    root=releases.releases_root(settings), notes=None, now=datetime.now(UTC),
                )  # fmt: skip
        boards = []
        for board_id in BOARDS:
            board = Board(tmp_path / board_id, board_id, mosquitto.url, signed.key)
            board.install(signed.first)
            boards.append(stack.enter_context(board_running(board)))
        stack.enter_context(running(settings))  # ingest
        api = _api(settings, stack)
        _engine(db_url, f"{api}{FILES_PATH}", stack)
        wait_for(lambda: _births(conn) == dict.fromkeys(BOARDS, "1.0.0"), what="four births")

        good = _start(conn, "1.1.0", ["e2e-1", "e2e-2", "e2e-3"], [{"count": 2}, {"count": 1}])
        broken = _start(conn, "1.2.0", ["e2e-0", "e2e-3"], [{"count": 1}, {"count": 1}])
        wait_for(lambda: _states(conn, good)["e2e-2"] == "waiting", what="e2e-2 waiting")
        assert datetime.now(UTC) < window_ends

        wait_for(lambda: _rollout(conn, broken)[0] == "aborted", timeout=60, what="abort")
        assert _states(conn, broken) == {"e2e-0": "rolled_back", "e2e-3": "cancelled"}
        assert _rollout(conn, broken)[1] == (
            "1 failures of 1 boards tried exceed the threshold of 0 boards"
        )
        wait_for(lambda: _rollout(conn, good)[0] == "completed", timeout=60, what="completed")
        assert set(_states(conn, good).values()) == {"healthy"}
        wait_for(
            lambda: (
                _births(conn)
                == {"e2e-0": "1.0.0", "e2e-1": "1.1.0", "e2e-2": "1.1.0", "e2e-3": "1.1.0"}
            ),
            what="births of the new version",
        )
        sent: dict[str, datetime] = dict(
            conn.execute(
                "SELECT board_id || ' ' || (args->>'version'), created_at FROM board_commands"
            ).fetchall()
        )
        assert sorted(sent) == ["e2e-0 1.2.0", "e2e-1 1.1.0", "e2e-2 1.1.0", "e2e-3 1.1.0"]
        # the window's board was sent the update only after its window ended
        assert sent["e2e-2 1.1.0"] >= window_ends.replace(microsecond=0)
        assert [b.active for b in boards] == ["1.0.0", "1.1.0", "1.1.0", "1.1.0"]
