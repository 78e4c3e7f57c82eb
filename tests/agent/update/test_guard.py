"""The boot guard (POSIX sh) against the state file the agent writes."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from edge_agent.update import layout
from edge_agent.update.settings import UpdateConfig
from edge_agent.update.state import StateFile, UpdateRecord

GUARD = Path(__file__).resolve().parents[3] / "edge_agent" / "update" / "guard.sh"
#: the guard is POSIX sh: run it with dash (Debian's /bin/sh) wherever /bin/sh is bash
SHELL = shutil.which("dash") or "sh"


@pytest.fixture
def config(tmp_path: Path) -> UpdateConfig:
    config = UpdateConfig(root=tmp_path / "opt", state_path=tmp_path / "var" / "update.json")
    for version in ("1.0.0", "2.0.0"):
        (config.releases / version / "bin").mkdir(parents=True)
        guard = config.releases / version / "bin" / "edge-agent-guard"
        guard.write_text(f"#!/bin/sh\n# guard of {version}\n")
        guard.chmod(0o755)
    (config.root / "bin").mkdir()
    layout.point(config.previous, "1.0.0")
    layout.point(config.current, "2.0.0")
    return config


def _trying(config: UpdateConfig, deadline: float, attempts: int = 0) -> StateFile:
    store = StateFile(config.state_path)
    store.save(
        UpdateRecord(
            state="trying",
            version="2.0.0",
            manifest={"version": "2.0.0", "size": 1},
            previous="1.0.0",
            deadline=int(deadline),
            boot_attempts=attempts,
            max_boot_attempts=3,
            root=str(config.root),
            reported=True,
        )
    )
    return store


def _guard(config: UpdateConfig) -> str:
    done = subprocess.run(
        [SHELL, str(GUARD), str(config.state_path)], capture_output=True, text=True, check=True
    )
    return done.stderr


def test_starts_counted_then_a_crash_loop_rolled_back(config: UpdateConfig) -> None:
    store = _trying(config, time.time() + 300)
    for attempt in (1, 2, 3):
        assert _guard(config) == ""
        record = store.load()
        assert record is not None
        assert (record.state, record.boot_attempts) == ("trying", attempt)
        assert layout.active_version(config) == "2.0.0"
    assert "crash loop" in _guard(config)
    record = store.load()
    assert record is not None
    assert record.state == "rolled_back"
    assert record.reason == "crash loop: 3 starts without becoming healthy"
    assert record.reported is False
    assert record.manifest == {"version": "2.0.0", "size": 1}  # the rest untouched
    assert layout.active_version(config) == "1.0.0"
    assert "guard of 1.0.0" in config.guard.read_text()
    assert oct(os.stat(config.state_path).st_mode & 0o777) == "0o600"
    assert _guard(config) == ""  # nothing more to do
    assert layout.active_version(config) == "1.0.0"


def test_a_passed_deadline_rolls_back_at_the_next_start(config: UpdateConfig) -> None:
    store = _trying(config, time.time() - 1)
    assert "deadline passed" in _guard(config)
    record = store.load()
    assert record is not None
    assert record.state == "rolled_back"
    assert layout.active_version(config) == "1.0.0"


@pytest.mark.parametrize("state", ["healthy", "downloading", "failed"])
def test_other_states_left_alone(config: UpdateConfig, state: str) -> None:
    store = _trying(config, time.time() - 1)
    record = store.load()
    assert record is not None
    record.state = state  # type: ignore[assignment]
    store.save(record)
    before = config.state_path.read_text()
    assert _guard(config) == ""
    assert config.state_path.read_text() == before
    assert layout.active_version(config) == "2.0.0"


def test_no_state_or_garbage_never_stops_the_start(config: UpdateConfig) -> None:
    assert _guard(config) == ""
    config.state_path.parent.mkdir(parents=True, exist_ok=True)
    config.state_path.write_text(' "state": "trying",\n "boot_attempts": "x",\n')
    assert "unreadable" in _guard(config)
    assert layout.active_version(config) == "2.0.0"


@pytest.mark.parametrize(
    ("field", "value"),
    [("boot_attempts", 10**25), ("deadline", 10**30), ("max_boot_attempts", 10**11)],
)
def test_numbers_dash_cannot_hold_never_stop_the_start(
    config: UpdateConfig, field: str, value: int
) -> None:
    store = _trying(config, time.time() - 1)
    record = store.load()
    assert record is not None
    setattr(record, field, value)
    store.save(record)
    assert "unreadable" in _guard(config)  # and exit status 0 (check=True)
    assert layout.active_version(config) == "2.0.0"


@pytest.mark.parametrize("previous", ["../bin", "/etc", "-rf"])
def test_a_previous_that_is_not_a_version_is_never_pointed_at(
    config: UpdateConfig, previous: str
) -> None:
    (config.releases / "-rf").mkdir()
    store = _trying(config, time.time() - 1)
    record = store.load()
    assert record is not None
    record.previous = previous
    store.save(record)
    assert "no previous release to go back to" in _guard(config)
    assert os.readlink(config.current) == "releases/2.0.0"
    rolled = store.load()
    assert rolled is not None
    assert rolled.state == "rolled_back"
