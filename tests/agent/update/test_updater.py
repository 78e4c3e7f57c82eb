"""The updater in-process: the command's answers, the trial of a new version
(healthy or rolled back by its deadline), a download resumed after a restart.
The agent's side is the seam the updater owns: ``emit`` and the health probe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge_agent.commands import merge_config
from edge_agent.config import load_config
from edge_agent.update import layout
from edge_agent.update.state import StateFile, UpdateRecord
from tests.agent.update.conftest import Host, Setup, on_trial
from tests.support.board_process import release, signing_key
from tests.support.wait import wait_for


def test_bad_updates_rejected(setup: Setup, tmp_path: Path) -> None:
    updater = setup.updater(Host(), "1.0.0")
    other = signing_key(tmp_path / "other")
    foreign = release("1.1.0", tmp_path / "foreign", other)
    forged = {**setup.newer.manifest, "size": setup.newer.manifest["size"] + 1}
    cases = [
        (setup.args(version="1.2.0"), "the manifest is for '1.1.0'"),
        (setup.args(url="file:///etc/passwd"), "url"),
        (setup.args(manifest=foreign.manifest), "unknown key id"),
        (setup.args(manifest=forged), "bad signature"),
    ]
    for args, fragment in cases:
        status, output, error = updater.command(args)
        assert status == "rejected"
        assert output is None
        assert fragment in (error or ""), error
    assert not setup.config.state_path.exists()


def test_outside_the_release_layout_refused(setup: Setup) -> None:
    os.unlink(setup.config.current)
    status, _, error = setup.updater(Host(), "1.0.0").command(setup.args())
    assert status == "rejected"
    assert "not the release layout" in (error or "")


def test_the_running_version_is_already_there(setup: Setup) -> None:
    updater = setup.updater(Host(), "1.1.0")
    assert updater.command(setup.args()) == ("ok", {"state": "healthy", "already": True}, None)


def test_one_update_at_a_time(setup: Setup) -> None:
    StateFile(setup.config.state_path).save(UpdateRecord(state="downloading", version="1.1.0"))
    updater = setup.updater(Host(), "1.0.0")
    assert updater.command(setup.args()) == ("ok", {"state": "accepted"}, None)
    StateFile(setup.config.state_path).save(UpdateRecord(state="trying", version="1.0.9"))
    status, _, error = updater.command(setup.args())
    assert status == "rejected"
    assert error == "update to 1.0.9 in progress (trying)"


def test_a_download_left_by_a_restart_is_resumed_and_switched(setup: Setup) -> None:
    host = Host()
    record = UpdateRecord(
        state="downloading",
        version="1.1.0",
        url=setup.server.url(setup.newer.artifact.name),
        manifest=setup.newer.manifest,
        rollout_id=3,
        previous="1.0.0",
    )
    StateFile(setup.config.state_path).save(record)
    part = setup.config.downloads / f"{setup.newer.artifact.name}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(setup.newer.artifact.read_bytes()[:1000])
    updater = setup.updater(host, "1.0.0")
    updater.start()

    def switched() -> bool:
        updater.tick()
        return updater.exit_requested.is_set()

    wait_for(switched, timeout=20, what="switch")
    assert setup.server.ranges == ["bytes=1000-"]
    assert host.states()[0] == "downloading"
    assert host.states()[-2:] == ["downloaded", "installed"]
    assert host.events[-1]["rollout_id"] == 3
    assert layout.active_version(setup.config) == "1.1.0"
    assert os.readlink(setup.config.previous) == "releases/1.0.0"
    saved = StateFile(setup.config.state_path).load()
    assert saved is not None
    assert saved.state == "trying"
    assert saved.deadline == int(setup.now[0]) + 300


def test_healthy_once_connected_and_a_heartbeat_is_out(setup: Setup) -> None:
    store = on_trial(setup)
    (setup.config.releases / "0.9.0").mkdir()
    host = Host()
    updater = setup.updater(host, "1.1.0")
    updater.start()
    updater.tick()
    assert host.heartbeats == 0  # not connected yet
    host.ready = True
    updater.tick()
    updater.tick()
    assert host.heartbeats == 1
    assert host.events == []
    host.published = 1
    updater.tick()
    assert host.events == [
        {
            "type": "update",
            "severity": "info",
            "state": "healthy",
            "version": "1.1.0",
            "previous": "1.0.0",
        }
    ]
    record = store.load()
    assert record is not None
    assert (record.state, record.reported) == ("healthy", True)
    assert sorted(p.name for p in setup.config.releases.iterdir()) == ["1.0.0", "1.1.0"]


def test_the_deadline_rolls_back_and_the_previous_version_reports_it(setup: Setup) -> None:
    store = on_trial(setup)
    new = Host(ready=True)
    updater = setup.updater(new, "1.1.0")
    updater.start()
    setup.now[1] += 61  # the monotonic clock: the wall clock may be stepped
    updater.tick()
    assert updater.exit_requested.is_set()
    assert layout.active_version(setup.config) == "1.0.0"
    assert new.events == []  # the version that comes back reports it
    old = Host()
    setup.updater(old, "1.0.0").start()
    assert old.states() == ["rolled_back"]
    assert old.events[0]["severity"] == "error"
    assert old.events[0]["reason"] == "deadline passed: not healthy within 60 s"
    record = store.load()
    assert record is not None
    assert record.reported
    again = Host()
    setup.updater(again, "1.0.0").start()
    assert again.events == []  # reported once


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"state": "trying", "version": "1.1.0", "deadline": "soon"}',
        '{"state": "trying", "version": "1.1.0", "deadline": true}',
        '{"state": "exploded", "version": "1.1.0"}',
        '{"state": "trying"}',
        "[1, 2]",
    ],
)
def test_a_damaged_state_file_is_ignored_not_fatal(setup: Setup, text: str) -> None:
    setup.config.state_path.parent.mkdir(parents=True, exist_ok=True)
    setup.config.state_path.write_text(text)
    host = Host(ready=True)
    updater = setup.updater(host, "1.1.0")
    updater.start()
    updater.tick()
    assert host.events == []
    assert not updater.exit_requested.is_set()
    assert layout.active_version(setup.config) == "1.0.0"
    # and a new update may start over it
    again = setup.updater(Host(), "1.0.0")
    try:
        assert again.command(setup.args())[0] == "ok"
    finally:
        again.close()


def test_the_update_section_cannot_be_changed_remotely(tmp_path: Path) -> None:
    config = load_config(None, device_id="board-1", spool_path=tmp_path / "spool.db")
    for change in (
        {"update": {"public_keys": {"0123456789abcdef": "AAAA"}}},
        {"update": {"root": "/tmp/evil"}},
        {"update": {"max_boot_attempts": 20}},
    ):
        with pytest.raises(ValueError, match="update"):
            merge_config(config, change)
