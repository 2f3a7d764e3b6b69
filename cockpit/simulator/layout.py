"""Lay out a street in local metres: communities, grids, roads, blocks and building slots."""

from __future__ import annotations

import math
from dataclasses import dataclass

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in metres


@dataclass(frozen=True)
class Slot:
    """Hold one building plot inside a grid's block."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> tuple[float, float]:
        """Return the middle of the plot."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


def street_rect(area_km2: float, aspect: float = 1.25) -> Rect:
    """Return a rectangle of the given area centred on the origin."""
    height = math.sqrt(area_km2 * 1e6 / aspect)
    width = height * aspect
    return (-width / 2, -height / 2, width / 2, height / 2)


def split_rect(rect: Rect, n: int) -> list[Rect]:
    """Split a rectangle into n cells of equal area, in rows of near-equal counts, west to east."""
    if n < 1:
        raise ValueError("n must be at least 1")
    x0, y0, x1, y1 = rect
    width, height = x1 - x0, y1 - y0
    rows = max(1, min(n, round(math.sqrt(n * height / width))))
    base, extra = divmod(n, rows)
    cells: list[Rect] = []
    row_top = y1
    for row in range(rows):
        count = base + (1 if row < extra else 0)
        row_height = height * count / n
        bottom = row_top - row_height
        for col in range(count):
            cells.append(
                (x0 + width * col / count, bottom, x0 + width * (col + 1) / count, row_top)
            )
        row_top = bottom
    return cells


def inset(rect: Rect, margin: float) -> Rect:
    """Return the rectangle shrunk by a margin on every side."""
    x0, y0, x1, y1 = rect
    margin = min(margin, (x1 - x0) / 4, (y1 - y0) / 4)
    return (x0 + margin, y0 + margin, x1 - margin, y1 - margin)


def slots(block: Rect, needed: int, aspect: float = 2.0) -> list[Slot]:
    """Return at least `needed` plots tiling the block, shaped near the aspect (width/height)."""
    x0, y0, x1, y1 = block
    width, height = x1 - x0, y1 - y0
    needed = max(needed, 1)
    cols = max(1, round(math.sqrt(needed * width / (height * aspect))))
    rows = math.ceil(needed / cols)
    cell_w, cell_h = width / cols, height / rows
    return [
        Slot(x0 + c * cell_w, y1 - (r + 1) * cell_h, x0 + (c + 1) * cell_w, y1 - r * cell_h)
        for r in range(rows)
        for c in range(cols)
    ]


def rect_edges(rect: Rect) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Return the four edges of a rectangle as segments."""
    x0, y0, x1, y1 = rect
    return [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x0, y1), (x1, y1)), ((x0, y0), (x0, y1))]


def merge_segments(rects: list[Rect]) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Return the distinct edges of many rectangles, merged into straight roads where they line up."""
    horizontal: dict[float, list[tuple[float, float]]] = {}
    vertical: dict[float, list[tuple[float, float]]] = {}
    for rect in rects:
        for (ax, ay), (bx, by) in rect_edges(rect):
            if round(ay, 1) == round(by, 1):
                horizontal.setdefault(round(ay, 1), []).append((min(ax, bx), max(ax, bx)))
            else:
                vertical.setdefault(round(ax, 1), []).append((min(ay, by), max(ay, by)))
    roads = []
    for y, spans in sorted(horizontal.items()):
        roads += [((a, y), (b, y)) for a, b in _union(spans)]
    for x, spans in sorted(vertical.items()):
        roads += [((x, a), (x, b)) for a, b in _union(spans)]
    return roads


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Merge overlapping or touching intervals."""
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + 0.5:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]
