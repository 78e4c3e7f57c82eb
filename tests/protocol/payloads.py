"""Golden fixtures and variants of them, for the protocol tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fleet_protocol import ProtocolError, decode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "protocol"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))
LEAK = "rtsp://admin:secret@10.0.0.5/stream"
DELETE = object()


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def changed(payload: Any, *changes: tuple[str, Any]) -> Any:
    """``payload`` with ``("data.cameras.0.error", value)`` changes (in place)."""
    for path, value in changes:
        *parents, last = path.split(".")
        node = payload
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        key_or_index: Any = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key_or_index]
        else:
            node[key_or_index] = value
    return payload


def variant(name: str, *changes: tuple[str, Any]) -> tuple[str, bytes]:
    """A fixture's topic and payload with ``("data.cameras.0.error", value)`` changes."""
    fx = fixture(name)
    payload = changed(fx["payload"], *changes)
    return fx["topic"], json.dumps(payload, ensure_ascii=False).encode()


def reject(topic: str, payload: bytes | str, **kwargs: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode(topic, payload, **kwargs)
    return info.value
