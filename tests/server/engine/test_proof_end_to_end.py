"""Screen and camera proof end to end (issue 18), with real components only:
real edge agents (in-process ``Agent`` with its real collectors) looking at
a real X server (Xvfb, painted by ``xsetroot``) and at cameras on a real
RTSP server (rtsp-server-perl fed by ffmpeg encoders) → real Mosquitto →
real ingest → real PostgreSQL → the engine's passes on the real clock →
incidents; the engine's screenshot command published by a real API process
and the picture stored by ingest.

Each case makes one screen or one camera go bad, checks the incident opens
once the rule's hold (``for_s``) has passed since the first bad reading and
not before, that the incident gets its picture, then fixes it and checks
the incident resolves once ``clear_for_s`` has passed since the first good
reading. The engine runs on the real clock, so the times are measured from
the stored readings (received_at) to the incident's opened_at/resolved_at.
Holds are a few seconds (the demo's way: ``EngineSettings.telemetry_params``);
the boards look every second (screen) or every three seconds (cameras).

The screen board's player always plays one approved item, whose reference
frames are pictures the test shows (so "wrong content" is a picture far from
all of them); the camera board has four cameras, each of which takes its own
fault at the same time (one condition per camera).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from edge_agent.agent import Agent
from edge_agent.config import AgentConfig, load_config
from edge_agent.proof import Grabber, RtspSource
from edge_agent.proof.frame import hamming
from edge_agent.proof.grab import X11Source
from fleet_protocol.remote_config import ProofConfig
from fleet_server.api.app import create_app
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.settings import Settings
from tests.server.ingest.conftest import running as ingest_running
from tests.support import seed
from tests.support.mosquitto import Mosquitto
from tests.support.postgres import DatabaseFactory
from tests.support.rtsp_source import STILL, RtspRelay, rtsp_relay
from tests.support.wait import wait_for
from tests.support.xvfb import Screen, xvfb

pytestmark = [pytest.mark.slow, pytest.mark.isolated]

Conn = psycopg.Connection[Any]

SCREEN_BOARD = "lc-sin-ho-01"
CAMERA_BOARD = "lc-ma-lu-thang-01"
SCREEN_RULES = ("screen_black", "screen_frozen", "screen_wrong_content")
CAMERA_RULES = ("camera_black", "camera_frozen", "camera_covered", "camera_moved")
#: the rules' holds, short (defaults: minutes)
SCREEN_HOLD = {"for_s": 3, "clear_for_s": 3}
CAMERA_HOLD = {"for_s": 4, "clear_for_s": 4}
#: how long after its hold an incident may open (resolve): the engine's pass
#: after the reading that ends the hold (a tick of 0.25 s, or ingest's NOTIFY)
SLACK_S = 1.5
#: the verdict column of each rule's readings
VERDICTS = {
    "screen_black": ("telemetry_display", "screen_black"),
    "screen_frozen": ("telemetry_display", "screen_frozen"),
    "screen_wrong_content": ("telemetry_display", "screen_wrong_content"),
    "camera_black": ("telemetry_camera", "picture_black"),
    "camera_frozen": ("telemetry_camera", "picture_frozen"),
    "camera_covered": ("telemetry_camera", "picture_covered"),
    "camera_moved": ("telemetry_camera", "picture_moved"),
}

LIVE = "testsrc=size=320x180:rate=10"  # a moving test pattern
BARS = "smptebars=size=320x180:rate=10,noise=alls=20:allf=t"  # a still scene, sensor noise
#: each camera: its good scene, its bad one, and the rule that must open
CAMERAS = {
    "c-black": (LIVE, "color=c=black:size=320x180:rate=10", "camera_black"),
    "c-frozen": (LIVE, STILL, "camera_frozen"),  # the encoder sends one picture again and again
    "c-covered": (LIVE, "color=c=0xc8c8c8:size=320x180:rate=10", "camera_covered"),
    "c-moved": (BARS, "mandelbrot=size=320x180:rate=10", "camera_moved"),  # turned away
}
#: pictures of the approved item (its reference frames) the screen shows when fine
GOOD_SEEDS = (1, 2, 3, 4)


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- the server side: PostgreSQL, Mosquitto, ingest, the API, the engine ---------------


@dataclass
class Stack:
    url: str
    broker: Mosquitto
    db: Conn
    workdir: Path


@pytest.fixture(scope="module")
def stack(db_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url = db_factory.create()
    workdir = tmp_path_factory.mktemp("proof-e2e")
    with psycopg.connect(url) as conn:
        seed.demo_fleet(conn, 14)
        for board in (SCREEN_BOARD, CAMERA_BOARD):  # on air all day, whenever the test runs
            conn.execute(
                "INSERT INTO broadcast_windows (board_id, part, starts_at, ends_at)"
                " VALUES (%s, 'morning', '00:00', '23:59:59.999999')",
                (board,),
            )
    broker = Mosquitto(workdir / "mosquitto")
    broker.start()
    settings = Settings(
        database_url=url,
        mqtt_url=broker.url,
        ingest_client_id="test-ingest-proof",
        ingest_batch_delay_ms=5,
        ingest_retry_max_s=0.5,
        command_retry_interval_s=0.2,
        command_publish_timeout_s=2,
    )
    params = dict.fromkeys(SCREEN_RULES, SCREEN_HOLD) | dict.fromkeys(CAMERA_RULES, CAMERA_HOLD)
    engine = Engine(url, EngineSettings(tick_s=0.25, telemetry_every_s=0, telemetry_params=params))
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_forever, args=(stop,), daemon=True)
    try:
        with ExitStack() as started, psycopg.connect(url, autocommit=True) as db:
            started.enter_context(ingest_running(settings))
            # the API process: its command service publishes what the engine queues
            pool: ConnectionPool[Any] = started.enter_context(
                ConnectionPool(url, min_size=1, max_size=4, open=True)
            )
            app = create_app(settings, clock=utcnow, pool=pool, broker_check=lambda: None)
            started.enter_context(TestClient(app, base_url="http://testserver"))
            thread.start()
            assert engine.is_leader.wait(15), "the engine did not lead"
            yield Stack(url, broker, db, workdir)
            stop.set()
            thread.join(15)
    finally:
        stop.set()
        broker.stop()
        db_factory.drop(url)


# -- the boards -------------------------------------------------------------------------


class RunningAgent:
    """A real edge agent in its own thread, as ``edge-agent`` runs it."""

    def __init__(self, config: AgentConfig) -> None:
        self.agent = Agent(config)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop,), daemon=True)
        self.thread.start()
        assert self.agent.session.ready.wait(15), "the agent did not connect"

    def close(self) -> None:
        self.stop.set()
        self.agent.wake.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the agent did not stop"


def agent_config(stack: Stack, device: str, **changes: Any) -> AgentConfig:
    intervals = {"heartbeat": 5, "power": 300, "network": 300, "camera": 300, "display": 300}
    intervals |= changes.pop("intervals", {})
    return load_config(
        None,
        environ={},
        device_id=device,
        mqtt_url=stack.broker.url,
        spool_path=stack.workdir / f"{device}.db",
        keepalive_s=5,
        log_level="WARNING",
        network={"lte": False},
        intervals=intervals,
        **changes,
    )


class Player:
    """The signage player's status file: it plays the approved item; while
    ``rotate`` is on it says it moves on to a new item every 0.3 s."""

    def __init__(self, workdir: Path) -> None:
        self.status = workdir / "status.json"
        self.item = workdir / "bien-gioi.mp4"
        self.item.write_bytes(b"approved item: border regulations, 2026")
        self.sha256 = hashlib.sha256(self.item.read_bytes()).hexdigest()
        self.items = 0
        self.plays("bien-gioi")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def plays(self, content_id: str) -> None:
        status = {
            "screen_on": True,
            "player_running": True,
            "content_id": content_id,
            "content_path": str(self.item),
            "started_at": utcnow().isoformat(),
        }
        partial = self.status.with_suffix(".tmp")
        partial.write_text(json.dumps(status))
        partial.replace(self.status)

    def rotate(self) -> None:
        def loop() -> None:
            while not self._stop.wait(0.3):
                self.items += 1
                self.plays(f"bien-gioi-{self.items}")

        self._stop.clear()
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def hold(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


@dataclass
class ScreenBoard:
    screen: Screen
    player: Player
    references: list[str]
    wrong_seed: int


@pytest.fixture(scope="module")
def screen_board(stack: Stack) -> Iterator[ScreenBoard]:
    with xvfb(stack.workdir) as screen:
        # the registry's reference frames of the approved item: pictures it shows
        grabber = Grabber()
        references = []
        for seed_ in GOOD_SEEDS:
            screen.blocks(seed_)
            references.append(grabber.grab(X11Source(screen.display)).grey.dhash())
        wrong = ProofConfig().wrong_distance
        wrong_seed = 100
        while True:  # a picture far from every reference frame
            screen.blocks(wrong_seed)
            shown = grabber.grab(X11Source(screen.display)).grey.dhash()
            if min(hamming(shown, r) for r in references) > wrong + 6:
                break
            wrong_seed += 1
        screen.blocks(GOOD_SEEDS[0])
        player = Player(stack.workdir)
        config = agent_config(
            stack,
            SCREEN_BOARD,
            intervals={"display": 1},
            display={"status_file": player.status, "process_name": None},
            capture={"screen_source": "x11", "x11_display": screen.display},
            proof={
                "screen_interval_s": 1,
                "camera_interval_s": 0,
                "snapshot_interval_s": 0,
                "frozen_after": 3,
                "screen_references": {player.sha256: references},
            },
        )
        agent = RunningAgent(config)
        try:
            yield ScreenBoard(screen, player, references, wrong_seed)
        finally:
            player.hold()
            agent.close()


# -- what the server saw ----------------------------------------------------------------


@dataclass
class Measured:
    rule: str
    subject: str | None
    incident_id: int
    first_bad: datetime
    opened: datetime
    first_good: datetime | None = None
    resolved: datetime | None = None

    @property
    def open_after_s(self) -> float:
        return (self.opened - self.first_bad).total_seconds()

    @property
    def resolve_after_s(self) -> float:
        assert self.first_good is not None
        assert self.resolved is not None
        return (self.resolved - self.first_good).total_seconds()

    def line(self) -> str:
        return (
            f"{self.rule}{':' + self.subject if self.subject else ''}:"
            f" opened {self.open_after_s:.2f} s after the first bad reading,"
            f" resolved {self.resolve_after_s:.2f} s after the first good one"
        )


def _subject(camera: str | None) -> tuple[str, list[Any]]:
    if camera is None:
        return "", []
    return " AND camera_id = %s", [camera]


def first_reading(
    db: Conn, board: str, rule: str, camera: str | None, since: datetime, *, bad: bool
) -> datetime | None:
    """When the first reading received since ``since`` said the rule's verdict
    (``bad``) or not (a reading without the verdict, e.g. the camera's stream
    gone a moment while its encoder changes, counts as not bad). As the
    engine reads them, a camera that answers but whose reading carries no
    picture yet (its first grab since the stream came back is under way)
    says neither."""
    table, column = VERDICTS[rule]
    where, params = _subject(camera)
    verdict = column if bad else f"NOT coalesce({column}, false)"
    if not bad and table == "telemetry_camera":
        verdict = f"({verdict} AND ({column} IS NOT NULL OR status NOT IN ('ok', 'unauthorized')))"
    row = db.execute(
        f"SELECT min(received_at) FROM {table}"
        f" WHERE device_id = %s AND received_at >= %s AND {verdict}{where}",
        [board, since, *params],
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def incident(
    db: Conn, board: str, rule: str, camera: str | None, state: str, since: datetime
) -> tuple[Any, ...] | None:
    """(id, opened_at, resolved_at) of the rule's incident in ``state`` opened since ``since``."""
    where = "" if camera is None else " AND details->>'camera_id' = %s"
    params: list[Any] = [board, rule, since, state] + ([] if camera is None else [camera])
    return db.execute(
        "SELECT id, opened_at, resolved_at FROM incidents"
        " WHERE board_id = %s AND rule = %s AND opened_at >= %s AND state = %s" + where,
        params,
    ).fetchone()


