"""The spool on its own: counters, bounds, acknowledgement, crash safety."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import fleet_protocol as fp
from edge_agent.spool import PRIORITY_KEEP, PRIORITY_TELEMETRY, Spool
from tests.agent.conftest import spool_sum
from tests.support.clock import Clock

#: Where the spool tests' clock starts (epoch seconds 1 000 000).
SPOOL_START = datetime.fromtimestamp(1_000_000, UTC)


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
    # seqs are persisted in blocks: a reopened spool continues above every seq
    # this boot may have used, never below
    assert again.next_seq() >= 2


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


def test_rows_the_broker_has_go_before_rows_never_sent(tmp_path: Path) -> None:
    """Dropping a row never sent loses it for sure; one the broker already
    acknowledged has most likely reached the server: those go first."""
    spool = Spool(tmp_path / "s.db", max_bytes=20_000)
    spool.start_boot()
    for _ in range(100):
        spool.add("t", payload, PRIORITY_TELEMETRY)
    rows = spool.pending(limit=1000)
    sent = {r.id for r in rows[40:90]}  # PUBACKed, waiting for their receipt
    spool.sent_rows = lambda: sent
    for _ in range(30):
        spool.add("t", payload, PRIORITY_TELEMETRY)
    kept = {r.id for r in spool.pending(limit=1000)}
    assert spool.stats().dropped_total > 0
    gone = {r.id for r in rows} - kept
    assert gone <= sent, "a row never sent was dropped while sent rows were left"
    assert {r.id for r in rows[:40]} <= kept


@pytest.fixture
def memory_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on tmpfs (/dev/shm) when the machine has one, else ``tmp_path``.

    20,000 spool writes are 20,000 commits with ``synchronous=FULL``: on a
    disk their fsyncs took 80-100 s of a loaded test run, on tmpfs they cost
    nothing. The bounds the test checks (rows' bytes, SQLite's pages and WAL)
    are the same on either."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="fleet-spool-") as where:
        yield Path(where)


def test_long_outage_stays_within_the_byte_bound_on_disk(memory_dir: Path) -> None:
    spool = Spool(memory_dir / "s.db", max_bytes=1_000_000)
    spool.start_boot()
    for _ in range(20_000):
        spool.add("fleet/v1/lc-mlt-01/telemetry/heartbeat", payload, PRIORITY_TELEMETRY)
    stats = spool.stats()
    assert stats.pending_bytes <= 1_000_000
    assert stats.file_bytes < 3_000_000  # SQLite pages + WAL, bounded too


def test_expire_drops_old_telemetry_only(tmp_path: Path) -> None:
    clock = Clock(SPOOL_START)
    spool = Spool(tmp_path / "s.db", max_age_s=3600, clock=clock.seconds)
    spool.start_boot()
    spool.add("t", payload, PRIORITY_TELEMETRY)
    spool.add("e", payload, PRIORITY_KEEP)
    clock.advance(7200)
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
    assert spool.next_seq() >= len(stored)  # never reuses a stored seq


# -- receipts: rows know their (boot, seq) ------------------------------------------------


def test_a_receipt_deletes_exactly_the_rows_it_names(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    boot = spool.start_boot()
    for _ in range(6):
        spool.add("t", payload, PRIORITY_TELEMETRY)
    assert [(r.boot, r.seq) for r in spool.pending()] == [(boot, s) for s in range(6)]
    deleted = spool.acknowledge_receipt(boot, [(0, 1), (4, 4)])
    assert len(deleted) == 3
    assert [r.seq for r in spool.pending()] == [2, 3, 5]
    # another boot, seqs never used, a reversed range: nothing happens
    assert spool.acknowledge_receipt(boot + 1, [(0, 100)]) == []
    assert spool.acknowledge_receipt(boot, [(50, 60), (5, 2)]) == []
    assert [r.seq for r in spool.pending()] == [2, 3, 5]
    assert (spool.pending_count, spool.pending_bytes) == spool_sum(tmp_path / "s.db")


def board_message(boot: int, seq: int) -> bytes:
    now = datetime.now(UTC)
    return fp.encode(
        fp.PowerMessage(
            schema_version=1,
            device_id="lc-mlt-01",
            boot=boot,
            seq=seq,
            measured_at=now,
            sent_at=now,
            data=fp.PowerData(source="ups", on_battery=False),
        )
    )


# The schema of the agent before receipts (a board in the field has this file).
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT NOT NULL,
    payload    BLOB NOT NULL,
    priority   INTEGER NOT NULL,
    created_at REAL NOT NULL,
    size       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_drop_idx ON outbox (priority, id);
CREATE TABLE IF NOT EXISTS commands_seen (
    request_id  TEXT PRIMARY KEY,
    answered_at REAL NOT NULL
);
"""


def old_spool(path: Path, boot: int, payloads: list[bytes]) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO meta VALUES ('boot', ?), ('seq', ?)", (boot, len(payloads)))
        for body in payloads:
            db.execute(
                "INSERT INTO outbox (topic, payload, priority, created_at, size)"
                " VALUES ('fleet/v1/lc-mlt-01/telemetry/power', ?, 1, 1.0, ?)",
                (body, len(body) + 100),
            )


def test_the_spool_of_an_earlier_agent_opens_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    old_spool(path, 3, [board_message(3, 5), board_message(3, 6), b"not json"])
    spool = Spool(path)
    rows = spool.pending()
    assert [(r.boot, r.seq) for r in rows] == [(3, 5), (3, 6), (None, None)]
    assert spool.pending_count == 3
    # The boot file did not exist: an earlier start on a full disk might have
    # used boot 4 without saving it, so this start skips it.
    assert spool.start_boot() == 5
    assert spool.acknowledge_receipt(3, [(5, 5)]) == [rows[0].id]
    spool.acknowledge([rows[2].id])  # no (boot, seq): delivered on PUBACK
    spool.close()
    again = Spool(path)  # the upgrade happens once
    assert [(r.boot, r.seq) for r in again.pending()] == [(3, 6)]
    assert again.start_boot() == 6
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_counters_follow_every_change(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    clock = Clock(SPOOL_START)
    spool = Spool(path, max_bytes=30_000, max_age_s=3600, clock=clock.seconds)
    spool.start_boot()
    for i in range(300):
        spool.add("t" if i % 7 else "e", payload, PRIORITY_TELEMETRY if i % 7 else PRIORITY_KEEP)
        if i == 150:
            clock.advance(7200)
    assert (spool.pending_count, spool.pending_bytes) == spool_sum(path)
    spool.expire()
    rows = spool.pending(limit=1000)
    spool.acknowledge([r.id for r in rows[::3]])
    spool.acknowledge_receipt(spool.boot, [(0, 200)])
    assert (spool.pending_count, spool.pending_bytes) == spool_sum(path)
    spool.close()
    again = Spool(path)
    assert (again.pending_count, again.pending_bytes) == spool_sum(path)


def test_a_payload_the_protocol_refuses_leaves_no_trace(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    spool.start_boot()
    spool.add("t", payload, PRIORITY_TELEMETRY)

    def refused(_seq: int) -> bytes:
        raise ValueError("text contains a URL with credentials")

    with pytest.raises(ValueError, match="credentials"):
        spool.add("t", refused, PRIORITY_TELEMETRY)
    assert spool.add("t", payload, PRIORITY_TELEMETRY) == 1
    assert (spool.pending_count, spool.pending_bytes) == spool_sum(tmp_path / "s.db")
