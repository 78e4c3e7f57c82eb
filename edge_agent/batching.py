"""Which spooled messages travel together in a batch, and when
(the compact encoding, fleet_protocol.compact; docs/protocol.md).

Only telemetry and events are batched; any other message (state, command
results, configuration reports, pictures, log bundles) goes on its own
topic as JSON, in its place in the spool's order, and closes the batch
before it. A batch goes out when one of these holds:

- it holds a message that must not wait (:attr:`BatchPolicy.urgent`):
  a heartbeat — how the server knows the board is alive — or an event; the
  readings waiting go with it, so at the default intervals every heartbeat
  carries the readings of the last 30 s;
- its oldest message has waited ``max_delay_s``;
- it holds ``max_count`` messages, or the spool holds more than may be sent
  at once;
- it holds a message that waited across an outage (replay: it is late
  already, and a backlog goes out in full batches).

A batch whose compressed payload would exceed the broker's limit is split
in two until each part fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from edge_agent.spool import SpoolRow
from fleet_protocol import ProtocolError
from fleet_protocol.compact import MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, batchable, pack


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    #: seconds a reading may wait for others to go with it
    max_delay_s: float = 60.0
    #: most messages in one batch
    max_count: int = 100
    #: what goes at once, taking the waiting readings along: telemetry kinds,
    #: and "event" for every event
    urgent: frozenset[str] = field(default_factory=lambda: frozenset({"heartbeat", "event"}))

    def __post_init__(self) -> None:
        if not 1 <= self.max_count <= MAX_BATCH_MESSAGES:
            raise ValueError(f"max_count must lie in 1..{MAX_BATCH_MESSAGES}")
        if self.max_delay_s < 0:
            raise ValueError("max_delay_s must not be negative")


def is_urgent(topic: str, policy: BatchPolicy) -> bool:
    """A heartbeat (``…/telemetry/heartbeat``) or an event (``…/event/<type>``)."""
    parts = topic.split("/")
    if len(parts) != 5:
        return False
    return parts[4] in policy.urgent if parts[3] == "telemetry" else parts[3] in policy.urgent


@dataclass(frozen=True, slots=True)
class Plan:
    """What to send now, oldest first: groups of batchable rows (one batch
    each) and single other rows; ``waiting``: the oldest row of a batch held
    back, None when nothing waits."""

    sends: list[list[SpoolRow]]
    waiting: SpoolRow | None


def plan(
    rows: Sequence[SpoolRow],
    policy: BatchPolicy,
    now: float,
    *,
    replay_before: float,
    complete: bool,
) -> Plan:
    """Split ``rows`` (the spool's next rows, oldest first) into sends.
    ``complete``: no more rows follow in the spool (otherwise the last batch
    is not held back: more may not be read now). Rows created before
    ``replay_before`` waited across an outage and never wait again."""
    sends: list[list[SpoolRow]] = []
    run: list[SpoolRow] = []
    for row in rows:
        if not batchable(row.topic):
            if run:
                sends.append(run)
                run = []
            sends.append([row])
            continue
        run.append(row)
        if len(run) >= policy.max_count:
            sends.append(run)
            run = []
    if not run:
        return Plan(sends, None)
    due = (
        not complete
        or run[0].created_at <= now - policy.max_delay_s
        or run[0].created_at < replay_before
        or any(is_urgent(row.topic, policy) for row in run)
    )
    if due:
        sends.append(run)
        return Plan(sends, None)
    return Plan(sends, run[0])


def packed(device_id: str, items: Sequence[tuple[str, bytes]]) -> list[tuple[int, bytes]]:
    """Batch payloads for ``(topic, payload)`` pairs, each with how many of
    the items (in order) it holds; halved until each fits MAX_BATCH_BYTES.
    ProtocolError when an item cannot be batched."""
    payload = pack(device_id, items)
    if len(payload) <= MAX_BATCH_BYTES or len(items) == 1:
        if len(payload) > MAX_BATCH_BYTES:
            raise ProtocolError("oversize", "one message does not fit a batch")
        return [(len(items), payload)]
    half = len(items) // 2
    return packed(device_id, items[:half]) + packed(device_id, items[half:])
