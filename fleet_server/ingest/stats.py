"""Ingest's counters, for logs, tests and the metrics endpoint."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields


@dataclass(slots=True)
class IngestStats:
    """Counters for logs, tests and (later) Prometheus."""

    received: int = 0
    stored_rows: int = 0
    duplicate_rows: int = 0
    batches: int = 0
    acked: int = 0
    ack_skipped: int = 0
    db_failures: int = 0
    dropped: int = 0
    isolations: int = 0
    receipts: int = 0
    receipts_unsent: int = 0
    commit_seconds: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, object]:
        values: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        values["commit_seconds"] = round(self.commit_seconds, 3)
        values["rejected"] = dict(self.rejected)
        values["suppressed"] = dict(self.suppressed)
        return values
