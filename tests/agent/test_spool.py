"""The spool on its own: counters, bounds, acknowledgement, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from edge_agent.spool import PRIORITY_KEEP, PRIORITY_TELEMETRY, Spool


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def payload(seq: int, size: int = 200) -> bytes:
    return (b'{"seq":%d,"pad":"' % seq) + b"x" * size + b'"}'


def test_boot_counter_increments_and_seq_restarts(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    assert spool.start_boot() == 1
    assert [spool.next_seq() for _ in range(3)] == [0, 1, 2]
    spool.close()
    again = Spool(tmp_path / "s.db")
    assert again.boot == 1
    assert again.start_boot() == 2
    assert again.next_seq() == 0
    again.close()


def test_seq_survives_reopen_within_a_boot(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    spool.start_boot()
    spool.add("t", payload, PRIORITY_TELEMETRY)
    spool.add("t", payload, PRIORITY_TELEMETRY)
    spool.close()
    again = Spool(tmp_path / "s.db")
    assert again.next_seq() == 2


def test_pending_in_order_and_acknowledge_deletes(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    spool.start_boot()
    for _ in range(5):
        spool.add("t", payload, PRIORITY_TELEMETRY)
    rows = spool.pending(limit=10)
    assert [r.payload for r in rows] == [payload(i) for i in range(5)]
    spool.acknowledge([rows[0].id, rows[2].id])
    assert [r.id for r in spool.pending()] == [rows[1].id, rows[3].id, rows[4].id]
    assert [r.id for r in spool.pending(after_id=rows[3].id)] == [rows[4].id]
    stats = spool.stats()
    assert stats.pending == 3
    assert stats.pending_bytes > 0


def test_full_spool_drops_oldest_telemetry_never_events(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_bytes=20_000)
    spool.start_boot()
    events = [spool.add("e", payload, PRIORITY_KEEP) for _ in range(5)]
    for _ in range(500):
        spool.add("t", payload, PRIORITY_TELEMETRY)
    stats = spool.stats()
    assert stats.pending_bytes <= 20_000
    assert stats.dropped_total > 400
    kept = spool.pending(limit=1000)
    assert [r.payload for r in kept if r.topic == "e"] == [payload(s) for s in events]
    telemetry = [int(r.payload.split(b",")[0].split(b":")[1]) for r in kept if r.topic == "t"]
    # the newest survive, oldest went first, nothing in between is missing
    assert telemetry[-1] == 504
    assert telemetry == list(range(telemetry[0], 505))
    spool.close()
    assert Spool(tmp_path / "s.db").dropped_total == stats.dropped_total


def test_long_outage_stays_within_the_byte_bound_on_disk(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_bytes=1_000_000)
    spool.start_boot()
    for _ in range(20_000):
        spool.add("fleet/v1/lc-mlt-01/telemetry/heartbeat", payload, PRIORITY_TELEMETRY)
    stats = spool.stats()
    assert stats.pending_bytes <= 1_000_000
    assert stats.file_bytes < 3_000_000  # SQLite pages + WAL, bounded too


def test_expire_drops_old_telemetry_only(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path / "s.db", max_age_s=3600, clock=clock)
    spool.start_boot()
    spool.add("t", payload, PRIORITY_TELEMETRY)
    spool.add("e", payload, PRIORITY_KEEP)
    clock.now += 7200
    spool.add("t", payload, PRIORITY_TELEMETRY)
    assert spool.expire() == 1
    assert [r.topic for r in spool.pending()] == ["e", "t"]
    assert spool.dropped_total == 1


def test_command_ids_are_remembered(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    assert not spool.command_seen("r-1")
    spool.remember_command("r-1")
    assert spool.command_seen("r-1")


WRITER = """
import sys
from pathlib import Path
from edge_agent.spool import Spool, PRIORITY_TELEMETRY
spool = Spool(Path(sys.argv[1]))
spool.start_boot()
while True:
    seq = spool.add("t", lambda s: b"sample-%d" % s, PRIORITY_TELEMETRY)
    print(seq, flush=True)
"""


def test_kill_9_while_writing_loses_at_most_the_sample_in_progress(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    committed = []
    for line in proc.stdout:
        committed.append(int(line))
        if len(committed) >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for line in proc.stdout:  # whatever was printed before the kill
        committed.append(int(line))
    spool = Spool(path)
    stored = [int(r.payload.split(b"-")[1]) for r in spool.pending(limit=100_000)]
    assert stored[: len(committed)] == committed  # every committed sample is there, in order
    assert len(stored) - len(committed) <= 1  # at most the one being written
    assert stored == list(range(len(stored)))  # no gap, no duplicate
    assert spool.next_seq() == len(stored)  # never reuses a stored seq
