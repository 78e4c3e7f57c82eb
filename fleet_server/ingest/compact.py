"""Ingest's side of the compact encoding (fleet_protocol.compact).

A batch is unpacked into its messages before anything else looks at them:
each one is then validated, stored or dead-lettered, counted and receipted
exactly as if it had come on its own topic, with the batch's broker message
acknowledged once all of them are committed. A batch that cannot be read as
a whole (not zlib, truncated, a decompression bomb, too many lines) is one
dead letter naming why; a bad line is a dead letter for itself alone.

After each birth it stores (state ``online``) ingest tells the board which
encodings it reads, on ``fleet/v1/<id>/capabilities``: only an agent that
knows the compact encoding subscribes there, and sends batches from then on
(docs/protocol.md, "Compact encoding"). The same word says how long ingest
holds the receipts of the board's batched messages (``receipt_hold``); a board
that batches without having heard it from this ingest is told at its first batch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from fleet_protocol import (
    SCHEMA_VERSION,
    Capabilities,
    ProtocolError,
    StateMessage,
    capabilities_topic,
    encode,
    parse_topic,
)
from fleet_protocol.compact import ENCODING, unpack
from fleet_server.ingest.consumer import Inbound
from fleet_server.ingest.receipt_hold import ReceiptHold
from fleet_server.telemetry.storage import Accepted, Rejected

log = logging.getLogger(__name__)

#: What this ingest reads besides JSON, named to every board after its birth.
ACCEPTED_ENCODINGS: tuple[str, ...] = (ENCODING,)

Outcome = Accepted | Rejected


def is_batch(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) == 4 and parts[3] == "batch"


def expand(
    batch: Iterable[Inbound], classify: Callable[[Inbound], Outcome]
) -> list[tuple[Inbound, Outcome]]:
    """Every message of ``batch`` with its outcome, a batch's messages in its
    place, each as an Inbound of its own topic and payload (the broker's
    packet id, QoS and receiving time are the batch's)."""
    pairs: list[tuple[Inbound, Outcome]] = []
    for item in batch:
        if not is_batch(item.topic):
            pairs.append((item, classify(item)))
            continue
        try:
            lines = unpack(item.topic, item.payload)
        except ProtocolError as exc:
            pairs.append((item, refused(item, exc)))
            continue
        for line in lines:
            inner = dataclasses.replace(item, topic=line.topic, payload=line.payload)
            outcome = classify(inner) if line.refusal is None else refused(inner, line.refusal)
            pairs.append((inner, outcome))
    return pairs


def refused(item: Inbound, exc: ProtocolError) -> Rejected:
    try:
        device_id: str | None = parse_topic(item.topic).device_id
    except ProtocolError:
        device_id = None
    received_at = datetime.fromtimestamp(item.received_at, UTC)
    return Rejected(item.topic, device_id, exc.reason, exc.detail, item.payload, received_at)


def births(outcomes: Iterable[Outcome]) -> list[str]:
    """Boards whose birth (state ``online``) was stored, to tell what ingest reads."""
    return sorted(
        {
            o.message.device_id
            for o in outcomes
            if isinstance(o, Accepted)
            and isinstance(o.message, StateMessage)
            and o.message.data.status == "online"
        }
    )


def capabilities_for(
    boards: Iterable[str], encodings: Sequence[str], hold: ReceiptHold
) -> list[tuple[str, bytes]]:
    """The ``capabilities`` message for each board (none when ingest reads
    no other encoding), naming the receipt hold when there is one; never raises."""
    if not encodings:
        return []
    every, most = (hold.every_s, hold.max_messages) if hold.enabled else (None, None)
    now = datetime.now(UTC)
    found = []
    for board in boards:
        try:
            message = Capabilities(
                schema_version=SCHEMA_VERSION,
                device_id=board,
                encodings=list(encodings),
                issued_at=now,
                receipt_every_s=every,
                receipt_hold_max=most,
            )
            found.append((capabilities_topic(board), encode(message)))
        except (ProtocolError, ValueError):  # a bad name in encodings: a bug, not the board's
            log.exception("capabilities for %s not sent", board)
    return found
