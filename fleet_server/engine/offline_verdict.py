"""The verdict ``offline_cause`` reaches on an offline board (domain logic: no
SQL, no IO): an :class:`Explanation` — the ranked causes, each with its
confidence and the evidence lines it rests on — and its stored form on the
incident (``details.offline_cause``: codes and readings, never words; the
words, Vietnamese first, then English, are in ``offline_words``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from fleet_server.engine.offline_evidence import Evidence

Confidence = Literal["high", "medium", "low"]
CauseCode = Literal[
    "platform",  # our side: the broker or ingest was down, not the board
    "shutdown",  # stopped on purpose (a clean "offline")
    "power",  # the UPS ran out (or there was none) after the mains failed
    "site_power",  # every board at the site went, after mains lost
    "site_uplink",  # every board at the site went, mains on
    "restart",  # the agent or the board restarted (crashed)
    "uplink",  # the board's own 4G link
    "unknown",
]
CONFIDENCES: tuple[Confidence, ...] = ("high", "medium", "low")
#: Ties in confidence: the cause that explains more comes first.
PRIORITY: tuple[CauseCode, ...] = (
    "shutdown",
    "platform",
    "site_power",
    "power",
    "site_uplink",
    "restart",
    "uplink",
    "unknown",
)


@dataclass(frozen=True, slots=True)
class Line:
    """One piece of evidence: when, what (a key of ``offline_words.LINES``)
    and the reading (the key's params)."""

    at: datetime
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cause:
    code: CauseCode
    confidence: Confidence
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    causes: tuple[Cause, ...]  # most likely first; ``unknown`` alone when nothing points
    #: facts that speak against a cause one might think of (mains lost but
    #: the UPS was fine; other boards were heard as usual)
    ruled_out: tuple[Line, ...] = ()

    @property
    def top(self) -> Cause:
        return self.causes[0]


# -- stored form (the incident's details) ------------------------------------------


def to_json(explanation: Explanation, evidence: Evidence) -> dict[str, Any]:
    """The explanation as stored on the incident (``details.offline_cause``):
    codes and readings, never words (they are rendered in the reader's
    language)."""
    return {
        "board_id": evidence.board_id,
        "state": evidence.state,
        "silent_from": evidence.silent_from.isoformat(),
        "lost_at": evidence.lost_at.isoformat(),
        "boot": evidence.boot,
        "interval_s": evidence.interval_s,
        **causes_json(explanation),
    }


def causes_json(explanation: Explanation) -> dict[str, Any]:
    """The causes and what was ruled out, as stored."""
    return {
        "causes": [
            {
                "code": c.code,
                "confidence": c.confidence,
                "lines": [_line_json(line) for line in c.lines],
            }
            for c in explanation.causes
        ],
        "ruled_out": [_line_json(line) for line in explanation.ruled_out],
    }


def from_json(data: Mapping[str, Any]) -> Explanation:
    """Back from ``to_json`` (unknown codes or keys are kept as they are:
    the words fall back to the key)."""
    causes = tuple(
        Cause(
            c.get("code", "unknown"),
            c.get("confidence", "low"),
            tuple(_line_back(line) for line in c.get("lines", [])),
        )
        for c in data.get("causes", [])
    )
    return Explanation(
        causes or (Cause("unknown", "low", ()),),
        tuple(_line_back(line) for line in data.get("ruled_out", [])),
    )


def _line_json(line: Line) -> dict[str, Any]:
    return {
        "at": line.at.isoformat(),
        "key": line.key,
        "params": {k: _plain(v) for k, v in line.params.items()},
    }


def _line_back(data: Mapping[str, Any]) -> Line:
    params = {
        k: datetime.fromisoformat(v) if isinstance(v, str) and _is_time(k) else v
        for k, v in dict(data.get("params", {})).items()
    }
    return Line(datetime.fromisoformat(data["at"]), str(data.get("key", "")), params)


def _is_time(key: str) -> bool:
    return key in ("until", "since")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 1)
    return value