def wait_opened(db: Conn, board: str, rule: str, camera: str | None, since: datetime) -> Measured:
    row = wait_for(
        lambda: incident(db, board, rule, camera, "open", since), 60, f"{rule} {camera} open"
    )
    assert row is not None
    first_bad = first_reading(db, board, rule, camera, since, bad=True)
    assert first_bad is not None
    return Measured(rule, camera, row[0], first_bad, row[1])


def wait_resolved(db: Conn, measured: Measured, board: str, fixed: datetime) -> None:
    row = wait_for(
        lambda: incident(db, board, measured.rule, measured.subject, "resolved", measured.opened),
        60,
        f"{measured.rule} {measured.subject} resolved",
    )
    assert row is not None
    assert row[0] == measured.incident_id
    measured.resolved = row[2]
    measured.first_good = first_reading(
        db, board, measured.rule, measured.subject, fixed, bad=False
    )


def check_hold(measured: Measured, hold: dict[str, int]) -> None:
    assert hold["for_s"] <= measured.open_after_s <= hold["for_s"] + SLACK_S, measured.line()
    clear = hold["clear_for_s"]
    assert clear <= measured.resolve_after_s <= clear + SLACK_S, measured.line()


def check_picture(db: Conn, board: str, measured: Measured) -> None:
    """The engine asked the board for a picture when the incident opened, the
    API published the order, the board answered with a picture of that screen
    or camera, and ingest stored it."""
    request_id = f"proof-{measured.incident_id}-0"
    source = "screen" if measured.subject is None else "camera"
    picture = wait_for(
        lambda: db.execute(
            "SELECT source, NULLIF(camera_id, ''), reason, substring(jpeg for 3)"
            " FROM snapshots WHERE device_id = %s AND request_id = %s",
            (board, request_id),
        ).fetchone(),
        30,
        f"the picture of {measured.rule} {measured.subject}",
    )
    assert picture == (source, measured.subject, "command", b"\xff\xd8\xff")
    command = wait_for(
        lambda: (
            (
                row := db.execute(
                    "SELECT command, args, state FROM board_commands WHERE request_id = %s",
                    (request_id,),
                ).fetchone()
            )
            and row[2] == "succeeded"
            and row
        ),
        30,
        f"{request_id} succeeded",
    )
    target = {"source": source} | (
        {} if measured.subject is None else {"camera_id": measured.subject}
    )
    assert command is not None
    assert command[:2] == ("screenshot", target)


