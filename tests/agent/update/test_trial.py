"""The updater under faults: the wall clock stepped during a health trial,
two updates one after the other before the first's outcome left, the agent
killed mid-unpacking, secrets kept out of answers and the state file."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

from edge_agent.update import layout
from edge_agent.update.state import StateFile, UpdateRecord
from tests.agent.update.conftest import Host, Setup, on_trial
from tests.support.wait import wait_for

DAY = 86_400.0


def test_a_clock_stepped_forward_during_the_trial_does_not_roll_back(setup: Setup) -> None:
    on_trial(setup)  # 60 s of trial
    host = Host()
    updater = setup.updater(host, "1.1.0")
    updater.start()
    setup.now[0] += DAY  # NTP finds the board a day behind
    updater.tick()
    assert not updater.exit_requested.is_set()
    assert layout.active_version(setup.config) == "1.1.0"
    host.ready, host.published = True, 0
    updater.tick()
    host.published = 1
    updater.tick()
    assert host.states() == ["healthy"]


def test_a_clock_stepped_back_cannot_stretch_the_trial(setup: Setup) -> None:
    on_trial(setup)
    setup.now[0] -= 365 * DAY  # the board restarted with its clock a year behind
    updater = setup.updater(Host(), "1.1.0")
    updater.start()
    setup.now[1] += 59
    updater.tick()
    assert not updater.exit_requested.is_set()
    setup.now[1] += 2  # health_deadline_s (60) on the monotonic clock, not a year
    updater.tick()
    assert updater.exit_requested.is_set()
    assert layout.active_version(setup.config) == "1.0.0"


def test_a_second_update_never_swallows_the_outcome_of_the_first(setup: Setup) -> None:
    setup.config = setup.config.model_copy(update={"download_attempts": 1})
    host = Host()
    updater = setup.updater(host, "1.0.0")
    gone = setup.args(url=setup.server.url("missing.tar.gz"), rollout_id=1)
    assert updater.command(gone)[0] == "ok"
    assert updater._worker is not None
    updater._worker.thread.join(10)  # failed; the main loop has not sent it yet
    assert updater.command(setup.args(rollout_id=2))[0] == "ok"

    def switched() -> bool:
        updater.tick()
        return updater.exit_requested.is_set()

    wait_for(switched, timeout=20, what="second update switched")
    assert [(e["state"], e.get("rollout_id")) for e in host.events][:2] == [
        ("downloading", 1),
        ("failed", 1),
    ]
    assert host.events[-1]["state"] == "installed"
    assert host.events[-1]["rollout_id"] == 2


def test_killed_mid_unpacking_no_half_release_becomes_current(setup: Setup) -> None:
    artifact = setup.config.downloads / setup.newer.artifact.name
    artifact.parent.mkdir(parents=True)
    shutil.copyfile(setup.newer.artifact, artifact)
    half = setup.config.releases / ".1.1.0.tmp" / "edge-agent-1.1.0"
    (half / "lib").mkdir(parents=True)  # what kill -9 left: no VERSION, no bin
    store = StateFile(setup.config.state_path)
    store.save(
        UpdateRecord(
            state="downloaded",
            version="1.1.0",
            url=setup.server.url(setup.newer.artifact.name),
            manifest=setup.newer.manifest,
            previous="1.0.0",
        )
    )
    assert layout.active_version(setup.config) == "1.0.0"
    host = Host()
    updater = setup.updater(host, "1.0.0")
    updater.start()

    def switched() -> bool:
        updater.tick()
        return updater.exit_requested.is_set()

    wait_for(switched, timeout=20, what="switch after the restart")
    assert setup.server.ranges == []  # the verified artifact was kept: no new download
    assert host.states() == ["installed"]
    assert (setup.config.current / "VERSION").read_text() == "1.1.0\n"
    assert sorted(p.name for p in setup.config.releases.iterdir()) == ["1.0.0", "1.1.0"]


def test_no_secret_in_the_answer_nor_a_state_file_others_can_read(setup: Setup) -> None:
    updater = setup.updater(Host(), "1.0.0")
    secret = setup.args(url="http://fleet:hunter2@127.0.0.1/edge-agent-1.1.0.tar.gz")
    status, output, error = updater.command(secret)
    assert (status, output) == ("rejected", None)
    assert "hunter2" not in (error or "")
    assert not setup.config.state_path.exists()
    # a temporary file left with a wide mode by an earlier crash
    tmp = setup.config.state_path.with_name("update.json.tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text("{}")
    tmp.chmod(0o644)
    store = StateFile(setup.config.state_path)
    store.save(replace(UpdateRecord(state="failed", version="1.1.0"), reason="x"))
    assert os.stat(setup.config.state_path).st_mode & 0o777 == 0o600


def test_a_state_that_cannot_be_written_rejects_the_update(setup: Setup) -> None:
    setup.config.state_path.with_name("update.json.tmp").mkdir(parents=True)
    status, _, error = setup.updater(Host(), "1.0.0").command(setup.args())
    assert status == "rejected"
    assert (error or "").startswith("update state not written:")
    assert not setup.config.downloads.exists()  # nothing fetched


def test_a_failure_is_reported_even_when_the_state_cannot_be_written(setup: Setup) -> None:
    record = UpdateRecord(
        state="downloading",
        version="1.1.0",
        url=setup.server.url("missing.tar.gz"),
        manifest=setup.newer.manifest,
        previous="1.0.0",
    )
    StateFile(setup.config.state_path).save(record)
    setup.config.state_path.with_name("update.json.tmp").mkdir()  # every save fails now
    setup.config = setup.config.model_copy(update={"download_attempts": 1})
    host = Host()
    updater = setup.updater(host, "1.0.0")
    updater.start()
    assert updater._worker is not None
    updater._worker.thread.join(10)
    updater.tick()
    assert host.states() == ["downloading", "failed"]
    assert "HTTP 404" in host.events[-1]["reason"]
