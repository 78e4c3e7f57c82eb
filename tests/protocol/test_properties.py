"""Property: whatever ``decode`` accepts, ``encode`` writes back as UTF-8 JSON
that PostgreSQL can store (no NUL, no other refused control character, no
NaN/Infinity, integers within bigint) and that decodes to the same message;
and ``decode`` never raises anything but ``ProtocolError``."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fleet_protocol import Message, ProtocolError, decode, encode
from fleet_protocol.bounds import INT64_MAX
from tests.protocol.payloads import NAMES, fixture

REASONS = {
    "oversize",
    "bad_topic",
    "bad_device_id",
    "credential_leak",
    "bad_json",
    "unsupported_schema",
    "invalid_payload",
    "device_mismatch",
    "name_mismatch",
}
_REFUSED_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# Characters that matter here, mixed with arbitrary ones.
_tricky = st.sampled_from(
    ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x7f", "\ud800", "\udfff", "é", "\U0001f50b"]
)
_chars = st.one_of(_tricky, st.characters(), st.characters(categories=["Cs", "Cc"]))
_text = st.text(_chars, max_size=12)
_times = st.sampled_from(
    [
        "2026-03-02T01:00:00Z",
        "2026-03-02t01:00:00.5+07:00",
        "1700000000",
        "0001-01-01T00:00:00+07:00",
        "9999-12-31T23:59:59-07:00",
        "2026-03-02 01:00:00Z",
        "1970-01-01T00:00:00Z",
        "2099-12-31T23:59:59Z",
    ]
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, INT64_MAX, INT64_MAX + 1, -INT64_MAX, -INT64_MAX - 1, 2**31]),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
    _times,
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(_text, children, max_size=3)
    ),
    max_leaves=6,
)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every value of a payload, containers included, plus one new
    key in every object (so ``config``, ``output``, ``details`` grow too)."""
    found = [path] if path else []
    if isinstance(node, dict):
        found.append((*path, "new_key"))
        for key, value in node.items():
            found += _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _leaves(value, (*path, index))
    return found


def _set(payload: Any, path: tuple[Any, ...], value: Any) -> None:
    node = payload
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _no_constants(token: str) -> Any:
    raise AssertionError(f"encode wrote {token}")


def _check_storable(node: Any) -> None:
    if isinstance(node, str):
        assert _REFUSED_IN_TEXT.search(node) is None
    elif isinstance(node, bool) or node is None:
        pass
    elif isinstance(node, int):
        assert -INT64_MAX <= node <= INT64_MAX
    elif isinstance(node, dict):
        for key, value in node.items():
            assert _REFUSED_IN_TEXT.search(key) is None
            _check_storable(value)
    elif isinstance(node, list):
        for value in node:
            _check_storable(value)


def _get(payload: Any, path: tuple[Any, ...]) -> Any:
    node = payload
    for step in path:
        if isinstance(node, dict) and step not in node:
            return None
        node = node[step]
    return node


def _tweak(draw: st.DrawFn, old: Any) -> Any:
    """A value of the same kind as ``old`` (most of them pass the model, so
    the property is checked on accepted payloads too), or anything."""
    if isinstance(old, str) and draw(st.booleans()):
        return old + draw(_text) if draw(st.booleans()) else draw(_text) + old
    if isinstance(old, bool):
        return draw(st.booleans())
    if isinstance(old, int):
        return draw(st.one_of(st.integers(min_value=0, max_value=2**31), _scalars))
    if isinstance(old, float):
        return draw(st.floats(min_value=-1000, max_value=1000))
    return draw(_values)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes | str]:
    fx = fixture(draw(st.sampled_from(NAMES)))
    payload = fx["payload"]
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        path = draw(st.sampled_from(_leaves(payload)))
        _set(payload, path, _tweak(draw, _get(payload, path)))
    if draw(st.booleans()):  # escaped: lone surrogates as \ud800, NaN as a bare token
        return fx["topic"], json.dumps(payload).encode()
    return fx["topic"], json.dumps(payload, ensure_ascii=False)  # a str, maybe not UTF-8


def _decode(topic: str, payload: bytes | str) -> Message | ProtocolError:
    try:
        return decode(topic, payload)
    except ProtocolError as exc:
        return exc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_what_decode_accepts_encodes_to_storable_utf8(case: tuple[str, bytes | str]) -> None:
    topic, payload = case
    message = _decode(topic, payload)
    if isinstance(message, ProtocolError):
        event(f"refused: {message.reason}")
        assert message.reason in REASONS
        assert _REFUSED_IN_TEXT.search(message.detail) is None  # dead letters store the detail
        return
    event("accepted")
    wire = encode(message)
    text = wire.decode("utf-8")  # strict: no surrogate
    assert "\x00" not in text
    assert "\\u0000" not in text
    _check_storable(json.loads(text, parse_constant=_no_constants))
    assert decode(topic, wire) == message