def proof_incidents(db: Conn, board: str, since: datetime) -> list[tuple[str, str | None]]:
    rows = db.execute(
        "SELECT rule, details->>'camera_id' FROM incidents WHERE board_id = %s"
        " AND opened_at >= %s AND rule = ANY(%s) ORDER BY rule, details->>'camera_id'",
        (board, since, [*SCREEN_RULES, *CAMERA_RULES]),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


# -- the cases --------------------------------------------------------------------------


def screen_readings(db: Conn, count: int = 12) -> str:
    """The screen board's last readings, for a failure's message: what it
    said about its screen (or why it had no picture) and its player's item."""
    rows = db.execute(
        "SELECT received_at, content_id, content_sha256 IS NOT NULL, screen_captured_at,"
        " screen_phash, screen_black, screen_frozen, screen_same_count,"
        " screen_reference_distance, screen_wrong_content, screen_error"
        " FROM telemetry_display WHERE device_id = %s ORDER BY received_at DESC LIMIT %s",
        (SCREEN_BOARD, count),
    ).fetchall()
    return "\n".join(repr(row) for row in rows)


def explained(what: Callable[[], None], db: Conn) -> None:
    """``what`` (a wait), its timeout's message followed by the screen's last readings."""
    try:
        what()
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\nthe screen board's last readings:\n{screen_readings(db)}"
        ) from None


