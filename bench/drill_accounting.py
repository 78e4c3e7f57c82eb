"""Counting a drill: what the boards generated against what PostgreSQL holds.

A message is identified by (device, boot, seq). *Generated* comes from the
boards (each agent's spool ledger, the publisher's ledger); *stored* from
every message table of ``fleet_server.telemetry.rows.SPECS`` except
``board_states`` (birth, will and clean-offline states are published outside
the spool and counted apart); *dead-lettered* from the payloads kept in
``dead_letters``. Lost = generated - stored - dead-lettered.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from fleet_server.telemetry.rows import SPECS

Key = tuple[str, int, int]  # device, boot, seq
STATE_TABLE = "board_states"


def message_tables() -> dict[str, bool]:
    """Table -> whether one message makes a row per camera."""
    return {
        spec.table: "camera_id" in spec.columns
        for spec in SPECS.values()
        if spec.table != STATE_TABLE
    }


@dataclass
class Stored:
    first_at: dict[Key, float]  # wall time (epoch) of the transaction that stored it
    duplicate_rows: int  # rows beyond one per (device, boot, seq) (and camera)
    states: int  # board_states rows
    unique_key: dict[str, bool]  # table -> a unique index leads with (device_id, boot, seq)


def read_stored(db_url: str) -> Stored:
    first_at: dict[Key, float] = {}
    duplicates = 0
    unique: dict[str, bool] = {}
    with psycopg.connect(db_url, autocommit=True) as conn:
        for table, per_camera in message_tables().items():
            extra = "count(DISTINCT camera_id)" if per_camera else "1"
            rows = conn.execute(
                f"SELECT device_id, boot, seq, count(*) - {extra},"
                f" extract(epoch FROM min(stored_at)) FROM {table} GROUP BY 1, 2, 3"
            ).fetchall()
            for device, boot, seq, dup, at in rows:
                duplicates += int(dup)
                key = (device, int(boot), int(seq))
                if key in first_at:
                    duplicates += 1  # the same message in two tables
                first_at[key] = min(float(at), first_at.get(key, float(at)))
            unique[table] = any(
                "(device_id, boot, seq" in str(r[0])
                for r in conn.execute(
                    "SELECT pg_get_indexdef(indexrelid) FROM pg_index"
                    " WHERE indrelid = to_regclass(%s) AND indisunique",
                    (table,),
                )
            )
        row = conn.execute(f"SELECT count(*) FROM {STATE_TABLE}").fetchone()
    return Stored(first_at, duplicates, int(row[0]) if row else 0, unique)


def stored_since(conn: psycopg.Connection[Any], since: float) -> set[Key]:
    """Keys of the messages stored by transactions that started after ``since``."""
    union = " UNION ALL ".join(
        f"SELECT device_id, boot, seq FROM {table} WHERE stored_at >= to_timestamp(%(s)s)"
        for table in message_tables()
    )
    return {(d, int(b), int(s)) for d, b, s in conn.execute(union, {"s": since})}


def read_dead_letters(db_url: str) -> tuple[dict[Key, str], Counter[str]]:
    """Dead letters whose payload names a message: key -> reason; and every
    dead letter's reason."""
    keys: dict[Key, str] = {}
    reasons: Counter[str] = Counter()
    with psycopg.connect(db_url, autocommit=True) as conn:
        for payload, reason in conn.execute("SELECT payload, reason FROM dead_letters"):
            reasons[reason] += 1
            try:
                doc = json.loads(bytes(payload))
                keys[(str(doc["device_id"]), int(doc["boot"]), int(doc["seq"]))] = reason
            except (ValueError, KeyError, TypeError):
                continue
    return keys, reasons


