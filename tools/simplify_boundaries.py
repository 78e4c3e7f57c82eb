"""Make the console map's boundary file from Who's On First records.

Reads the eight district ("county") records of Lai Châu province from a
checkout of ``whosonfirst-data/whosonfirst-data-admin-vn`` (or a folder
holding the eight ``<id>.geojson`` files), simplifies their borders with
Douglas–Peucker *per shared border* (each border between two districts is
simplified once, so neighbours still meet exactly and the province outline
is the border no other district shares), and writes
``fleet_server/api/console/geo/lai_chau.geojson``: the province outline and
the districts as GeoJSON, longitude/latitude rounded to 4 decimals (~11 m).

Usage::

    python tools/simplify_boundaries.py WOF_DIR [--tolerance 0.0025] [--out PATH]

``WOF_DIR`` is either the ``data/`` tree of the Who's On First repository or
a flat folder with the files. Pure Python, no GIS library. The source and
licence are recorded in ``fleet_server/api/console/geo/README.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

Point = tuple[float, float]

#: Who's On First id -> (code, Vietnamese name, English name) of the districts.
DISTRICTS: dict[int, tuple[str, str, str]] = {
    1108780977: ("tp-lai-chau", "Thành phố Lai Châu", "Lai Chau city"),
    1108780979: ("tam-duong", "Tam Đường", "Tam Duong"),
    1108780981: ("muong-te", "Mường Tè", "Muong Te"),
    1108780985: ("sin-ho", "Sìn Hồ", "Sin Ho"),
    1108780987: ("phong-tho", "Phong Thổ", "Phong Tho"),
    1108780989: ("than-uyen", "Than Uyên", "Than Uyen"),
    1108780991: ("tan-uyen", "Tân Uyên", "Tan Uyen"),
    1108780993: ("nam-nhun", "Nậm Nhùn", "Nam Nhun"),
}
PROVINCE_WOF_ID = 85680607
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "fleet_server/api/console/geo/lai_chau.geojson"
ATTRIBUTION = "Who's On First (Mesoshapes, CC0; Quattroshapes, CC BY 2.0; Natural Earth)"


def _find(root: Path, wof_id: int) -> Path:
    digits = str(wof_id)
    nested = root.joinpath(*(digits[i : i + 3] for i in range(0, len(digits), 3)))
    for candidate in (nested / f"{digits}.geojson", root / f"{digits}.geojson"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"{wof_id}.geojson not found under {root}")


def _ring(feature: dict[str, object]) -> list[Point]:
    geometry = feature["geometry"]
    assert isinstance(geometry, dict)
    if geometry["type"] != "Polygon" or len(geometry["coordinates"]) != 1:
        raise SystemExit(f"expected one ring, got {geometry['type']}")
    ring = [(float(x), float(y)) for x, y in geometry["coordinates"][0]]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring


def _edge(a: Point, b: Point) -> tuple[Point, Point]:
    return (a, b) if a <= b else (b, a)


def _perpendicular(p: Point, a: Point, b: Point) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def douglas_peucker(points: Sequence[Point], tolerance: float) -> list[Point]:
    """The points of ``points`` that keep every dropped one within
    ``tolerance`` (degrees) of the simplified line; both ends are kept."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        worst, at = 0.0, -1
        for i in range(first + 1, last):
            d = _perpendicular(points[i], points[first], points[last])
            if d > worst:
                worst, at = d, i
        if at >= 0 and worst > tolerance:
            keep[at] = True
            stack += [(first, at), (at, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _chains(
    ring: list[Point], owners: dict[tuple[Point, Point], frozenset[int]]
) -> list[list[Point]]:
    """The ring cut where the set of districts owning its edges changes:
    each piece is a border between the same two districts (or the outline)."""
    edges = list(itertools.pairwise(ring))
    cuts = [
        i for i in range(len(edges)) if owners[_edge(*edges[i])] != owners[_edge(*edges[i - 1])]
    ]
    if not cuts:  # one neighbour all round (or an island): start anywhere fixed
        start = ring.index(min(ring[:-1]))
        rotated = ring[start:-1] + ring[:start] + [ring[start]]
        return [rotated]
    pieces = []
    for k, cut in enumerate(cuts):
        end = cuts[(k + 1) % len(cuts)]
        indices = range(cut, end + 1) if end > cut else [*range(cut, len(edges)), *range(end + 1)]
        pieces.append([ring[i] for i in indices])
    return pieces


def simplify(
    rings: dict[int, list[Point]], tolerance: float
) -> tuple[dict[int, list[Point]], list[Point]]:
    """Simplified district rings and the province outline."""
    owners_of: dict[tuple[Point, Point], set[int]] = {}
    for wof_id, ring in rings.items():
        for a, b in itertools.pairwise(ring):
            owners_of.setdefault(_edge(a, b), set()).add(wof_id)
    owners = {e: frozenset(o) for e, o in owners_of.items()}
    done: dict[tuple[Point, ...], list[Point]] = {}
    out: dict[int, list[Point]] = {}
    outline_pieces: list[list[Point]] = []
    for wof_id, ring in rings.items():
        simplified: list[Point] = []
        for piece in _chains(ring, owners):
            forward = tuple(piece)
            key = min(forward, forward[::-1])
            if key not in done:
                done[key] = douglas_peucker(list(key), tolerance)
                if len(owners[_edge(piece[0], piece[1])]) == 1:
                    outline_pieces.append(done[key])
            line = done[key] if forward == key else done[key][::-1]
            simplified += line if not simplified else line[1:]
        out[wof_id] = simplified
    return out, _join(outline_pieces)


def _join(pieces: list[list[Point]]) -> list[Point]:
    """The outline pieces joined end to end into one closed ring."""
    remaining = [list(p) for p in pieces]
    ring = remaining.pop(0)
    while remaining:
        for i, piece in enumerate(remaining):
            if piece[0] == ring[-1]:
                ring += piece[1:]
            elif piece[-1] == ring[-1]:
                ring += piece[::-1][1:]
            else:
                continue
            remaining.pop(i)
            break
        else:
            raise SystemExit("the outline does not close: the districts do not tile the province")
    if ring[0] != ring[-1]:
        raise SystemExit("the outline does not close")
    return ring


def _rounded(ring: Iterable[Point]) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in ring:
        point = [round(x, 4), round(y, 4)]
        if not out or out[-1] != point:
            out.append(point)
    return out


def build(root: Path, tolerance: float) -> dict[str, object]:
    records = {wof_id: json.loads(_find(root, wof_id).read_text()) for wof_id in DISTRICTS}
    rings = {wof_id: _ring(record) for wof_id, record in records.items()}
    shared = Counter(_edge(a, b) for r in rings.values() for a, b in itertools.pairwise(r))
    if max(shared.values()) > 2:
        raise SystemExit("an edge belongs to more than two districts")
    districts, outline = simplify(rings, tolerance)
    features: list[dict[str, object]] = [
        {
            "type": "Feature",
            "properties": {
                "kind": "province",
                "name": "Lai Châu",
                "name_en": "Lai Chau",
                "wof_id": PROVINCE_WOF_ID,
            },
            "geometry": {"type": "Polygon", "coordinates": [_rounded(outline)]},
        }
    ]
    for wof_id, (code, name, name_en) in DISTRICTS.items():
        props = records[wof_id]["properties"]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "district",
                    "code": code,
                    "name": name,
                    "name_en": name_en,
                    "wof_id": wof_id,
                    # Who's On First's label point (inside the district)
                    "label": [round(props["meso:mps_x"], 4), round(props["meso:mps_y"], 4)],
                },
                "geometry": {"type": "Polygon", "coordinates": [_rounded(districts[wof_id])]},
            }
        )
    return {
        "type": "FeatureCollection",
        "attribution": ATTRIBUTION,
        "source": "whosonfirst-data/whosonfirst-data-admin-vn; see README.md beside this file",
        "simplified": f"Douglas-Peucker per shared border, tolerance {tolerance} degrees",
        "features": features,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wof_dir", type=Path, help="Who's On First data/ tree or a flat folder")
    parser.add_argument("--tolerance", type=float, default=0.0025, help="degrees (0.0025 ≈ 270 m)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    collection = build(args.wof_dir, args.tolerance)
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    points = text.count("],[") + len(DISTRICTS) + 1  # commas between points, plus one a ring
    print(f"{args.out}: {len(text) / 1024:.1f} KiB, {points} points")


if __name__ == "__main__":
    main()
