"""The in-process seam of the updater tests: a host (``emit`` and the health
probe the updater owns), two signed releases served over HTTP, a board
layout with the first installed, and clocks the tests move (wall, monotonic)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from edge_agent.update import layout
from edge_agent.update.settings import UpdateConfig
from edge_agent.update.state import StateFile, UpdateRecord
from edge_agent.update.updater import HealthProbe, Updater
from tests.support.board_process import (
    Release,
    ReleaseServer,
    SigningKey,
    release,
    signing_key,
)


@dataclass
class Host:
    events: list[dict[str, Any]] = field(default_factory=list)
    ready: bool = False
    heartbeats: int = 0
    published: int = 0

    def emit(
        self, event_type: str, severity: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        self.events.append({"type": event_type, "severity": severity, **(details or {})})

    def collect(self) -> bool:
        self.heartbeats += 1
        return True

    def states(self) -> list[str]:
        return [e["state"] for e in self.events]


@dataclass
class Setup:
    config: UpdateConfig
    newer: Release
    server: ReleaseServer
    now: list[float]

    def updater(self, host: Host, running: str) -> Updater:
        probe = HealthProbe(lambda: host.ready, host.collect, lambda: host.published)
        return Updater(
            self.config,
            running,
            host.emit,
            probe,
            clock=lambda: self.now[0],
            monotonic=lambda: self.now[1],
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        return {
            "version": "1.1.0",
            "url": self.server.url(self.newer.artifact.name),
            "manifest": self.newer.manifest,
            **changes,
        }


@dataclass(frozen=True)
class Built:
    key: SigningKey
    served: Path
    first: Release
    newer: Release


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The key and two releases, built once: the tests only read them."""
    root = tmp_path_factory.mktemp("update-releases")
    key = signing_key(root / "keys")
    served = root / "served"
    return Built(key, served, release("1.0.0", served, key), release("1.1.0", served, key))


@pytest.fixture
def setup(tmp_path: Path, built: Built) -> Iterator[Setup]:
    key, served, first, newer = built.key, built.served, built.first, built.newer
    config = UpdateConfig(
        root=tmp_path / "opt",
        state_path=tmp_path / "var" / "update.json",
        public_keys={key.key_id: key.public_b64},
        retry_base_s=0.01,
    )
    layout.extract(first.artifact, config, "1.0.0")
    layout.point(config.current, "1.0.0")
    server = ReleaseServer(served)
    yield Setup(config, newer, server, [time.time(), 0.0])
    server.close()


def on_trial(setup: Setup) -> StateFile:
    layout.extract(setup.newer.artifact, setup.config, "1.1.0")
    layout.point(setup.config.previous, "1.0.0")
    layout.point(setup.config.current, "1.1.0")
    store = StateFile(setup.config.state_path)
    store.save(
        UpdateRecord(
            state="trying",
            version="1.1.0",
            previous="1.0.0",
            deadline=int(setup.now[0]) + 60,
            health_deadline_s=60,
        )
    )
    return store
