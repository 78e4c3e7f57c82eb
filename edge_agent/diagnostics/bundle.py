"""Packing redacted text under the protocol's cap: gzip, and while the gzip
is larger than ``MAX_LOG_BUNDLE_BYTES`` (or the text larger than
``MAX_LOG_TEXT_BYTES``), drop the oldest lines; the newest are what the
technician is after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fleet_protocol.logs import MAX_LOG_BUNDLE_BYTES, MAX_LOG_TEXT_BYTES, gzip_text


@dataclass(frozen=True, slots=True)
class Packed:
    body: bytes
    #: lines in the body
    lines: int
    truncated: bool
    #: the text's size before any line was dropped
    original_bytes: int


def pack_lines(
    lines: Sequence[str],
    *,
    max_gzip: int = MAX_LOG_BUNDLE_BYTES,
    max_text: int = MAX_LOG_TEXT_BYTES,
) -> Packed:
    """The newest of ``lines`` (each ending in a newline, oldest first) whose
    gzip fits ``max_gzip`` and whose text fits ``max_text``."""
    encoded = [line.encode() for line in lines]
    total = sum(map(len, encoded))
    # The text cap first (cheap, exact): the newest lines within max_text.
    start, size = len(encoded), 0
    while start > 0 and size + len(encoded[start - 1]) <= max_text:
        start -= 1
        size += len(encoded[start])

    def body_from(first: int) -> bytes:
        return gzip_text(b"".join(encoded[first:]))

    body = body_from(start)
    if len(body) > max_gzip:
        # The gzip shrinks (nearly) monotonically as lines are dropped: bisect
        # for the first line that makes it fit, then step on until it does.
        low, high = start + 1, len(encoded)
        while low < high:
            middle = (low + high) // 2
            if len(body_from(middle)) <= max_gzip:
                high = middle
            else:
                low = middle + 1
        start = low
        body = body_from(start)
        while len(body) > max_gzip:
            start += 1
            body = body_from(start)
    return Packed(body, len(encoded) - start, start > 0, total)


def pack_text(text: str) -> Packed:
    """A report (one JSON document) packed like lines: it fits whole in all
    but a broken case, in which the end of it is what is kept."""
    packed = pack_lines(text.splitlines(keepends=True))
    return Packed(packed.body, 0, packed.truncated, packed.original_bytes)
