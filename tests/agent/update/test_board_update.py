"""Updates end to end: a board as real processes (supervisor, boot guard,
release launcher) on a real broker, commanded over MQTT, downloading from a
real HTTP server. Healthy switch; broken release rolled back by the board
itself; tampered artifact refused with nothing switched."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import fleet_protocol as fp
from tests.support.board_process import (
    Board,
    Release,
    ReleaseServer,
    SigningKey,
    broken_sources,
    release,
    running,
    signing_key,
)
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.subscriber import Received, Subscriber
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Releases:
    key: SigningKey
    served: Path
    good: Release
    newer: Release
    broken: Release


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    root = tmp_path_factory.mktemp("releases")
    keys = root / "keys"
    key = signing_key(keys)
    served = root / "served"
    broken = release("1.2.0", served, key, broken_sources(root / "broken"))
    return Releases(
        key, served, release("1.0.0", served, key), release("1.1.0", served, key), broken
    )


@pytest.fixture
def server(releases: Releases) -> Iterator[ReleaseServer]:
    srv = ReleaseServer(releases.served)
    yield srv
    srv.close()


def _update(device: str, rel: Release, url: str, request_id: str) -> tuple[str, bytes]:
    now = datetime.now(UTC)
    request = fp.CommandRequest(
        schema_version=1,
        device_id=device,
        request_id=request_id,
        command="update",
        issued_at=now,
        expires_at=now + timedelta(minutes=5),
        args={"version": rel.version, "url": url, "manifest": rel.manifest, "rollout_id": 7},
    )
    return fp.command_topic(device, "update"), fp.encode(request)


def _updates(messages: list[Received]) -> list[dict[str, Any]]:
    return [m.doc["data"]["details"] for m in messages if m.topic.endswith("/event/update")]


def _births(messages: list[Received]) -> list[str]:
    return [
        m.doc["data"].get("agent_version")
        for m in messages
        if m.topic.endswith("/state") and m.doc["data"]["status"] == "online"
    ]


def _board(tmp_path: Path, mosquitto: Mosquitto, releases: Releases, device: str) -> Board:
    board = Board(tmp_path / device, device, mosquitto.url, releases.key)
    board.install(releases.good)
    return board


def _answer(sub: Subscriber, request_id: str) -> dict[str, Any]:
    def found(ms: list[Received]) -> bool:
        return any(
            m.topic.endswith("/cmd_result") and m.doc["data"]["request_id"] == request_id
            for m in ms
        )

    msgs = sub.wait_for(found, what=f"answer to {request_id}")
    return next(
        m.doc["data"]
        for m in msgs
        if m.topic.endswith("/cmd_result") and m.doc["data"]["request_id"] == request_id
    )


def test_update_switches_restarts_and_reports_healthy(
    tmp_path: Path, mosquitto: Mosquitto, releases: Releases, server: ReleaseServer
) -> None:
    device = "board-up-01"
    board = _board(tmp_path, mosquitto, releases, device)
    sub = Subscriber(mosquitto.port, f"fleet/v1/{device}/#")
    pub = Publisher(mosquitto.port)
    with running(board):
        sub.wait_for(lambda ms: "1.0.0" in _births(ms), what="birth of 1.0.0")
        pub.publish_all(
            [_update(device, releases.newer, server.url(releases.newer.artifact.name), "u-1")]
        )
        assert _answer(sub, "u-1")["output"] == {"state": "accepted"}
        msgs = sub.wait_for(
            lambda ms: any(d["state"] == "healthy" for d in _updates(ms)),
            timeout=40,
            what="healthy",
        )
        assert board.active == "1.1.0"
        assert "1.1.0" in _births(msgs)
        states = [d["state"] for d in _updates(msgs)]
        assert states[0] == "downloading", board.log()
        assert "installed" in states
        healthy = next(d for d in _updates(msgs) if d["state"] == "healthy")
        assert healthy == {
            "state": "healthy",
            "version": "1.1.0",
            "previous": "1.0.0",
            "rollout_id": 7,
        }
        # the same version again: already there
        pub.publish_all(
            [_update(device, releases.newer, server.url(releases.newer.artifact.name), "u-2")]
        )
        assert _answer(sub, "u-2")["output"] == {"state": "healthy", "already": True}
    assert board.state()["state"] == "healthy"  # type: ignore[index]
    assert sorted(p.name for p in (board.update.releases).iterdir()) == ["1.0.0", "1.1.0"]
    pub.close()
    sub.close()


def test_broken_release_is_rolled_back_by_the_board(
    tmp_path: Path, mosquitto: Mosquitto, releases: Releases, server: ReleaseServer
) -> None:
    device = "board-rb-01"
    board = _board(tmp_path, mosquitto, releases, device)
    sub = Subscriber(mosquitto.port, f"fleet/v1/{device}/#")
    pub = Publisher(mosquitto.port)
    with running(board):
        sub.wait_for(lambda ms: "1.0.0" in _births(ms), what="birth of 1.0.0")
        pub.publish_all(
            [_update(device, releases.broken, server.url(releases.broken.artifact.name), "b-1")]
        )
        msgs = sub.wait_for(
            lambda ms: any(d["state"] == "rolled_back" for d in _updates(ms)),
            timeout=40,
            what="rolled_back",
        )
        back = next(d for d in _updates(msgs) if d["state"] == "rolled_back")
        assert back["version"] == "1.2.0"
        assert back["previous"] == "1.0.0"
        assert back["reason"].startswith("crash loop"), back
        assert board.active == "1.0.0"
        event = next(
            m
            for m in msgs
            if m.topic.endswith("/event/update")
            and m.doc["data"]["details"]["state"] == "rolled_back"
        )
        assert event.doc["data"]["severity"] == "error"
    assert 1 in board.exit_codes  # the broken one did start, and crashed
    assert board.state()["reported"] is True  # type: ignore[index]
    pub.close()
    sub.close()


def test_tampered_artifact_is_refused_and_nothing_switched(
    tmp_path: Path, mosquitto: Mosquitto, releases: Releases, server: ReleaseServer
) -> None:
    device = "board-tp-01"
    served = tmp_path / "evil"
    served.mkdir()
    tampered = served / releases.newer.artifact.name
    shutil.copyfile(releases.newer.artifact, tampered)
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    evil = ReleaseServer(served)
    board = _board(tmp_path, mosquitto, releases, device)
    sub = Subscriber(mosquitto.port, f"fleet/v1/{device}/#")
    pub = Publisher(mosquitto.port)
    try:
        with running(board):
            sub.wait_for(lambda ms: "1.0.0" in _births(ms), what="birth of 1.0.0")
            pub.publish_all([_update(device, releases.newer, evil.url(tampered.name), "t-1")])
            msgs = sub.wait_for(
                lambda ms: any(d["state"] == "failed" for d in _updates(ms)), what="failed"
            )
            failed = next(d for d in _updates(msgs) if d["state"] == "failed")
            assert "sha256 mismatch" in failed["reason"]
            assert board.active == "1.0.0"
            assert board.starts == 1
            assert not (board.update.releases / "1.1.0").exists()
    finally:
        evil.close()
    pub.close()
    sub.close()


def test_killed_mid_download_the_board_resumes_where_it_stopped(
    tmp_path: Path, mosquitto: Mosquitto, releases: Releases, server: ReleaseServer
) -> None:
    device = "board-k9-01"
    board = _board(tmp_path, mosquitto, releases, device)
    part = board.update.downloads / f"{releases.newer.artifact.name}.part"
    sub = Subscriber(mosquitto.port, f"fleet/v1/{device}/#")
    pub = Publisher(mosquitto.port)
    server.trickle_s = 0.01  # 1 KiB every 10 ms: the download takes a while
    with running(board):
        sub.wait_for(lambda ms: "1.0.0" in _births(ms), what="birth of 1.0.0")
        url = server.url(releases.newer.artifact.name)
        pub.publish_all([_update(device, releases.newer, url, "k-1")])
        wait_for(lambda: part.exists() and part.stat().st_size >= 16_384, what="some bytes")
        assert board.proc is not None
        board.proc.kill()  # kill -9: no goodbye, no state written
        server.trickle_s = None
        msgs = sub.wait_for(
            lambda ms: any(d["state"] == "healthy" for d in _updates(ms)),
            timeout=40,
            what="healthy after the restart",
        )
    assert -signal.SIGKILL in board.exit_codes
    resumed = [r for r in server.ranges if r is not None]
    assert resumed, server.ranges
    assert int(resumed[0].removeprefix("bytes=").rstrip("-")) >= 16_384
    assert board.active == "1.1.0"
    assert "1.1.0" in _births(msgs)
    pub.close()
    sub.close()