def publisher_ledger(path: Path, names: list[str]) -> dict[Key, float]:
    """The multi-board publisher's ledger: message n is board n % N, seq n // N."""
    count = len(names)
    generated: dict[Key, float] = {}
    if not path.exists():
        return generated
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue  # a line being written
        at, first, last = float(parts[0]), int(parts[1]), int(parts[2])
        for n in range(first, last + 1):
            generated[(names[n % count], 1, n // count)] = at
    return generated


def settle(
    db_url: str,
    target: set[Key],
    dead: Callable[[], Iterable[Key]],
    *,
    timeout: float,
    stall: float,
) -> dict[str, Any]:
    """Wait until every key of ``target`` is stored or dead-lettered, nothing
    has arrived for ``stall`` seconds, or ``timeout``. Returns how it ended."""
    missing = set(target)
    started = time.time()
    last_progress = started
    since = 0.0
    with psycopg.connect(db_url, autocommit=True) as conn:
        while missing:
            polled = time.time()
            before = len(missing)
            # transactions that started before the last poll may commit after it
            missing -= stored_since(conn, since - 30 if since else 0)
            missing -= set(dead())
            since = polled
            now = time.time()
            if len(missing) < before:
                last_progress = now
            if not missing or now - started > timeout or now - last_progress > stall:
                break
            time.sleep(1.0)
    return {
        "settled": not missing,
        "settle_s": round(time.time() - started, 1),
        "missing_at_settle": len(missing),
    }


def outcome(
    generated: dict[Key, float],
    stored: Stored,
    dead: dict[Key, str],
    spooled: set[Key],
    *,
    cutoff: float,
    fault_end: float | None,
    affected: set[str] | None,
) -> dict[str, Any]:
    """The drill's figures. Messages generated after ``cutoff`` (while the
    drill waited for the backlog) are reported apart, never as lost."""
    due = {k: t for k, t in generated.items() if t <= cutoff}
    later = {k for k in generated if k not in due}
    stored_due = sum(1 for k in due if k in stored.first_at)
    dead_due = sum(1 for k in due if k in dead and k not in stored.first_at)
    lost = [k for k in due if k not in stored.first_at and k not in dead]
    # Stored messages of these boards that never were in a spool (an agent
    # that sends without its spool when the disk refuses writes): generated
    # and stored, though a ledger cannot see the ones it lost.
    devices = {k[0] for k in generated}
    unledgered = sum(
        1
        for k, at in stored.first_at.items()
        if k[0] in devices and k not in generated and at <= cutoff
    )
    result: dict[str, Any] = {
        "published": len(due) + unledgered,
        "stored_distinct": stored_due + unledgered,
        "duplicate_rows": stored.duplicate_rows,
        "lost": len(lost),
        "lost_still_spooled": sum(1 for k in lost if k in spooled),
        "dead_lettered": dead_due,
        "generated_while_settling": len(later),
        "unstored_generated_while_settling": sum(1 for k in later if k not in stored.first_at),
        "stored_not_in_ledger": unledgered,
        "states_stored": stored.states,
        "unique_key_on_every_table": all(stored.unique_key.values()),
    }
    if lost:
        by_device = Counter(k[0] for k in lost)
        result["lost_by_device"] = dict(by_device.most_common(8))
    result.update(recovery(generated, stored, fault_end, affected))
    return result


def recovery(
    generated: dict[Key, float],
    stored: Stored,
    fault_end: float | None,
    affected: set[str] | None,
) -> dict[str, Any]:
    """Seconds from the fault's end to the first message of an affected board
    stored again, and until everything they generated before it was stored."""
    if fault_end is None:
        return {"recovery_s": None, "drained_s": None}

    def mine(key: Key) -> bool:
        return affected is None or key[0] in affected

    after = [at for key, at in stored.first_at.items() if mine(key) and at >= fault_end]
    backlog = [key for key, t in generated.items() if mine(key) and t <= fault_end]
    drained = None
    if backlog and all(key in stored.first_at for key in backlog):
        drained = round(max(0.0, max(stored.first_at[key] for key in backlog) - fault_end), 2)
    return {
        "recovery_s": round(min(after) - fault_end, 2) if after else None,
        "drained_s": drained,
    }
