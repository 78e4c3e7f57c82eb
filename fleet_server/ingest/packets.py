"""A batch's outgoing packets in one write: its PUBACKs and its receipts.

paho queues and writes every packet on its own: a byte down a socket pair to
wake its network thread, a ``send()``, and for a publish a message-info
object with its condition variable. With many boards a batch of 1,000
messages sends about 1,000 receipts and 1,000 PUBACKs, and that cost ingest
about as much CPU as receiving the messages (issue 20: a QoS 0 receipt
through ``publish()`` 30 µs, written with its batch's others 4 µs, on the
loaded bench machine).

So the writer builds the bytes of those packets here (MQTT 3.1.1 and 5,
the bytes paho itself writes: a QoS 0 PUBLISH without properties, a PUBACK
with the success code left out) and hands them to paho's own outgoing
queue as one chunk: they still go in order on paho's socket, from its
network thread, and a lost connection drops them as it drops paho's own.
paho has no public call for that; without ``Client._packet_queue`` (a paho
other than 2.x) :func:`enqueue` says so and the caller sends one by one
through the public API.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion

_PUBLISH_QOS0 = 0x30
_PUBACK = 0x40
#: the command paho is told a chunk is: after writing it paho acts on PUBLISH
#: QoS 0 (callbacks, message info) and DISCONNECT only, on nothing else
_CHUNK = 0x00
#: the largest remaining length MQTT can express
_MAX_REMAINING = 268_435_455


def remaining_length(n: int) -> bytes:
    """MQTT's variable-length integer (1 to 4 bytes)."""
    if not 0 <= n <= _MAX_REMAINING:
        raise ValueError(f"an MQTT packet cannot hold {n} bytes")
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | 0x80 if n else digit)
        if not n:
            return bytes(out)


def publish(topic: str, payload: bytes, protocol: MQTTProtocolVersion) -> bytes:
    """A QoS 0 PUBLISH, not retained, without properties."""
    name = topic.encode()
    if not name or len(name) > 0xFFFF or "+" in topic or "#" in topic or "\0" in topic:
        raise ValueError(f"not a topic to publish on: {topic[:120]!r}")
    properties = b"\x00" if protocol == MQTTProtocolVersion.MQTTv5 else b""
    length = 2 + len(name) + len(properties) + len(payload)
    return b"".join(
        (
            bytes((_PUBLISH_QOS0,)),
            remaining_length(length),
            struct.pack("!H", len(name)),
            name,
            properties,
            payload,
        )
    )


def pubacks(mids: Iterable[int]) -> bytes:
    """PUBACKs (success) of these packet ids, back to back."""
    return b"".join(struct.pack("!BBH", _PUBACK, 2, mid) for mid in mids)


def enqueue(client: mqtt.Client, chunk: bytes) -> bool:
    """Queue ready packets' bytes on paho's socket (see the module); False
    when this paho cannot, and nothing was queued."""
    queue = getattr(client, "_packet_queue", None)
    if queue is None:
        return False
    if chunk:
        queue(_CHUNK, chunk, 0, 0)
    return True
