"""End-to-end delivery receipts: which of a board's messages the server keeps.

After each commit, ingest tells every board of the batch which seqs of its
boot it has committed — stored, already stored (a duplicate), or kept as a
dead letter: anything the board need not send again — so the board can
drop them from its spool. A broker's PUBACK only says the broker has a
message; brokers lose queued messages across restarts and fail-overs.

One :class:`fleet_protocol.Receipt` per (board, boot) and batch, on
``fleet/v1/<id>/receipt`` (QoS 0, not retained), with the seqs collapsed
into inclusive ranges, split when there are more than ``MAX_RECEIPT_RANGES``.
Only the board a topic names gets receipts for what came on it (the broker
lets a board publish on its own topics only). A receipt lost on the way
costs a duplicate the database drops, never data.

**QoS 0** (issue 20; QoS 1 before). A receipt only lets a board forget
sooner: the agent keeps every message until one names it, sends it again
after ``spool.receipt_timeout_s`` or a reconnect, and the server stores a
message sent twice once. The agent connects with a clean session, so the
broker never delivers a QoS 1 receipt again after a lost connection
either, and on one connection TCP delivers in order: QoS 1 lost the same
receipts QoS 0 does and added, per receipt, a PUBACK and paho's in-flight
bookkeeping (20 in flight, the rest queued and sent from the network
thread as PUBACKs came) — with many boards one receipt a message, as much
work as the message itself.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from pydantic import TypeAdapter

from fleet_protocol import (
    MAX_RECEIPT_RANGES,
    MAX_SNAPSHOT_PAYLOAD_BYTES,
    SCHEMA_VERSION,
    Receipt,
    encode,
    large_payload_allowed,
    receipt_topic,
)
from fleet_protocol.messages import MAX_BOOT, MAX_SEQ
from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.ingest.consumer import Inbound
from fleet_server.telemetry.storage import Accepted, Rejected

#: (board, boot, seq) of a committed message
Key = tuple[str, int, int]


def seq_ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """``[5, 1, 2, 3, 9, 2]`` → ``[(1, 3), (5, 5), (9, 9)]``."""
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


def receipts_for(keys: Iterable[Key], committed_at: datetime) -> list[Receipt]:
    """One receipt per (board, boot), more if it has too many ranges."""
    seqs: dict[tuple[str, int], list[int]] = defaultdict(list)
    for board, boot, seq in keys:
        seqs[(board, boot)].append(seq)
    receipts = []
    for (board, boot), found in sorted(seqs.items()):
        ranges = seq_ranges(found)
        for start in range(0, len(ranges), MAX_RECEIPT_RANGES):
            receipts.append(
                Receipt(
                    schema_version=SCHEMA_VERSION,
                    device_id=board,
                    boot=boot,
                    ranges=ranges[start : start + MAX_RECEIPT_RANGES],
                    committed_at=committed_at,
                )
            )
    return receipts


def publication(receipt: Receipt) -> tuple[str, bytes]:
    """Topic and payload of a receipt."""
    return receipt_topic(receipt.device_id), encode(receipt)


_DEVICE = re.compile(DEVICE_ID_PATTERN)
_TIME = TypeAdapter(datetime)


def publications(keys: Iterable[Key], committed_at: datetime) -> list[tuple[str, bytes]]:
    """``[publication(r) for r in receipts_for(keys, committed_at)]``, the same
    bytes, written directly (issue 20): a batch from many boards sends about
    one receipt a message, and building each as a model, serialising it and
    validating it again cost ingest more than a bare subscriber's whole work
    per message. Only values ``Receipt`` accepts take the direct way (ids of
    the topic pattern, boots and seqs in range: nothing to escape); anything
    else takes the model's, which refuses it as before."""
    seqs: dict[tuple[str, int], list[int]] = defaultdict(list)
    for board, boot, seq in keys:
        seqs[(board, boot)].append(seq)
    at = _TIME.dump_json(committed_at).decode()
    out: list[tuple[str, bytes]] = []
    for (board, boot), found in sorted(seqs.items()):
        ranges = seq_ranges(found)
        direct = (
            _DEVICE.fullmatch(board) is not None
            and 1 <= boot <= MAX_BOOT
            and ranges[0][0] >= 0
            and ranges[-1][1] <= MAX_SEQ
            and committed_at.tzinfo is not None
        )
        for start in range(0, len(ranges), MAX_RECEIPT_RANGES):
            part = ranges[start : start + MAX_RECEIPT_RANGES]
            if not direct:
                receipt = Receipt(
                    schema_version=SCHEMA_VERSION,
                    device_id=board,
                    boot=boot,
                    ranges=part,
                    committed_at=committed_at,
                )
                out.append(publication(receipt))
                continue
            text = ",".join(f"[{a},{b}]" for a, b in part)
            out.append(
                (
                    f"fleet/v1/{board}/receipt",
                    (
                        f'{{"schema_version":{SCHEMA_VERSION},"device_id":"{board}",'
                        f'"boot":{boot},"ranges":[{text}],"committed_at":{at}}}'
                    ).encode(),
                )
            )
    return out


def receipt_key(item: Inbound, outcome: Accepted | Rejected, max_bytes: int) -> Key | None:
    """The (board, boot, seq) a committed message is receipted under, or None.

    A stored message has them from its validated envelope. A refused one is
    read leniently (its JSON object's ``boot`` and ``seq``), so a board stops
    resending what the server will refuse again; the board is always the
    topic's, whatever the payload claims. ``max_bytes`` is the largest
    payload read so; a snapshot's or a log bundle's is the snapshot channel's
    limit (a picture the server refused must not come back forever either)."""
    if isinstance(outcome, Accepted):
        message = outcome.message
        return message.device_id, message.boot, message.seq
    board = outcome.device_id
    if large_payload_allowed(item.topic):
        max_bytes = max(max_bytes, MAX_SNAPSHOT_PAYLOAD_BYTES)
    if board is None or len(item.payload) > max_bytes:
        return None
    envelope = _lenient_envelope(item.payload)
    return None if envelope is None else (board, *envelope)


def _lenient_envelope(payload: bytes) -> tuple[int, int] | None:
    """``boot`` and ``seq`` of a JSON object, when both are plausible."""
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    boot, seq = doc.get("boot"), doc.get("seq")
    if type(boot) is not int or type(seq) is not int:  # bool is no seq
        return None
    if not (1 <= boot <= MAX_BOOT and 0 <= seq <= MAX_SEQ):
        return None
    return boot, seq