def wait_screen_fine(db: Conn, since: datetime) -> None:
    """A reading of the screen since ``since`` with every verdict good."""
    explained(
        lambda: wait_for(
            lambda: db.execute(
                "SELECT 1 FROM telemetry_display WHERE device_id = %s AND received_at >= %s"
                " AND screen_phash IS NOT NULL AND NOT screen_black AND NOT screen_frozen"
                " AND screen_wrong_content IS FALSE",
                (SCREEN_BOARD, since),
            ).fetchone(),
            30,
            "a good screen reading",
        ),
        db,
    )


@pytest.mark.parametrize("case", ["black", "frozen", "wrong_content"])
def test_a_bad_screen_raises_its_incident_after_the_hold_and_clears_when_fixed(
    stack: Stack, screen_board: ScreenBoard, case: str
) -> None:
    rule = f"screen_{case}"
    board = screen_board
    wait_screen_fine(stack.db, utcnow())
    since = utcnow()
    if case == "black":
        board.screen.black()
    elif case == "frozen":
        # the player says it moves on from item to item; the screen stays the same
        board.player.rotate()
    else:
        board.screen.blocks(board.wrong_seed)  # not a picture of the item on air
    measured = wait_opened(stack.db, SCREEN_BOARD, rule, None, since)
    check_picture(stack.db, SCREEN_BOARD, measured)
    fixed = utcnow()
    if case == "frozen":
        board.player.hold()
        board.screen.blocks(GOOD_SEEDS[1])  # the picture moves again
    else:
        board.screen.blocks(GOOD_SEEDS[2])
    explained(lambda: wait_resolved(stack.db, measured, SCREEN_BOARD, fixed), stack.db)
    print(measured.line())
    check_hold(measured, SCREEN_HOLD)
    # one cause, one incident: a black screen is not also called frozen or wrong
    assert proof_incidents(stack.db, SCREEN_BOARD, since) == [(rule, None)]


