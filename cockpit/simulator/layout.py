"""Lay out a street in local metres: communities, grids, roads, blocks and building slots."""

from __future__ import annotations

import math
import random
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


def split_uneven(rect: Rect, n: int, rng: random.Random, spread: float = 0.35) -> list[Rect]:
    """Split a rectangle into n cells in rows, as split_rect, with rows and cells of varied size."""
    if n < 1:
        raise ValueError("n must be at least 1")
    x0, y0, x1, y1 = rect
    width, height = x1 - x0, y1 - y0
    rows = max(1, min(n, round(math.sqrt(n * height / width))))
    base, extra = divmod(n, rows)
    counts = [base + (1 if row < extra else 0) for row in range(rows)]
    row_weights = [c * rng.uniform(1 - spread, 1 + spread) for c in counts]
    cells: list[Rect] = []
    top = y1
    for row, count in enumerate(counts):
        bottom = y0 if row == rows - 1 else top - height * row_weights[row] / sum(row_weights)
        edges = _cuts(x0, x1, [rng.uniform(1 - spread, 1 + spread) for _ in range(count)])
        cells += [(a, bottom, b, top) for a, b in zip(edges, edges[1:], strict=False)]
        top = bottom
    return cells


def _cuts(start: float, end: float, weights: list[float]) -> list[float]:
    """Return the edges that cut a span into parts by weight, from start to exactly end."""
    total, edges, at = sum(weights), [start], start
    for w in weights[:-1]:
        at += (end - start) * w / total
        edges.append(at)
    return [*edges, end]


def plots(block: Rect, needed: int, rng: random.Random, aspect: float = 2.0) -> list[Slot]:
    """Return at least `needed` plots tiling the block, in rows of varied depth and widths."""
    x0, y0, x1, y1 = block
    width, height = x1 - x0, y1 - y0
    needed = max(needed, 1)
    cols = max(1, round(math.sqrt(needed * width / (height * aspect))))
    rows = math.ceil(needed / cols)
    row_edges = _cuts(y1, y0, [rng.uniform(0.75, 1.25) for _ in range(rows)])
    out = []
    for r in range(rows):
        top, bottom = row_edges[r], row_edges[r + 1]
        col_edges = _cuts(x0, x1, [rng.uniform(0.6, 1.4) for _ in range(cols)])
        out += [Slot(a, bottom, b, top) for a, b in zip(col_edges, col_edges[1:], strict=False)]
    return out


def rect_ring(rect: Rect) -> list[tuple[float, float]]:
    """Return a rectangle's closed ring, counter-clockwise."""
    x0, y0, x1, y1 = rect
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


def l_ring(rect: Rect, notch_w: float, notch_h: float, corner: int) -> list[tuple[float, float]]:
    """Return the closed ring of an L: the rectangle without a notch at one corner (0-3, CCW from SW)."""
    x0, y0, x1, y1 = rect
    if corner == 0:
        pts = [
            (x0 + notch_w, y0),
            (x1, y0),
            (x1, y1),
            (x0, y1),
            (x0, y0 + notch_h),
            (x0 + notch_w, y0 + notch_h),
        ]
    elif corner == 1:
        pts = [
            (x0, y0),
            (x1 - notch_w, y0),
            (x1 - notch_w, y0 + notch_h),
            (x1, y0 + notch_h),
            (x1, y1),
            (x0, y1),
        ]
    elif corner == 2:
        pts = [
            (x0, y0),
            (x1, y0),
            (x1, y1 - notch_h),
            (x1 - notch_w, y1 - notch_h),
            (x1 - notch_w, y1),
            (x0, y1),
        ]
    else:
        pts = [
            (x0, y0),
            (x1, y0),
            (x1, y1),
            (x0 + notch_w, y1),
            (x0 + notch_w, y1 - notch_h),
            (x0, y1 - notch_h),
        ]
    return [*pts, pts[0]]


@dataclass(frozen=True)
class Warp:
    """Bend the laid-out street smoothly: roads lean and curve, the river meanders.

    Everything is laid out in straight rectangles first and then passed through the same smooth
    map, whose slopes stay well below one: it is one-to-one, so what did not overlap before still
    does not, and what lay inside a boundary still does.
    """

    shear: float  # vertical roads lean by this (dx per metre north)
    tilt: float  # horizontal roads climb by this (dy per metre east)
    bend: float  # vertical roads bow by this much (m)
    bend_length: float
    meander: float  # the river and the roads near it swing by this much (m)
    meander_length: float
    river_y: float
    reach: float  # how far north and south of the river the swing fades out (m)
    ripple: float  # every horizontal road's own small wave (m)
    ripple_length: float
    phases: tuple[float, float, float]

    @classmethod
    def draw(cls, street: Rect, river_y: float, rng: random.Random) -> Warp:
        """Return a warp of random but gentle slopes for a street of that size."""
        width = street[2] - street[0]
        height = street[3] - street[1]
        return cls(
            shear=rng.uniform(-0.06, 0.06),
            tilt=rng.uniform(-0.04, 0.04),
            bend=rng.uniform(12, 25),
            bend_length=max(height, 900.0) * rng.uniform(0.9, 1.3),
            meander=rng.uniform(35, 55),
            meander_length=max(width / max(1, round(width / 1_800)), 1_400.0),
            river_y=river_y,
            reach=max(350.0, height / 4),
            ripple=rng.uniform(4, 8),
            ripple_length=rng.uniform(600, 900),
            phases=(rng.uniform(0, math.tau), rng.uniform(0, math.tau), rng.uniform(0, math.tau)),
        )

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        """Return where a laid-out point lands."""
        p0, p1, p2 = self.phases
        fade = math.exp(-(((y - self.river_y) / self.reach) ** 2))
        dx = self.shear * y + self.bend * math.sin(math.tau * y / self.bend_length + p0)
        dy = (
            self.tilt * x
            + self.meander * fade * math.sin(math.tau * x / self.meander_length + p1)
            + self.ripple * math.sin(math.tau * x / self.ripple_length + p2)
        )
        return x + dx, y + dy

    def path(
        self, points: list[tuple[float, float]], step: float = 25.0
    ) -> list[tuple[float, float]]:
        """Return a laid-out polyline (or closed ring) densified every `step` metres and bent."""
        out: list[tuple[float, float]] = []
        for (ax, ay), (bx, by) in zip(points, points[1:], strict=False):
            n = max(1, math.ceil(math.hypot(bx - ax, by - ay) / step))
            out += [self(ax + (bx - ax) * i / n, ay + (by - ay) * i / n) for i in range(n)]
        out.append(self(*points[-1]))
        return out
