"""Dedupe keys: what names one condition (and its incident) of the engine.

A key is ``board:<board id>:<rule>``, ``board:<board id>:<rule>:<subject>``
for rules that watch several things on one board (a camera), or
``site:<site id>:<rule>``. Board ids, camera ids and rule names never hold a
colon (``fleet_protocol`` patterns), so the text form reads back unambiguously.
Keys of other shapes (``compliance:<board>:<day>``) are not the engine's
conditions and parse to None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Owner = Literal["board", "site"]


@dataclass(frozen=True, slots=True)
class DedupeKey:
    """A condition's key as a value: who it is about, which rule, and for
    rules per camera which camera."""

    owner: Owner
    owner_id: str
    rule: str
    subject: str | None = None

    @classmethod
    def board(cls, board_id: str, rule: str, subject: str | None = None) -> DedupeKey:
        return cls("board", board_id, rule, subject)

    @classmethod
    def site(cls, site_id: int, rule: str) -> DedupeKey:
        return cls("site", str(site_id), rule)

    @classmethod
    def parse(cls, text: str) -> DedupeKey | None:
        """The key ``text`` spells, or None when it is not a board or site key."""
        parts = text.split(":", 3)
        if len(parts) < 3 or parts[0] not in ("board", "site") or not all(parts):
            return None
        owner: Owner = "board" if parts[0] == "board" else "site"
        if owner == "site" and len(parts) > 3:
            return None
        return cls(owner, parts[1], parts[2], parts[3] if len(parts) > 3 else None)

    @property
    def suffix(self) -> str:
        """The part after the owner: ``rule`` or ``rule:subject``."""
        return self.rule if self.subject is None else f"{self.rule}:{self.subject}"

    def __str__(self) -> str:
        return f"{self.owner}:{self.owner_id}:{self.suffix}"
