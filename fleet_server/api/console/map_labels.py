"""Names on the site map that do not overlap: a greedy placement that
tries positions around each marker (beside it, then further away with a
leader line) and keeps the first whose box covers no placed name, marker or
fixed box. Boxes are estimated from the text's length with a generous
character width, so the drawn text stays inside them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Box = tuple[float, float, float, float]  # x0, y0, x1, y1
#: Site names: font size (user units, as console.css) and a generous average
#: character width (as a share of the size) so estimated boxes hold the text.
LABEL_SIZE = 11.0
CHAR_WIDTH = 0.62


@dataclass(frozen=True, slots=True)
class Label:
    """A name on the map: text baseline at (x, y), its estimated box, and a
    leader line from the marker when it had to move away from it."""

    x: float
    y: float
    anchor: str
    box: Box
    leader: tuple[float, float, float, float] | None = None


def text_box(x: float, y: float, text_len: int, anchor: str, size: float = LABEL_SIZE) -> Box:
    """A generous box around a text of ``text_len`` characters with its
    baseline at (x, y): diacritics above, descenders below."""
    width = CHAR_WIDTH * size * text_len
    left = {"start": x, "end": x - width}.get(anchor, x - width / 2)
    return (
        round(left, 1),
        round(y - 1.05 * size, 1),
        round(left + width, 1),
        round(y + 0.3 * size, 1),
    )


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class Space:
    """What labels must not cover: placed labels, fixed boxes and the
    markers, in a coarse grid so a crowded map stays fast."""

    CELL = 40.0

    def __init__(self, width: float, height: float) -> None:
        self.bounds = (2.0, 2.0, width - 2.0, height - 2.0)
        self.cells: dict[tuple[int, int], list[Box]] = {}

    def add(self, box: Box) -> None:
        cell, cells = self.CELL, self.cells
        for i in range(int(box[0] // cell), int(box[2] // cell) + 1):
            for j in range(int(box[1] // cell), int(box[3] // cell) + 1):
                found = cells.get((i, j))
                if found is None:
                    cells[(i, j)] = [box]
                else:
                    found.append(box)

    def free(self, box: Box, ignore: Box | None = None) -> bool:
        """Inside the drawing and over nothing taken (but ``ignore``)."""
        b = self.bounds
        if box[0] < b[0] or box[1] < b[1] or box[2] > b[2] or box[3] > b[3]:
            return False
        x0, y0, x1, y1 = box
        cell, cells = self.CELL, self.cells
        for i in range(int(x0 // cell), int(x1 // cell) + 1):
            for j in range(int(y0 // cell), int(y1 // cell) + 1):
                for other in cells.get((i, j), ()):
                    hit = x0 < other[2] and other[0] < x1 and y0 < other[3] and other[1] < y1
                    if hit and other != ignore:
                        return False
        return True


#: Directions tried around a marker, best first: right, left, above, below,
#: then the diagonals (x, y unit offsets and the text anchor).
_DIRECTIONS = (
    (1.0, 0.0, "start"),
    (-1.0, 0.0, "end"),
    (0.0, -1.0, "middle"),
    (0.0, 1.0, "middle"),
    (0.7, -0.7, "start"),
    (-0.7, -0.7, "end"),
    (0.7, 0.7, "start"),
    (-0.7, 0.7, "end"),
)
#: Extra distance from the marker's edge: next to it, then with a leader line.
_RINGS = (3.0, 20.0, 38.0)


def _candidates(x: float, y: float, r: float, text_len: int) -> Iterable[Label]:
    for extra in _RINGS:
        for dx, dy, anchor in _DIRECTIONS:
            ax, ay = x + dx * (r + extra), y + dy * (r + extra)
            # Baseline so the text sits beside, above or below the point.
            base = ay + 0.35 * LABEL_SIZE if dy == 0 else (ay - 2 if dy < 0 else ay + LABEL_SIZE)
            box = text_box(ax, base, text_len, anchor)
            leader = None
            if extra > _RINGS[0]:
                leader = (
                    round(x + dx * r, 1),
                    round(y + dy * r, 1),
                    round(ax - dx * 2, 1),
                    round(ay - dy * 2, 1),
                )
            yield Label(round(ax, 1), round(base, 1), anchor, box, leader)


def leader_box(leader: tuple[float, float, float, float]) -> Box:
    """The box a leader line needs (a hair wider than the line)."""
    x1, y1, x2, y2 = leader
    return (min(x1, x2) - 1, min(y1, y2) - 1, max(x1, x2) + 1, max(y1, y2) + 1)


def place(space: Space, x: float, y: float, r: float, text_len: int) -> Label | None:
    """The first candidate whose box, and leader line if any, cover nothing
    placed; the boxes are then taken."""
    own = marker_box(x, y, r)
    for label in _candidates(x, y, r, text_len):
        boxes = [label.box] if label.leader is None else [label.box, leader_box(label.leader)]
        if all(space.free(box, ignore=own) for box in boxes):
            for box in boxes:
                space.add(box)
            return label
    return None


def marker_box(x: float, y: float, r: float) -> Box:
    return (x - r, y - r, x + r, y + r)
