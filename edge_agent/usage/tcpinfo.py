"""The kernel's byte counters of one TCP connection (Linux ``TCP_INFO``).

``getsockopt(IPPROTO_TCP, TCP_INFO)`` returns ``struct tcp_info``
(include/uapi/linux/tcp.h). The fields read here, at fixed offsets (the
struct only grows at its end; every field is in native byte order):

=========== ====== ==== ==============================================
offset      type   name since
=========== ====== ==== ==============================================
120         u64    tcpi_bytes_acked     4.1 (RFC 4898 ThruOctetsAcked)
128         u64    tcpi_bytes_received  4.1 (RFC 4898 ThruOctetsReceived)
136         u32    tcpi_segs_out        4.2
140         u32    tcpi_segs_in         4.2
=========== ====== ==== ==============================================

The first 120 bytes are 8 one-byte fields, 24 ``u32`` (rto … total_retrans)
and the two ``u64`` pacing rates. A kernel that returns fewer than 144 bytes
(older than 4.2), or a platform without ``TCP_INFO``, gives None: the agent
then counts payloads instead (``DataMeter``).

``bytes_acked`` and ``bytes_received`` are the connection's TCP payload:
MQTT packets with their headers, and the TLS records when the link is TLS
(handshake included). A 4G operator bills IP packets, so each segment's
IP and TCP headers are added as an estimate: 52 bytes over IPv4 (20 IP,
20 TCP, 12 of timestamp option), 72 over IPv6. ``bytes_acked`` also counts
the SYN as one byte; retransmitted bytes are counted once.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

#: Linux's value; Python exposes it as socket.TCP_INFO on Linux only.
TCP_INFO = getattr(socket, "TCP_INFO", 11)
#: The struct up to and including tcpi_segs_in.
NEEDED = 144
_FIELDS = struct.Struct("=QQII")
_OFFSET = 120
HEADER_BYTES_IPV4 = 52
HEADER_BYTES_IPV6 = 72


@dataclass(frozen=True, slots=True)
class Counters:
    """Bytes on the link since the connection opened (headers estimated)."""

    sent: int
    received: int


def read(sock: object) -> Counters | None:
    """The connection's counters, or None when the kernel does not give them."""
    if not isinstance(sock, socket.socket):
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, NEEDED)
    except (OSError, ValueError):  # closed, not TCP, or no TCP_INFO here
        return None
    if len(raw) < NEEDED:
        return None
    acked, received, segs_out, segs_in = _FIELDS.unpack_from(raw, _OFFSET)
    header = HEADER_BYTES_IPV6 if sock.family == socket.AF_INET6 else HEADER_BYTES_IPV4
    return Counters(acked + segs_out * header, received + segs_in * header)


def supported() -> bool:
    """Whether this kernel gives the counters (asked of a fresh, unconnected socket)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            return read(probe) is not None
    except OSError:
        return False
