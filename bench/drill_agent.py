"""``edge-agent run`` with a board clock the drill can step (the clock drill).

The same agent as ``edge-agent --config … run --simulate``, built through the
agent's own clock seam, ``Agent(clock=…)``: the clock is the system's wall
clock plus an offset in seconds read from ``--clock-file`` (re-read every
second), so the drill can step the board's clock while it runs. The seam
reaches every spooled message (measured_at, sent_at, spool ages); the MQTT
session's state messages (birth, will) still read the system clock.

libfaketime was tried first (a process-wide shift of a real ``edge-agent``):
0.9.10 from Debian 12 makes Python 3.11's ``time.sleep`` and
``Event.wait`` fail with EINVAL when the monotonic clock is left alone, as a
real NTP step leaves it.

    python -m bench.drill_agent --clock-file offset.txt --config agent.toml run --simulate
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from pathlib import Path

from edge_agent.agent import Agent
from edge_agent.config import load_config
from edge_agent.simulation import SimulatedBoard
from edge_agent.stop_signal import stop_event


class SteppedClock:
    """Wall clock plus the offset written in a file (re-read once a second)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0.0
        self._read_at = float("-inf")

    def __call__(self) -> float:
        now = time.monotonic()
        if now - self._read_at >= 1.0:
            self._read_at = now
            with contextlib.suppress(OSError, ValueError):
                self._offset = float(self.path.read_text().strip() or 0)
        return time.time() + self._offset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clock-file", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--simulate", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = load_config(args.config, simulate=True)
    logging.getLogger().setLevel(config.log_level)
    sim = SimulatedBoard(cameras={c.id: True for c in config.cameras} or {"cam1": True})
    agent = Agent(config, sim=sim, clock=SteppedClock(args.clock_file))
    # as edge-agent run: the handler itself must not set wake (edge_agent.stop_signal)
    agent.run(stop_event(agent.wake))


if __name__ == "__main__":
    main()
