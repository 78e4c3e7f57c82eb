"""The board's verdicts on what its screen and cameras show.

Each tracker keeps the history of one source (the last picture, how many in
a row were the same) and turns a grey frame into the protocol's check:

- black: mean luminance below ``black_luma`` and spread below ``flat_stddev``;
- covered (camera): flat (spread below ``flat_stddev``) but not dark;
- frozen (camera): the very same grey frame ``frozen_after`` times in a row —
  live video always has noise (and most cameras a clock on the picture);
- frozen (screen): the same picture (hash distance ≤ ``same_distance``) for
  ``frozen_after`` captures while the player said the item on air changed
  (``content_id`` / ``content_started_at``): a still slide shown for ten
  minutes is not frozen, and without the player's word nothing is;
- moved (camera): hash distance to the operator's reference > ``moved_distance``;
- wrong_content (screen): distance to every reference frame of the item on
  air (by its SHA-256) > ``wrong_distance``; None without reference frames.

One picture, one cause: a black (or covered) picture is not also called
frozen, moved or wrong — the incident is that it is black (covered).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime

from edge_agent.proof.frame import GreyFrame, hamming
from fleet_protocol.messages import CameraPicture, ScreenCheck, ScreenSource
from fleet_protocol.remote_config import ProofConfig

_MAX_COUNT = 2**31 - 1


def _stats(frame: GreyFrame) -> tuple[str, float, float]:
    mean, stddev = frame.luma()
    return frame.dhash(), round(mean, 1), round(stddev, 1)


def _at_second(when: datetime) -> datetime:
    return when.replace(microsecond=0)


class ScreenTracker:
    """The history of one screen's pictures."""

    def __init__(self) -> None:
        self._anchor: str | None = None  # the hash that started the current run
        self._count = 0
        self._items: set[Hashable] = set()  # what the player said was on air during the run

    def judge(
        self,
        frame: GreyFrame,
        captured_at: datetime,
        *,
        source: ScreenSource,
        item: Hashable | None,
        references: Sequence[str] | None,
        cfg: ProofConfig,
    ) -> ScreenCheck:
        phash, mean, stddev = _stats(frame)
        if self._anchor is not None and hamming(phash, self._anchor) <= cfg.same_distance:
            self._count = min(self._count + 1, _MAX_COUNT)
        else:
            self._anchor, self._count, self._items = phash, 1, set()
        if item is not None:
            self._items.add(item)
        black = mean < cfg.black_luma and stddev < cfg.flat_stddev
        frozen = not black and self._count >= cfg.frozen_after and len(self._items) >= 2
        distance: int | None = None
        wrong: bool | None = None
        if references:
            distance = min(hamming(phash, reference) for reference in references)
            wrong = not black and distance > cfg.wrong_distance
        return ScreenCheck(
            captured_at=_at_second(captured_at),
            phash=phash,
            luma_mean=mean,
            luma_stddev=stddev,
            black=black,
            frozen=frozen,
            same_count=self._count,
            reference_distance=distance,
            source=source,
            wrong_content=wrong,
        )


class CameraTracker:
    """The history of one camera's frames."""

    def __init__(self) -> None:
        self._last: bytes | None = None
        self._count = 0

    def judge(
        self,
        frame: GreyFrame,
        captured_at: datetime,
        *,
        reference: str | None,
        cfg: ProofConfig,
    ) -> CameraPicture:
        phash, mean, stddev = _stats(frame)
        if self._last == frame.pixels:
            self._count = min(self._count + 1, _MAX_COUNT)
        else:
            self._last, self._count = frame.pixels, 1
        flat = stddev < cfg.flat_stddev
        black = flat and mean < cfg.black_luma
        covered = flat and not black
        frozen = not flat and self._count >= cfg.frozen_after
        distance = hamming(phash, reference) if reference else None
        moved = None if distance is None else (not flat and distance > cfg.moved_distance)
        return CameraPicture(
            captured_at=_at_second(captured_at),
            phash=phash,
            luma_mean=mean,
            luma_stddev=stddev,
            black=black,
            frozen=frozen,
            same_count=self._count,
            reference_distance=distance,
            covered=covered,
            moved=moved,
        )


def bad_verdicts(check: ScreenCheck | CameraPicture) -> frozenset[str]:
    """The verdicts of a check that call for an operator (and an incident picture)."""
    names = {"black", "frozen", "covered", "moved", "wrong_content"}
    return frozenset(name for name in names if getattr(check, name, None) is True)
