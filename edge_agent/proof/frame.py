"""Grey frames and what the board computes from them: a perceptual hash and
luminance statistics, in pure Python (a 64 × 36 frame is 2,304 bytes; all of
it takes about a millisecond).

The hash is a difference hash (dHash): the frame reduced to 9 × 8 by area
averaging, then for each row whether each of the 8 left pixels is brighter
than its right neighbour, row by row, most significant bit first. Similar
pictures give hashes a few bits apart; a flat picture gives 0.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

#: The grey frame ffmpeg hands over: small enough to judge in pure Python,
#: large enough for luminance statistics (16:9, like the boards' screens).
GREY_WIDTH = 64
GREY_HEIGHT = 36
_HASH_COLUMNS = 9
_HASH_ROWS = 8


@dataclass(frozen=True, slots=True)
class GreyFrame:
    """``width × height`` 8-bit luminance values, row by row (0 black, 255 white)."""

    width: int
    height: int
    pixels: bytes

    def __post_init__(self) -> None:
        if self.width < _HASH_COLUMNS or self.height < _HASH_ROWS:
            raise ValueError(f"a grey frame is at least {_HASH_COLUMNS} × {_HASH_ROWS}")
        if len(self.pixels) != self.width * self.height:
            raise ValueError(
                f"{len(self.pixels)} bytes for a {self.width} × {self.height} grey frame"
            )

    def luma(self) -> tuple[float, float]:
        """Mean and (population) standard deviation of the luminance."""
        return luma_stats(self.pixels)

    def dhash(self) -> str:
        return dhash(self)


def luma_stats(pixels: bytes) -> tuple[float, float]:
    count = len(pixels)
    total = sum(pixels)
    squares = sum(p * p for p in pixels)
    mean = total / count
    variance = max(0.0, squares / count - mean * mean)
    return mean, math.sqrt(variance)


def _weights(size: int, parts: int) -> list[list[tuple[int, float]]]:
    """For each of ``parts`` output cells, the input indexes it covers and how much of each."""
    step = size / parts
    cells = []
    for part in range(parts):
        start, end = part * step, (part + 1) * step
        cell = []
        for index in range(int(start), min(size, math.ceil(end))):
            share = min(end, index + 1) - max(start, index)
            if share > 0:
                cell.append((index, share / step))
        cells.append(cell)
    return cells


def shrink(frame: GreyFrame, columns: int, rows: int) -> list[list[float]]:
    """The frame reduced to ``columns × rows`` by area averaging (rows of floats)."""
    width = frame.width
    pixels = frame.pixels
    row_cells = _weights(frame.height, rows)
    column_cells = _weights(width, columns)
    reduced: list[list[float]] = []
    for row_cell in row_cells:
        line = [0.0] * width  # the output row's source rows, averaged
        for y, weight in row_cell:
            base = y * width
            for x in range(width):
                line[x] += pixels[base + x] * weight
        reduced.append([sum(line[x] * w for x, w in cell) for cell in column_cells])
    return reduced


def dhash(frame: GreyFrame) -> str:
    """The 64-bit difference hash as 16 hex digits."""
    value = 0
    for row in shrink(frame, _HASH_COLUMNS, _HASH_ROWS):
        for left, right in itertools.pairwise(row):
            # a margin against rounding: a flat picture must give 0, not noise
            value = (value << 1) | (left > right + 1e-6)
    return f"{value:016x}"


def hamming(first: str, second: str) -> int:
    """How many of the 64 bits differ between two hashes (0: the same picture)."""
    return (int(first, 16) ^ int(second, 16)).bit_count()
