"""Packing under the protocol's cap: the oldest lines go first."""

from __future__ import annotations

import base64
import os

from edge_agent.diagnostics.bundle import pack_lines, pack_text
from fleet_protocol.logs import MAX_LOG_BUNDLE_BYTES, gunzip


def test_what_fits_is_kept_whole() -> None:
    lines = [f"line {i}\n" for i in range(100)]
    packed = pack_lines(lines)
    assert (packed.lines, packed.truncated) == (100, False)
    assert gunzip(packed.body).decode() == "".join(lines)
    assert packed.original_bytes == len("".join(lines))


def test_the_oldest_lines_are_dropped_until_the_gzip_fits() -> None:
    # random text barely compresses: about 3 times the cap
    lines = [base64.b64encode(os.urandom(150)).decode() + "\n" for _ in range(1000)]
    packed = pack_lines(lines)
    assert packed.truncated
    assert len(packed.body) <= MAX_LOG_BUNDLE_BYTES
    assert len(packed.body) > MAX_LOG_BUNDLE_BYTES - 400  # as many lines as fit, no fewer
    kept = gunzip(packed.body).decode()
    assert kept == "".join(lines[-packed.lines :])
    assert packed.original_bytes == sum(len(line) for line in lines)


def test_the_text_cap_applies_before_compression() -> None:
    lines = ["x" * 99 + "\n"] * 50
    packed = pack_lines(lines, max_text=1000)
    assert (packed.lines, packed.truncated) == (10, True)


def test_a_line_larger_than_the_cap_leaves_an_empty_body() -> None:
    packed = pack_lines([base64.b64encode(os.urandom(400)).decode() + "\n"], max_gzip=100)
    assert (packed.lines, packed.truncated, gunzip(packed.body)) == (0, True, b"")


def test_a_report_is_packed_with_no_line_count() -> None:
    packed = pack_text('{\n "a": 1\n}\n')
    assert (packed.lines, packed.truncated, gunzip(packed.body)) == (0, False, b'{\n "a": 1\n}\n')
