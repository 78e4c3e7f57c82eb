"""fleet_protocol.redact: what the agent and ingest remove before they show or
keep a text, and the protocol's credential check agreeing with it."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet_protocol.messages import CREDENTIAL_PATTERN, credential_at, has_credentials
from fleet_protocol.redact import redact, redact_bytes, redact_cut

CASES = [
    ("rtsp://admin:secret@10.0.0.5/s", "rtsp://10.0.0.5/s"),
    ("probe rtsp://admin@10.0.0.5:554/x failed", "probe rtsp://10.0.0.5:554/x failed"),
    ("http://10.0.0.5/onvif", "http://10.0.0.5/onvif"),
    ("rtsp://:pw@h/x", "rtsp://h/x"),
    ("a rtsp://u:p@h b rtsp://v:q@i", "a rtsp://h b rtsp://i"),
    ("rtsp://admin:pa/ss@host/x", "rtsp://host/x"),  # the protocol calls this a password too
    # JSON's spellings of "/" and "@", and an escaped quote inside the password
    ("rtsp:\\/\\/admin:secret@h\\/x", "rtsp:\\/\\/h\\/x"),
    ("rtsp:\\u002f\\u002fadmin:secret@h", "rtsp:\\u002f\\u002fh"),
    ("rtsp://admin:secret\\u0040h", "rtsp://h"),
    ('rtsp://admin:se\\"cret@h', "rtsp://h"),
    # nothing to remove: no user info, or an "@" that is not in one
    ('{"url":"http://host/x","mail":"a@b"}', '{"url":"http://host/x","mail":"a@b"}'),
    ("mailto:someone@example.org", "mailto:someone@example.org"),
]


@pytest.mark.parametrize(("text", "clean"), CASES)
def test_redact_removes_user_info_in_text_and_bytes(text: str, clean: str) -> None:
    assert redact(text) == clean
    assert redact_bytes(text.encode()) == clean.encode()
    assert not re.search(CREDENTIAL_PATTERN, redact(text))


def test_bytes_that_are_not_utf8_are_kept_around_what_is_removed() -> None:
    assert redact_bytes(b"\xff\x00 rtsp://a:b@c \xfe") == b"\xff\x00 rtsp://c \xfe"


def test_redact_cut_never_keeps_part_of_a_credential() -> None:
    data = b"0123456789 rtsp://admin:secret@10.0.0.5/stream"
    assert redact_cut(data, 1000) == b"0123456789 rtsp://10.0.0.5/stream"
    # removed whole although the cut falls inside it; then the cut leaves
    # "scheme://" open and what followed it is dropped too
    assert redact_cut(data, 24) == b"0123456789 rtsp://"
    # the cut leaves "scheme://" open: what followed it may be a user name
    assert redact_cut(b"x rtsp://admin:" + b"p" * 2000 + b"@h", 40) == b"x rtsp://"
    assert redact_cut(b"short", 3) == b"sho"


def test_hostile_input_costs_linear_time() -> None:
    hostile = [
        b"a://" * 16_000,
        b"a" * 64_000,
        b"a://x:" + b"/" * 64_000,
        b"a://" + b"\\x" * 32_000,
    ]
    started = time.perf_counter()
    for data in hostile:
        redact_bytes(data)
        redact_cut(data, 4096)
    assert time.perf_counter() - started < 2.0


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet='a:/@ "\\b.é\t', max_size=24))
def test_credential_at_finds_what_the_pattern_finds(text: str) -> None:
    """The linear search agrees with CREDENTIAL_PATTERN, start offset and all."""
    found = re.search(CREDENTIAL_PATTERN.encode(), text.encode(errors="surrogatepass"))
    assert credential_at(text) == (found.start() if found else None)
    assert has_credentials(text.encode()) is (found is not None)


def test_the_credential_check_costs_linear_time_on_a_snapshot_sized_payload() -> None:
    """CREDENTIAL_PATTERN searched directly took 57 s on the first of these
    (the codec checks every payload before it parses it, snapshots up to 64 KiB)."""
    hostile = [
        b"a://" + b":" * 65_000,
        b"a://b" * 13_000,
        b"a://:" * 13_000 + b"@",
        (b"a" * 31 + b":") * 2_000 + b"@",
        b"@" * 65_000,
    ]
    started = time.perf_counter()
    assert [credential_at(data) for data in hostile] == [None, None, 0, None, None]
    assert time.perf_counter() - started < 2.0
