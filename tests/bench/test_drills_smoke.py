"""The fault-drill harness (bench/drills.py) still runs: its smallest drill,
shrunk (``--quick``), against real Mosquitto, PostgreSQL, ingest and agents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

FIELDS = (
    "drill",
    "published",
    "stored_distinct",
    "duplicate_rows",
    "lost",
    "dead_lettered",
    "recovery_s",
    "peak_rss_mb",
    "ok",
)


@pytest.mark.timeout(300)
def test_quick_ingest_kill_drill_counts_what_the_boards_generated(tmp_path: Path) -> None:
    out = tmp_path / "drills.jsonl"
    argv = [sys.executable, "-m", "bench.drills", "--quick", "--drill", "ingest_kill"]
    done = subprocess.run(
        [*argv, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2, done.stdout + done.stderr
    machine, drill = lines
    assert machine["quick"] is True
    assert "machine" in machine
    assert "error" not in drill, drill
    for field in FIELDS:
        assert field in drill, field
    assert drill["drill"] == "ingest_kill"
    assert drill["published"] > 100  # the agents generated load
    assert drill["stored_distinct"] + drill["dead_lettered"] + drill["lost"] == drill["published"]
    assert drill["unique_key_on_every_table"] is True
    assert {"agent", "ingest", "mosquitto", "postgres"} <= set(drill["peak_rss_mb"])
    assert drill["recovery_s"] is not None
