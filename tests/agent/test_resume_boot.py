"""A simulated board restarted by the demo continues its boot
(``resume_boot``); a real board's every start is a new boot."""

from __future__ import annotations

from pathlib import Path

from edge_agent.agent import Agent
from edge_agent.config import load_config
from edge_agent.simulation import SimulatedBoard
from tests.agent.conftest import fake_collectors


def start(spool: Path, *, sim: SimulatedBoard | None, resume: bool) -> tuple[int, int]:
    """(boot, next seq) of an agent started on ``spool``, then closed."""
    config = load_config(
        None, device_id="lc-mlt-01", spool_path=spool, mqtt_url="mqtt://127.0.0.1:9"
    )
    agent = Agent(config, sim=sim, collectors=fake_collectors(), resume_boot=resume)
    try:
        return agent.boot, agent.spool.next_seq()
    finally:
        agent.close()


def test_a_resumed_simulated_board_keeps_its_boot_and_never_reuses_a_seq(
    tmp_path: Path,
) -> None:
    spool, sim = tmp_path / "spool.db", SimulatedBoard()
    boot, first = start(spool, sim=sim, resume=True)  # nothing to resume: a first boot
    assert (boot, first) == (1, 0)
    again, seq = start(spool, sim=sim, resume=True)
    assert again == 1
    assert seq > first  # above the spool's high-water mark
    # A power cycle (no resume) is a new boot, and the next resume continues it.
    assert start(spool, sim=sim, resume=False)[0] == 2
    assert start(spool, sim=sim, resume=True)[0] == 2


def test_a_real_board_ignores_resume(tmp_path: Path) -> None:
    spool = tmp_path / "spool.db"
    assert start(spool, sim=None, resume=True)[0] == 1
    assert start(spool, sim=None, resume=True)[0] == 2
