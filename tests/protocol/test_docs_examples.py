"""docs/protocol.md is a contract: its examples decode and equal the golden fixtures."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fleet_protocol import Channel, StateMessage, TelemetryKind, decode, parse_topic

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "protocol.md"
FIXTURES = ROOT / "tests" / "fixtures" / "protocol"

# A "Topic: `...`" line immediately followed by a ```json block.
_EXAMPLE_RE = re.compile(r"^Topic: `([^`\n]+)`\n```json\n(.*?)\n```$", re.MULTILINE | re.DOTALL)


def doc_examples() -> list[tuple[str, str]]:
    return _EXAMPLE_RE.findall(DOC.read_text(encoding="utf-8"))


def fixtures() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(FIXTURES.glob("*.json"))
    }


def _canonical(topic: str, payload: Any) -> str:
    return json.dumps({"topic": topic, "payload": payload}, sort_keys=True, ensure_ascii=False)


def test_every_json_block_in_the_doc_is_an_example() -> None:
    """A json block without its Topic line would escape every check below."""
    blocks = re.findall(r"^```json$", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(blocks) == len(doc_examples()) > 0


@pytest.mark.parametrize(
    ("topic", "body"),
    [
        pytest.param(topic, body, id=f"{i}:{topic}")
        for i, (topic, body) in enumerate(doc_examples())
    ],
)
def test_doc_example_decodes(topic: str, body: str) -> None:
    message = decode(topic, body.encode())
    assert message.device_id == parse_topic(topic).device_id


def test_doc_covers_every_message_type() -> None:
    topics = [parse_topic(topic) for topic, _ in doc_examples()]
    channels = {t.channel for t in topics}
    kinds = {t.name for t in topics if t.channel is Channel.TELEMETRY}
    # a batch is several JSON messages compressed (docs/protocol.md, "Compact encoding")
    assert channels == set(Channel) - {Channel.BATCH}
    assert kinds == {kind.value for kind in TelemetryKind}
    statuses: set[str] = set()
    for topic, body in doc_examples():
        message = decode(topic, body)
        if isinstance(message, StateMessage):
            statuses.add(message.data.status)
    assert statuses == {"online", "lost", "offline"}


def test_doc_examples_equal_golden_fixtures() -> None:
    in_doc = sorted(_canonical(topic, json.loads(body)) for topic, body in doc_examples())
    golden = sorted(_canonical(f["topic"], f["payload"]) for f in fixtures().values())
    assert in_doc == golden


@pytest.mark.parametrize("name", sorted(fixtures()))
def test_fixture_decodes(name: str) -> None:
    fixture = fixtures()[name]
    assert set(fixture) == {"topic", "payload"}
    decode(fixture["topic"], json.dumps(fixture["payload"]))