def test_black_frozen_covered_and_moved_cameras_raise_their_incidents_and_clear(
    stack: Stack,
) -> None:
    relay_dir = stack.workdir / "rtsp"
    relay_dir.mkdir()
    with rtsp_relay(relay_dir) as relay:
        for name, (good, _, _) in CAMERAS.items():
            relay.show(name, good)
        relay.wait_video(CAMERAS)
        # the operator sets the turned-away camera's reference from its picture
        url = relay.url("c-moved")
        reference = Grabber().grab(RtspSource(url=url, shown=url)).grey.dhash()
        config = agent_config(
            stack,
            CAMERA_BOARD,
            intervals={"camera": 3},
            display={"status_file": None, "process_name": None},
            cameras=[camera(relay, name) for name in CAMERAS],
            capture={"timeout_s": 8},
            proof={
                "screen_interval_s": 0,
                "camera_interval_s": 3,
                "snapshot_interval_s": 0,
                "frozen_after": 2,
                "camera_references": {"c-moved": reference},
            },
        )
        agent = RunningAgent(config)
        try:
            run_camera_cases(stack.db, relay)
        finally:
            agent.close()


def camera(relay: RtspRelay, name: str) -> dict[str, Any]:
    return {
        "id": name,
        "host": "127.0.0.1",
        "rtsp_port": relay.port,
        "rtsp_path": f"/{name}",
        "timeout_s": 3.0,
    }


def run_camera_cases(db: Conn, relay: RtspRelay) -> None:
    start = utcnow()
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(DISTINCT camera_id) FROM telemetry_camera WHERE device_id = %s"
                " AND received_at >= %s AND picture_phash IS NOT NULL AND NOT picture_black"
                " AND NOT picture_frozen AND NOT picture_covered AND picture_moved IS NOT TRUE",
                (CAMERA_BOARD, start),
            ).fetchone()
            == (len(CAMERAS),)
        ),
        30,
        "a good picture of every camera",
    )
    since = utcnow()
    for name, (_, bad, _) in CAMERAS.items():  # each camera its own fault, all at once
        relay.show(name, bad)
    measured = [
        wait_opened(db, CAMERA_BOARD, rule, name, since) for name, (_, _, rule) in CAMERAS.items()
    ]
    for m in measured:
        check_picture(db, CAMERA_BOARD, m)
    fixed = utcnow()
    for name, (good, _, _) in CAMERAS.items():
        relay.show(name, good)
    for m in measured:
        wait_resolved(db, m, CAMERA_BOARD, fixed)
    for m in measured:
        print(m.line())
    for m in measured:
        check_hold(m, CAMERA_HOLD)
    # one condition per camera, one cause per picture
    expected = sorted((rule, name) for name, (_, _, rule) in CAMERAS.items())
    assert proof_incidents(db, CAMERA_BOARD, since) == expected
