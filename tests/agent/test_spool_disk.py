"""The spool on a real full disk (a small tmpfs): errors are SpoolError, the
counters stay exact, the boot counter survives, delivered rows can be deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.errors import SpoolError
from edge_agent.spool import PRIORITY_KEEP, PRIORITY_TELEMETRY, Spool
from tests.agent.conftest import fill, spool_sum


def small(seq: int) -> bytes:
    return b'{"seq":%d,"pad":"%s"}' % (seq, b"x" * 300)


def big(seq: int) -> bytes:
    return b'{"seq":%d,"pad":"%s"}' % (seq, b"x" * 8000)


def fill_spool_until_it_fails(spool: Spool) -> list[int]:
    """Add events until the disk refuses one; the seqs stored."""
    stored: list[int] = []
    for _ in range(2000):
        try:
            stored.append(spool.add("e", big, PRIORITY_KEEP))
        except SpoolError:
            return stored
    raise AssertionError("the disk never filled up")


def test_a_full_disk_is_a_spool_error_and_nothing_drifts(small_disk: Path) -> None:
    path = small_disk / "s.db"
    spool = Spool(path)
    spool.start_boot()
    for _ in range(20):
        spool.add("t", small, PRIORITY_TELEMETRY)
    filler = fill(small_disk)
    stored = fill_spool_until_it_fails(spool)
    # the failed COMMITs changed nothing in memory: the counters are the table's
    assert (spool.pending_count, spool.pending_bytes) == spool_sum(path)
    events = [r.seq for r in spool.pending(limit=10_000) if r.topic == "e"]
    assert events == stored  # every event the spool accepted is there, none dropped
    filler.unlink()
    seq = spool.add("e", small, PRIORITY_KEEP)
    assert seq > max(stored, default=19)  # a seq is never handed out twice
    assert (spool.pending_count, spool.pending_bytes) == spool_sum(path)


def test_making_room_drops_the_oldest_telemetry_never_events(small_disk: Path) -> None:
    path = small_disk / "s.db"
    # The reserve pays for the DELETE; the rows after it reuse the pages freed.
    spool = Spool(path, reserve_bytes=256 * 1024)
    spool.start_boot()
    for i in range(300):
        spool.add("e" if i % 50 == 0 else "t", small, PRIORITY_KEEP if i % 50 == 0 else 1)
    fill(small_disk)
    stored = fill_spool_until_it_fails(spool)
    rows = spool.pending(limit=10_000)
    assert [r.seq for r in rows if r.topic == "e"] == [*range(0, 300, 50), *stored]
    telemetry = [r.seq or 0 for r in rows if r.topic == "t"]
    if telemetry:  # whatever telemetry is left is the newest, without a hole
        expected = [s for s in range(telemetry[0], 300) if s % 50]
        assert telemetry == expected
    assert spool.dropped_total == 294 - len(telemetry) > 0
    assert len(stored) > 10  # room was made for these
    assert (spool.pending_count, spool.pending_bytes) == spool_sum(path)


def test_start_on_a_full_disk_takes_a_new_boot_and_catches_up_later(small_disk: Path) -> None:
    path = small_disk / "s.db"
    spool = Spool(path)
    assert spool.start_boot() == 1
    for _ in range(5):
        spool.add("t", small, PRIORITY_TELEMETRY)
    spool.close()  # SQLite removes its WAL and shared-memory files: opening needs space
    filler = fill(small_disk)

    spool = Spool(path)  # does not raise
    assert spool.start_boot() == 2  # from the boot file, rewritten in place
    with pytest.raises(SpoolError):
        spool.add("t", small, PRIORITY_TELEMETRY)
    assert [spool.next_seq() for _ in range(3)] == [0, 1, 2]  # from memory

    filler.unlink()
    assert spool.add("t", small, PRIORITY_TELEMETRY) == 3
    assert [(r.boot, r.seq) for r in spool.pending()][-1] == (2, 3)
    spool.close()
    again = Spool(path)
    assert again.boot == 2  # the database caught up with the boot file
    assert again.start_boot() == 3


def test_delivered_rows_are_deleted_on_a_full_disk_with_the_reserve(small_disk: Path) -> None:
    path = small_disk / "s.db"
    reserve = Path(f"{path}.reserve")
    spool = Spool(path, reserve_bytes=256 * 1024)
    spool.start_boot()
    assert reserve.exists()
    for _ in range(100):
        spool.add("t", small, PRIORITY_TELEMETRY)
    spool.close()
    fill(small_disk)

    spool = Spool(path, reserve_bytes=256 * 1024)
    ids = [r.id for r in spool.pending(limit=1000)]
    spool.acknowledge(ids[:60])
    spool.acknowledge_receipt(spool.boot, [(60, 99)])
    assert spool.pending_count == 0
    assert spool_sum(path) == (0, 0)
    assert not reserve.exists()  # spent on it
    spool.maintain()
    assert not reserve.exists()  # and not taken back while the disk is full


def test_without_a_reserve_a_failed_delete_leaves_the_counters_exact(small_disk: Path) -> None:
    path = small_disk / "s.db"
    spool = Spool(path)
    spool.start_boot()
    for _ in range(100):
        spool.add("t", small, PRIORITY_TELEMETRY)
    ids = [r.id for r in spool.pending(limit=1000)]
    spool.close()
    filler = fill(small_disk)
    spool = Spool(path)
    spool.start_boot()
    with pytest.raises(SpoolError):
        spool.acknowledge(ids)
    assert spool.pending_count == 100  # read without opening it for writing
    filler.unlink()
    spool.acknowledge(ids)
    assert (spool.pending_count, spool.pending_bytes) == spool_sum(path) == (0, 0)
