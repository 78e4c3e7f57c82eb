"""The inspection archive's manifest certifies the audit log as it stood at
the period's end: the chain head (row id and hash) of the last row before it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg

from fleet_server.reports import archive
from fleet_server.reports.figures import Period
from fleet_server.users.audit_chain import GENESIS, verify

Conn = psycopg.Connection[Any]
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def manifest_chain(conn: Conn, tmp_path: Path) -> dict[str, Any]:
    archive.write(conn, archive.Scope(), Period.days(DAY, DAY), tmp_path, generated_by="x", now=NOW)
    chain: dict[str, Any] = json.loads((tmp_path / "manifest.json").read_text())["audit_chain"]
    return chain


def test_the_manifest_names_the_chain_head_at_the_period_end(db: Conn, tmp_path: Path) -> None:
    assert manifest_chain(db, tmp_path / "empty") == {
        "as_of": "2026-11-21T00:00:00+07:00",
        "chain_seq": None,
        "row_id": None,
        "row_hash": GENESIS,
    }
    # The period ends at local midnight, 17:00 UTC the day before.
    for at in ("2026-11-20 10:00Z", "2026-11-20 16:59:59Z", "2026-11-20 17:00Z", "2026-11-27Z"):
        db.execute("INSERT INTO audit_log (actor, action, at) VALUES ('a', 'login', %s)", (at,))
    last_before = db.execute(
        "SELECT chain_seq, id, row_hash FROM audit_log WHERE at = '2026-11-20 16:59:59Z'"
    ).fetchone()
    assert last_before is not None
    chain = manifest_chain(db, tmp_path / "full")
    assert (chain["chain_seq"], chain["row_id"], chain["row_hash"]) == last_before
    assert verify(db).intact
