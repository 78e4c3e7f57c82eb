"""Screen proof against a real X server (Debian's Xvfb) grabbed by a real ffmpeg.

The screen shows what ``xsetroot`` (x11-xserver-utils) paints on the root
window: black, or one of two random block patterns. The display collector
reads a real player status file, so "the player moved on to the next item"
is what the player says, as on a board.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import JsonValue

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.collectors.display import DisplayCollector
from edge_agent.config import AgentConfig, DisplayConfig, load_config
from edge_agent.proof import Proof
from edge_agent.proof.grab import jpeg_size
from fleet_protocol.messages import MAX_SNAPSHOT_BYTES
from tests.agent.conftest import fake_collectors
from tests.agent.proof.inline import InlineExecutor
from tests.support.xvfb import Screen, require_tools, xvfb


@pytest.fixture(scope="module")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screen]:
    try:
        require_tools()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    with xvfb(tmp_path_factory.mktemp("x11")) as started:
        yield started


class Ticks:
    """A monotonic clock the test moves: one screen interval per reading."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def board(tmp_path: Path, display: str, **proof: object) -> AgentConfig:
    return load_config(
        None,
        device_id="lc-mlt-01",
        spool_path=tmp_path / "spool.db",
        mqtt_url="mqtt://127.0.0.1:9",
        capture={"screen_source": "x11", "x11_display": display},
        proof={"frozen_after": 3, **proof},
    )


def write_status(path: Path, content_id: str) -> None:
    path.write_text(
        json.dumps(
            {
                "screen_on": True,
                "player_running": True,
                "content_id": content_id,
                "started_at": datetime.now(UTC).isoformat(),
            }
        )
    )


def test_black_and_frozen_screens_and_their_incident_pictures(
    screen: Screen, tmp_path: Path
) -> None:
    config = board(tmp_path, screen.display, snapshot_interval_s=0)
    ticks = Ticks()
    proof = Proof(lambda: config, monotonic=ticks, executor=InlineExecutor())
    status = tmp_path / "status.json"
    collector = DisplayCollector(DisplayConfig(status_file=status, process_name=None), proof=proof)
    assert collector.backend.endswith(f"+ screen x11 {screen.display}")

    def reading(content_id: str) -> fp.ScreenCheck:
        ticks.now += config.proof.screen_interval_s
        write_status(status, content_id)
        data = collector.collect()
        assert data.screen_error is None
        assert data.screen is not None
        return data.screen

    screen.black()
    check = reading("bien-gioi-1")
    assert (check.black, check.source, check.phash) == (True, "x11", "0000000000000000")
    [incident] = proof.due_pictures()
    assert (incident.reason, incident.source, incident.camera_id) == ("incident", "screen", None)

    # a changing screen: never frozen, whatever the player says
    for n in range(4):
        screen.blocks(seed=n)
        check = reading(f"item-{n}")
        assert (check.black, check.frozen, check.same_count) == (False, False, 1)
    assert proof.due_pictures() == []

    # the player goes on to new items, the picture stays: frozen at the third
    # capture of the same picture (the last changing one was the first)
    checks = [reading(f"next-{n}") for n in range(3)]
    assert [c.same_count for c in checks] == [2, 3, 4]
    assert [c.frozen for c in checks] == [False, True, True]
    [incident] = proof.due_pictures()
    assert incident.reason == "incident"

    # between two captures the last check is sent again, not a new picture
    again = collector.collect()
    assert again.screen == checks[-1]


def test_screenshot_command_uploads_a_jpeg_counted_in_the_budget(
    screen: Screen, tmp_path: Path
) -> None:
    screen.blocks(seed=42)
    agent = Agent(board(tmp_path, screen.display), collectors=fake_collectors())
    try:
        topic, payload = command("screenshot", source="screen")
        agent._receive(topic, payload)
        agent.step()
        results, snapshots = [], []
        for row in agent.spool.pending(limit=100):
            message = fp.decode(row.topic, row.payload)
            if isinstance(message, fp.CommandResultMessage):
                results.append(message.data)
            if isinstance(message, fp.SnapshotMessage):
                snapshots.append(message.data)
        [result] = results
        assert result.status == "ok", result.error
        [picture] = snapshots
        assert (picture.source, picture.reason, picture.request_id) == ("screen", "command", "r-1")
        assert (picture.width, picture.height) == (480, 270)
        assert jpeg_size(picture.jpeg) == (480, 270)
        assert len(picture.jpeg) <= MAX_SNAPSHOT_BYTES
        assert picture.phash != "0000000000000000"
        assert result.output is not None
        assert result.output["pictures"] == [
            {
                "source": "screen",
                "camera_id": None,
                "bytes": len(picture.jpeg),
                "width": 480,
                "height": 270,
                "phash": picture.phash,
            }
        ]
        assert agent.proof is not None
        assert agent.proof.budget.spent() >= len(base64.b64encode(picture.jpeg))
    finally:
        agent.close()


def command(name: str, **args: JsonValue) -> tuple[str, bytes]:
    now = datetime.now(UTC)
    request = fp.CommandRequest(
        schema_version=1,
        device_id="lc-mlt-01",
        request_id="r-1",
        command=name,
        issued_at=now,
        args=args,
    )
    return fp.command_topic("lc-mlt-01", name), fp.encode(request)


def test_a_screen_that_cannot_be_grabbed_says_why(tmp_path: Path) -> None:
    config = board(tmp_path, ":987")  # no X server there
    proof = Proof(lambda: config, executor=InlineExecutor())
    collector = DisplayCollector(DisplayConfig(status_file=None, process_name="init"), proof=proof)
    data = collector.collect()
    assert data.screen is None
    assert data.screen_error is not None
    assert data.screen_error.startswith("x11 :987: ")
