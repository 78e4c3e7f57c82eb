"""The compact encoding (fleet_protocol.compact): a batch round-trips, and
every bound refuses with a reason of its own."""

from __future__ import annotations

import hashlib
import zlib

import pytest

import fleet_protocol as fp
from fleet_protocol import compact
from tests.support import messages as m

BOARD = "lc-cp-01"
BATCH = fp.batch_topic(BOARD)


def readings(count: int, board: str = BOARD) -> list[tuple[str, bytes]]:
    out = []
    for seq in range(count):
        maker = (m.heartbeat, m.power, m.camera)[seq % 3]
        topic, payload = maker(board, seq=seq)
        out.append((topic, payload))
    return out


def event(seq: int) -> tuple[str, bytes]:
    message = fp.EventMessage(
        schema_version=1,
        device_id=BOARD,
        boot=1,
        seq=seq,
        measured_at=m.T0,
        sent_at=m.T0,
        data=fp.EventData(type="agent_started", message="agent started", details={"boot": 1}),
    )
    return fp.event_topic(BOARD, "agent_started"), fp.encode(message)


def deflate(body: bytes, zdict: bytes = compact.ZDICT_V1) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    return packer.compress(body) + packer.flush()


def test_the_dictionary_is_pinned() -> None:
    """Part of the wire format: a changed dictionary is a new encoding name."""
    digest = hashlib.sha256(compact.ZDICT_V1).hexdigest()
    assert digest == "ea842ed9eda1966bd89be1168a552763c938b8f77c50d47b31ee5583fec1b2a7"
    assert compact.ENCODING == "zlib_dict1"


def test_a_batch_round_trips_each_message_byte_for_byte() -> None:
    items = [*readings(30), event(seq=99)]
    payload = compact.pack(BOARD, items)
    inner = compact.unpack(BATCH, payload)
    assert [(i.topic, i.payload) for i in inner] == items
    assert all(i.refusal is None for i in inner)
    for i in inner:  # each one an ordinary message of its own topic
        fp.decode(i.topic, i.payload)
    assert len(payload) * 8 < sum(len(p) for _, p in items)


def test_the_dictionary_makes_even_a_small_batch_small() -> None:
    items = readings(3)
    plain = sum(len(p) for _, p in items)
    assert len(compact.pack(BOARD, items)) * 4 < plain


@pytest.mark.parametrize(
    ("topic", "why"),
    [
        (fp.state_topic(BOARD), "bad_topic"),  # a state keeps its own (retained) topic
        (fp.command_result_topic(BOARD), "bad_topic"),
        (fp.telemetry_topic("lc-other-01", "power"), "bad_topic"),  # another board
    ],
)
def test_pack_refuses_what_cannot_travel_in_a_batch(topic: str, why: str) -> None:
    with pytest.raises(fp.ProtocolError) as err:
        compact.pack(BOARD, [(topic, b"{}")])
    assert err.value.reason == why


def test_pack_refuses_an_empty_batch_and_a_payload_of_two_lines() -> None:
    with pytest.raises(fp.ProtocolError, match="at least one"):
        compact.pack(BOARD, [])
    with pytest.raises(fp.ProtocolError, match="one line"):
        compact.pack(BOARD, [(fp.telemetry_topic(BOARD, "power"), b"{}\n{}")])


@pytest.mark.parametrize(
    ("payload", "reason", "words"),
    [
        (b"not zlib at all", "bad_batch", "not a zlib stream"),
        (deflate(b"telemetry/power {}\n")[:-6], "bad_batch", "truncated"),
        (deflate(b"telemetry/power {}\n") + b"junk", "bad_batch", "follow"),
        (deflate(b"telemetry/power {}"), "bad_batch", "lines ended by LF"),
        (zlib.compress(b"x" * (compact.MAX_INFLATED_BYTES + 1)), "batch_too_large", "inflates"),
        (deflate(b"event/x {}\n" * (compact.MAX_BATCH_MESSAGES + 1)), "batch_too_large", "holds"),
        (b"\x78" * (compact.MAX_BATCH_BYTES + 1), "oversize", "exceeds"),
    ],
    ids=["not-zlib", "truncated", "trailing", "no-lf", "bomb", "count", "oversize"],
)
def test_a_batch_that_cannot_be_read_is_refused_whole(
    payload: bytes, reason: str, words: str
) -> None:
    with pytest.raises(fp.ProtocolError) as err:
        compact.unpack(BATCH, payload)
    assert err.value.reason == reason
    assert words in err.value.detail


def test_a_bomb_is_not_inflated_past_the_limit() -> None:
    """60 KiB that inflate to 50 MB cost a megabyte to refuse."""
    bomb = zlib.compress(b"\0" * 50_000_000, 9)
    assert len(bomb) < compact.MAX_BATCH_BYTES
    with pytest.raises(fp.ProtocolError, match="batch_too_large"):
        compact.unpack(BATCH, bomb)


def test_a_bad_line_is_refused_alone_and_the_others_are_read() -> None:
    good = readings(2)
    lines = [
        b"state " + m.state(BOARD)[1],  # not batchable
        b"telemetry/nonsense {}",  # not a channel
        b"no-space-here",
        b"telemetry/\xff {}",  # not ASCII
        b"batch {}",  # no batch in a batch
    ]
    body = b"".join(t.split("/", 3)[3].encode() + b" " + p + b"\n" for t, p in good)
    body += b"".join(line + b"\n" for line in lines)
    inner = compact.unpack(BATCH, deflate(body))
    assert [(i.topic, i.payload) for i in inner[:2]] == good
    refused = inner[2:]
    assert [i.refusal.reason for i in refused if i.refusal] == ["bad_topic"] * 2 + [
        "bad_batch",
        "bad_topic",
        "bad_topic",
    ]
    assert all(i.topic == BATCH for i in refused)  # kept as the batch's
    assert all("batch line" in str(i.refusal) for i in refused)


def test_a_line_of_another_boards_message_fails_decode_as_a_mismatch() -> None:
    """The channel is the batch's board's; a payload naming another board is
    refused by decode like any message on a wrong topic."""
    _, payload = m.power("lc-other-01", seq=1)
    inner = compact.unpack(BATCH, deflate(b"telemetry/power " + payload + b"\n"))
    assert inner[0].topic == fp.telemetry_topic(BOARD, "power")
    with pytest.raises(fp.ProtocolError) as err:
        fp.decode(inner[0].topic, inner[0].payload)
    assert err.value.reason == "device_mismatch"


def test_decode_sends_a_batch_to_unpack() -> None:
    with pytest.raises(fp.ProtocolError, match=r"compact\.unpack"):
        fp.decode(BATCH, compact.pack(BOARD, readings(1)))


def test_capabilities_round_trip() -> None:
    message = fp.Capabilities(
        schema_version=1,
        device_id=BOARD,
        encodings=[compact.ENCODING],
        issued_at=m.T0,
    )
    topic = fp.capabilities_topic(BOARD)
    assert topic == f"fleet/v1/{BOARD}/capabilities"
    assert fp.decode(topic, fp.encode(message)) == message
