"""Generate a deterministic, plausible street at a tier's exact scale and load it into the store."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from tqdm import tqdm

from cockpit.domain.kinds import (
    MAINTENANCE_PARAM,
    OFFICE_UNITS_PROPERTY,
    BuildingUse,
    DeviceKind,
    Registration,
)
from cockpit.geo import LocalFrame
from cockpit.simulator import layout, people
from cockpit.simulator.tiers import Tier
from cockpit.store import schema
from cockpit.store.bulk import bulk_insert
from cockpit.store.database import reset_sequences

# Ages are counted from a fixed day, so the same seed gives the same street in any year.
REFERENCE_DAY = date(2026, 1, 1)

ROAD_NAMES = (
    "长白路",
    "延吉东路",
    "靖宇东路",
    "安图路",
    "敦化路",
    "包头路",
    "松花江路",
    "国和路",
    "翔殷路",
    "黄兴路",
    "控江路",
    "营口路",
    "图们路",
    "辽源路",
    "本溪路",
    "铁岭路",
    "民星路",
)
COMPOUND_STEMS = (
    "长白",
    "延吉",
    "安图",
    "松花",
    "敦化",
    "控江",
    "鞍山",
    "辽源",
    "本溪",
    "营口",
    "靖宇",
    "民星",
    "国和",
    "翔殷",
    "黄兴",
    "包头",
    "图们",
    "内江",
    "凤城",
    "工农",
)
COMPOUND_SUFFIXES = ("一村", "二村", "三村", "新村", "苑", "花园", "公寓", "小区", "家园", "雅苑")
COMMUNITY_SUFFIX = "社区"
# Minor roads of Yangpu and its neighbours, for the grid boundaries that are not main roads.
MINOR_ROAD_NAMES = (
    "安波路",
    "开鲁路",
    "市光路",
    "嫩江路",
    "佳木斯路",
    "打虎山路",
    "抚顺路",
    "齐齐哈尔路",
    "锦西路",
    "政立路",
    "政通路",
    "民府路",
    "靖宇南路",
    "延吉中路",
    "包头南路",
    "国顺东路",
    "隆昌路",
    "双阳路",
    "内江路",
    "凤城路",
    "长海路",
    "国权北路",
)
PARK_SUFFIXES = ("公园", "绿地", "街心花园")
RIVER_NAME = "走马塘"
RIVER_HALF_M = 22.0  # the river's half width, and where the buildings keep off
RIVER_SETBACK_M = 14.0
BLOCK_SETBACK_M = 14.0  # buildings keep this far inside their grid: the road and its pavement
PLOT_GAP_M = 3.0  # at least twice this between neighbouring buildings
TOWER_FLOORS = 15
# Homes come as walk-ups, mid-rise slabs and towers: (name, share of buildings, relative size).
RESIDENTIAL_FORMS = (("walk-up", 0.7, 1.0), ("mid-rise", 0.2, 1.7), ("tower", 0.1, 3.0))
INDUSTRIES = (
    ("software", 0.20, False),
    ("consulting", 0.12, False),
    ("trade", 0.12, False),
    ("finance", 0.06, False),
    ("design", 0.06, False),
    ("real_estate_agency", 0.05, False),
    ("catering", 0.08, False),
    ("retail", 0.09, False),
    ("logistics", 0.04, False),
    ("media", 0.04, False),
    ("fitness", 0.03, True),
    ("beauty", 0.03, True),
    ("training", 0.04, True),
    ("driving_school", 0.005, True),
    ("quasi_finance", 0.015, True),
    ("healthcare", 0.03, False),
)
COMPANY_WORDS = (
    "华信",
    "联创",
    "恒通",
    "中悦",
    "天启",
    "鼎盛",
    "博远",
    "瑞丰",
    "锦程",
    "新业",
    "宏达",
    "云帆",
    "汇智",
    "明德",
    "嘉禾",
    "启航",
    "卓越",
    "融通",
    "安泰",
    "星辰",
)
INDUSTRY_WORDS = {
    "software": "科技有限公司",
    "consulting": "咨询有限公司",
    "trade": "贸易有限公司",
    "finance": "投资管理有限公司",
    "design": "设计有限公司",
    "real_estate_agency": "房地产经纪有限公司",
    "catering": "餐饮管理有限公司",
    "retail": "商贸有限公司",
    "logistics": "物流有限公司",
    "media": "文化传媒有限公司",
    "fitness": "健身服务有限公司",
    "beauty": "美容有限公司",
    "training": "教育培训有限公司",
    "driving_school": "机动车驾驶培训有限公司",
    "quasi_finance": "资产管理有限公司",
    "healthcare": "医疗科技有限公司",
}
# In a building with group renting, this share of its households are group-rented.
GROUP_RENT_HOTSPOT_SHARE = (0.15, 0.35)
# Share of enterprises whose managers, tax or insured staff changed much since last year.
ENTERPRISE_CHANGE_SHARE = 0.01
# Besides those, this share's tax moved since last year, around their building's trend (a tower
# filling up or emptying), so some buildings' tax grows and others' falls. A change stays in the
# range: a fall of at most a fifth stays under the tax-drop visit threshold (30 %), so the visits
# due are those of the big changes above.
TAX_MOVED_SHARE = 0.6
BUILDING_TAX_TREND = (-0.12, 0.15)
FIRM_TAX_SPREAD = 0.1
TAX_CHANGE_RANGE = (-0.2, 0.6)
# Share of an office building's lettable units that are let, drawn per building.
OFFICE_OCCUPANCY = (0.65, 0.97)
RELOCATION_SIGNS = ("迁出咨询", "注销咨询", "退租申请")
TAX_ELSEWHERE = ("浦东新区", "闵行区", "嘉定区", "青浦区", "奉贤区", "崇明区", "外省市")
FIRE_MIX = (
    (DeviceKind.SMOKE, 0.52),
    (DeviceKind.ELECTRICITY, 0.22),
    (DeviceKind.GAS, 0.08),
    (DeviceKind.WATER_PRESSURE, 0.08),
    (DeviceKind.PATROL_POINT, 0.10),
)
PATROL_WINDOW_S = 7_200
# Share of the fleet out for service on the day the street is seeded, and what is being done.
MAINTENANCE_SHARE = 0.015
MAINTENANCE_WORK = ("年度检测", "更换电池", "更换探头", "线路检修", "通信模块更换")


@dataclass
class SeedReport:
    """Tell what a seed produced and how long it took."""

    tier: str
    seed: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)


class StoreNotEmptyError(RuntimeError):
    """Refuse to seed a store that already holds a street."""


def split_exact(total: int, weights: Sequence[float]) -> list[int]:
    """Split a whole number by weights with largest remainders, so the parts add up exactly."""
    weight_sum = sum(weights)
    raw = [total * w / weight_sum for w in weights]
    parts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - parts[i], -i), reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


class StreetGenerator:
    """Build every row of a street from a tier, a seed and a centre, without touching the store."""

    def __init__(
        self, tier: Tier, seed: int, center: tuple[float, float], as_of: date = REFERENCE_DAY
    ) -> None:
        self.tier = tier
        self.seed = seed
        self.as_of = as_of  # the day the street is seeded: leases and partner records date from it
        self.frame = LocalFrame(*center)
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in _LOAD_ORDER}
        self._building_rects: dict[int, layout.Rect] = {}
        self._building_grid: dict[int, int] = {}
        self._compound_boxes: dict[int, layout.Rect] = {}  # laid out, before bending

    def rng(self, stage: str) -> random.Random:
        """Return a random stream of its own for each stage, so stages never shift each other."""
        return random.Random(f"{self.seed}:{self.tier.name}:{stage}")

    def generate(
        self, progress: Callable[[str], None] = lambda _stage: None
    ) -> dict[str, list[dict[str, Any]]]:
        """Generate all rows, table by table, reporting each stage."""
        for stage, step in (
            ("geography", self._geography),
            ("buildings", self._buildings),
            ("households and residents", self._population),
            ("enterprises", self._enterprises),
            ("enterprise records", self._enterprise_records),
            ("devices", self._devices),
            ("grid workers and teams", self._workers),
        ):
            progress(stage)
            step()
        return self.rows

    # -- geography ---------------------------------------------------------------------------

    def _lonlat(self, x: float, y: float) -> tuple[float, float]:
        """Return the lon/lat of a laid-out point, once the street is bent into shape."""
        return self.frame.to_lonlat(*self.warp(x, y))

    def _polygon(self, ring: list[tuple[float, float]], step: float = 25.0) -> dict:
        """Return the GeoJSON polygon of a laid-out ring, bent into shape."""
        return {
            "type": "Polygon",
            "coordinates": [[list(self.frame.to_lonlat(*p)) for p in self.warp.path(ring, step)]],
        }

    def _line(self, points: list[tuple[float, float]]) -> dict:
        """Return the GeoJSON line of a laid-out polyline, bent into shape."""
        coords = [list(self.frame.to_lonlat(*p)) for p in self.warp.path(points)]
        return {"type": "LineString", "coordinates": coords}

    def _geography(self) -> None:
        tier, frame = self.tier, self.frame
        # A stream of its own: the shape of the street never shifts its people or its devices.
        rng = self.rng("street shape")
        street = layout.street_rect(tier.area_km2)
        self.street_rect = street
        community_rects = layout.split_uneven(street, tier.communities, rng)
        # The river follows the community boundary that runs the street's whole width nearest its
        # southern third (or, with a single row of communities, the street's southern edge).
        inner = sorted({round(r[1], 6) for r in community_rects if r[1] > street[1] + 1})
        target = street[1] + (street[3] - street[1]) * 0.3
        river_y = min(inner, key=lambda y: abs(y - target)) if inner else street[1] - RIVER_HALF_M
        self.river_band = (river_y - RIVER_HALF_M, river_y + RIVER_HALF_M)
        self.warp = layout.Warp.draw(street, river_y, rng)
        self.rows["streets"].append(
            {
                "id": 1,
                "code": tier.street_code,
                "name": tier.street_name,
                "scale": tier.name,
                "seed": self.seed,
                "area_km2": tier.area_km2,
                "center_lon": frame.lon0,
                "center_lat": frame.lat0,
                "boundary": self._polygon(layout.rect_ring(street)),
                "created_at": datetime.now(UTC),
            }
        )
        grids_per_community = split_exact(tier.grids, [1] * tier.communities)
        self.community_rects = community_rects
        self.grid_rects: list[tuple[int, layout.Rect]] = []
        grid_id = 0
        for c, rect in enumerate(community_rects, start=1):
            stem = COMPOUND_STEMS[(c - 1) % len(COMPOUND_STEMS)]
            name = (
                f"{stem}{COMMUNITY_SUFFIX}"
                if c <= len(COMPOUND_STEMS)
                else f"{stem}{c}{COMMUNITY_SUFFIX}"
            )
            self.rows["communities"].append(
                {
                    "id": c,
                    "street_id": 1,
                    "code": f"{tier.street_code}{c:03d}",
                    "name": name,
                    "boundary": self._polygon(layout.rect_ring(rect)),
                }
            )
            for g, grid_rect in enumerate(
                layout.split_uneven(rect, grids_per_community[c - 1], rng, spread=0.3), start=1
            ):
                grid_id += 1
                self.grid_rects.append((c, grid_rect))
                self.rows["grids"].append(
                    {
                        "id": grid_id,
                        "community_id": c,
                        "code": f"{tier.street_code[:6]}-{tier.street_code[6:]}-{c:03d}-{g:02d}",
                        "name": f"{name}第{g}网格",
                        "boundary": self._polygon(layout.rect_ring(grid_rect)),
                    }
                )
        self._blocks_and_parks(rng)
        self._roads()
        features = self.rows["map_features"]
        for block in self.blocks:
            features.append(
                {"kind": "block", "name": None, "geometry": self._polygon(layout.rect_ring(block))}
            )
        for name, park in self.parks:
            features.append(
                {"kind": "green", "name": name, "geometry": self._polygon(layout.rect_ring(park))}
            )
        features.append({"kind": "water", "name": RIVER_NAME, "geometry": self._river(street)})
        for i, feature in enumerate(features, start=1):
            feature["id"] = i
            feature["street_id"] = 1

    def _blocks_and_parks(self, rng: random.Random) -> None:
        """Set each grid's building block, kept off its roads and the river, and carve the parks."""
        low, high = self.river_band
        self.blocks: list[layout.Rect] = []
        for _, grid_rect in self.grid_rects:
            x0, y0, x1, y1 = layout.inset(grid_rect, BLOCK_SETBACK_M)
            if y0 < high + RIVER_SETBACK_M and y1 > high:
                y0 = high + RIVER_SETBACK_M
            if y1 > low - RIVER_SETBACK_M and y0 < low:
                y1 = low - RIVER_SETBACK_M
            self.blocks.append((x0, y0, x1, max(y1, y0 + 20)))
        # Parks take part of a few grids away from the centre's offices: a share of their block.
        n_parks = max(1, len(self.grid_rects) // 16)
        ranked = sorted(
            range(len(self.grid_rects)),
            key=lambda g: -math.hypot(*_centre(self.grid_rects[g][1])),
        )
        chosen = sorted(rng.sample(ranked[: max(n_parks, len(ranked) // 2)], n_parks))
        self.parks: list[tuple[str, layout.Rect]] = []
        for k, g in enumerate(chosen):
            x0, y0, x1, y1 = self.blocks[g]
            share = rng.uniform(0.3, 0.45)
            first = rng.random() < 0.5
            # Cut across the block's longer side, so the park comes out squarish, not a strip.
            if x1 - x0 >= y1 - y0:
                cut = x0 + (x1 - x0) * (share if first else 1 - share)
                west, east = (x0, y0, cut - 8, y1), (cut + 8, y0, x1, y1)
                park, self.blocks[g] = (west, east) if first else (east, west)
            else:
                cut = y0 + (y1 - y0) * (share if first else 1 - share)
                south, north = (x0, y0, x1, cut - 8), (x0, cut + 8, x1, y1)
                park, self.blocks[g] = (south, north) if first else (north, south)
            stem = COMPOUND_STEMS[(self.grid_rects[g][0] + k) % len(COMPOUND_STEMS)]
            self.parks.append((f"{stem}{PARK_SUFFIXES[k % len(PARK_SUFFIXES)]}", park))

    def _roads(self) -> None:
        """Draw and name the roads: community boundaries are main roads, grid boundaries minor."""
        features = self.rows["map_features"]
        low, high = self.river_band
        main = layout.merge_segments(self.community_rects)
        minor = layout.merge_segments([r for _, r in self.grid_rects])
        main_lines = sorted({_line_key(a, b) for a, b in main})
        minor_lines = sorted({_line_key(a, b) for a, b in minor} - set(main_lines))
        # One name per road: the segments of one straight line (before bending) share it.
        self.road_names = {
            line: ROAD_NAMES[i % len(ROAD_NAMES)] for i, line in enumerate(main_lines)
        }
        self.road_names |= {
            line: MINOR_ROAD_NAMES[i % len(MINOR_ROAD_NAMES)] for i, line in enumerate(minor_lines)
        }
        main_set = {(round(a[0]), round(a[1]), round(b[0]), round(b[1])) for a, b in main}
        for kind, segments in (("road_main", main), ("road_minor", minor)):
            for a, b in segments:
                if kind == "road_minor" and (
                    (round(a[0]), round(a[1]), round(b[0]), round(b[1])) in main_set
                ):
                    continue
                if a[1] == b[1] and low <= a[1] <= high:
                    continue  # the river runs here; its bridges are the roads across it
                features.append(
                    {
                        "kind": kind,
                        "name": self.road_names[_line_key(a, b)],
                        "geometry": self._line([a, b]),
                    }
                )

    def _road_near(self, grid: int, x: float, y: float) -> str:
        """Return the name of the road along the grid's edge nearest to a point."""
        x0, y0, x1, y1 = self.grid_rects[grid][1]
        low, high = self.river_band
        edges = [
            (abs(y - y0), ("h", round(y0, 1))),
            (abs(y1 - y), ("h", round(y1, 1))),
            (abs(x - x0), ("v", round(x0, 1))),
            (abs(x1 - x), ("v", round(x1, 1))),
        ]
        for _distance, line in sorted(edges):
            if line in self.road_names and not (line[0] == "h" and low <= line[1] <= high):
                return self.road_names[line]
        return ROAD_NAMES[grid % len(ROAD_NAMES)]  # a grid on the street's edge only

    def _river(self, street: layout.Rect) -> dict:
        """Return the river: a band along its line, of slowly varying width, bent with the street."""
        x0, _, x1, _ = street
        low, high = self.river_band
        mid, half = (low + high) / 2, (high - low) / 2
        steps = max(24, math.ceil((x1 - x0 + 300) / 40))
        xs = [x0 - 150 + (x1 - x0 + 300) * i / steps for i in range(steps + 1)]
        north = [(x, mid + half * (0.8 + 0.2 * math.sin(i / 3.3))) for i, x in enumerate(xs)]
        south = [(x, mid - half * (0.8 + 0.2 * math.cos(i / 4.1))) for i, x in enumerate(xs)]
        ring = north + south[::-1] + [north[0]]
        return {
            "type": "Polygon",
            "coordinates": [[list(self._lonlat(x, y)) for x, y in ring]],
        }

    # -- buildings ---------------------------------------------------------------------------

    def _buildings(self) -> None:
        tier, rng = self.tier, self.rng("buildings")
        n_grids = len(self.grid_rects)
        # Offices cluster in the grids nearest the centre (the commercial core), three to a grid.
        by_centrality = sorted(
            range(n_grids), key=lambda g: math.hypot(*_centre(self.grid_rects[g][1]))
        )
        offices = [0] * n_grids
        core = by_centrality[: max(1, math.ceil(tier.office_buildings / 3))]
        for i, parts in zip(core, split_exact(tier.office_buildings, [1] * len(core)), strict=True):
            offices[i] = parts
        commercial = [1 if g % 2 == 0 else 0 for g in range(n_grids)]
        public = [0] * n_grids
        first_grid_of = {}
        for g, (c, _) in enumerate(self.grid_rects):
            first_grid_of.setdefault(c, g)
        for g in first_grid_of.values():
            public[g] = 1
        # Households follow the land there is to build on: a bigger block houses more.
        households_per_grid = split_exact(
            tier.households,
            [_area(self.blocks[g]) * (0.4 if offices[g] else 1.0) for g in range(n_grids)],
        )

        self.residential: list[tuple[int, int]] = []  # (building id, households)
        self.offices: list[int] = []
        self.commercial: list[int] = []
        building_id = 0
        for g in range(n_grids):
            block = self.blocks[g]
            n_res = (
                math.ceil(households_per_grid[g] / tier.households_per_building)
                if households_per_grid[g]
                else 0
            )
            uses = (
                [BuildingUse.OFFICE] * offices[g]
                + [BuildingUse.COMMERCIAL] * commercial[g]
                + [BuildingUse.PUBLIC] * public[g]
                + [BuildingUse.RESIDENTIAL] * n_res
            )
            # Walk-ups, mid-rise slabs and towers share a grid's homes by their size.
            forms = rng.choices(RESIDENTIAL_FORMS, [f[1] for f in RESIDENTIAL_FORMS], k=n_res)
            households = split_exact(households_per_grid[g], [f[2] for f in forms]) if n_res else []
            plots = layout.plots(block, len(uses), rng)
            for use, plot in zip(uses, plots, strict=False):
                building_id += 1
                hh = households.pop() if use is BuildingUse.RESIDENTIAL else 0
                floors = self._floors(use, hh, rng)
                rect, ring = self._footprint(use, floors, plot, rng)
                lon, lat = self._lonlat(*_centre(rect))
                self._building_rects[building_id] = rect
                self._building_grid[building_id] = g + 1
                self.rows["buildings"].append(
                    {
                        "id": building_id,
                        "code": f"B{tier.street_code}{building_id:06d}",
                        "grid_id": g + 1,
                        "compound_id": None,
                        "use": use.value,
                        "name": None,
                        "floors": floors,
                        "height_m": round(floors * (4.2 if use is BuildingUse.OFFICE else 3.0), 1),
                        "built_year": self._built_year(use, floors, rng),
                        "footprint": self._polygon(ring, step=40.0),
                        "lon": lon,
                        "lat": lat,
                        "source": "simulated",
                        "external_id": None,
                        "properties": None,
                    }
                )
                if use is BuildingUse.RESIDENTIAL:
                    self.residential.append((building_id, hh))
                elif use is BuildingUse.OFFICE:
                    self.offices.append(building_id)
                elif use is BuildingUse.COMMERCIAL:
                    self.commercial.append(building_id)
        self._compounds_and_addresses()

    @staticmethod
    def _footprint(
        use: BuildingUse, floors: int, plot: layout.Slot, rng: random.Random
    ) -> tuple[layout.Rect, list[tuple[float, float]]]:
        """Return a building's main rectangle and outline inside its plot, by use and height.

        Walk-ups are long thin slabs facing south, towers near-square points, offices large and
        often L-shaped, shops a low strip along the plot's front. The rectangle (an L's full bar)
        is where devices go; the outline lies inside the plot with a gap, so no two touch.
        """
        gap = PLOT_GAP_M
        px0, py0, px1, py1 = plot.x0 + gap, plot.y0 + gap, plot.x1 - gap, plot.y1 - gap
        pw, ph = max(px1 - px0, 4.0), max(py1 - py0, 4.0)
        notch = None
        if use is BuildingUse.OFFICE:
            w, h = pw * rng.uniform(0.6, 0.85), ph * rng.uniform(0.55, 0.8)
            if rng.random() < 0.4:
                notch = (w * rng.uniform(0.35, 0.55), h * rng.uniform(0.35, 0.55))
        elif use is BuildingUse.COMMERCIAL:
            w, h = pw * rng.uniform(0.75, 0.95), ph * rng.uniform(0.3, 0.5)
        elif use is BuildingUse.PUBLIC:
            side = min(pw, ph) * rng.uniform(0.5, 0.75)
            w, h = side * rng.uniform(1.0, 1.6), side
        elif floors >= TOWER_FLOORS:
            side = min(pw, ph, 34.0) * rng.uniform(0.65, 0.95)
            w, h = side * rng.uniform(1.0, 1.5), side
        else:
            w = pw * rng.uniform(0.72, 0.95)
            h = min(ph * 0.6, rng.uniform(10.0, 13.0) if floors <= 7 else rng.uniform(14.0, 18.0))
            if rng.random() < 0.2:
                # A wing at one end: the slab and, off it, an arm as deep as the slab is wide.
                wing = min(ph * 0.85, h * rng.uniform(2.0, 2.8))
                notch = (w - h * 1.2, wing - h)
                h = wing
        w, h = min(w, pw), min(h, ph)
        # Shops line the street at the plot's front (south); the rest stand anywhere in it.
        x0 = px0 + rng.uniform(0, pw - w)
        y0 = py0 if use is BuildingUse.COMMERCIAL else py0 + rng.uniform(0, ph - h)
        rect = (x0, y0, x0 + w, y0 + h)
        if notch is None or notch[0] < 4 or notch[1] < 4:
            return rect, layout.rect_ring(rect)
        corner = rng.randrange(4)
        # The full-width bar of the L, on the side away from the notch, is where devices go.
        bar = (
            (x0, y0, x0 + w, y0 + h - notch[1])
            if corner >= 2
            else (x0, y0 + notch[1], x0 + w, y0 + h)
        )
        return bar, layout.l_ring(rect, notch[0], notch[1], corner)

    def _floors(self, use: BuildingUse, households: int, rng: random.Random) -> int:
        if use is BuildingUse.OFFICE:
            return rng.randint(12, 42)
        if use in (BuildingUse.COMMERCIAL, BuildingUse.PUBLIC):
            return rng.randint(2, 6)
        return max(3, min(34, math.ceil(households / self.tier.households_per_floor)))

    @staticmethod
    def _built_year(use: BuildingUse, floors: int, rng: random.Random) -> int:
        if use is BuildingUse.RESIDENTIAL and floors <= 7:
            return rng.randint(1952, 1995)
        return rng.randint(1996, 2022)

    def _compounds_and_addresses(self) -> None:
        tier, rng = self.tier, self.rng("compounds")
        by_community: dict[int, list[int]] = {}
        grid_community = {g["id"]: g["community_id"] for g in self.rows["grids"]}
        buildings = {b["id"]: b for b in self.rows["buildings"]}
        for building_id, _ in self.residential:
            by_community.setdefault(grid_community[self._building_grid[building_id]], []).append(
                building_id
            )
        communities = sorted(by_community)
        per_community = split_exact(tier.compounds, [len(by_community[c]) for c in communities])
        compound_id = 0
        lane_of_building: dict[int, tuple[str, int, int]] = {}
        for c, n in zip(communities, per_community, strict=True):
            ids = by_community[c]
            n = max(1, min(n, len(ids)))
            for chunk in _chunks(ids, n):
                compound_id += 1
                stem = COMPOUND_STEMS[rng.randrange(len(COMPOUND_STEMS))]
                name = f"{stem}{COMPOUND_SUFFIXES[compound_id % len(COMPOUND_SUFFIXES)]}"
                rects = [self._building_rects[b] for b in chunk]
                box = (
                    min(r[0] for r in rects) - 10,
                    min(r[1] for r in rects) - 10,
                    max(r[2] for r in rects) + 10,
                    max(r[3] for r in rects) + 10,
                )
                self.rows["compounds"].append(
                    {
                        "id": compound_id,
                        "community_id": c,
                        "code": f"{tier.street_code}C{compound_id:04d}",
                        "name": f"{name}{compound_id}"
                        if compound_id > len(COMPOUND_STEMS)
                        else name,
                        "boundary": self._polygon(layout.rect_ring(box)),
                    }
                )
                self._compound_boxes[compound_id] = box
                # A compound's lanes open off the road nearest its first building.
                first = self._building_rects[chunk[0]]
                road = self._road_near(self._building_grid[chunk[0]] - 1, *_centre(first))
                lane = 100 + compound_id * 7 % 900
                for number, b in enumerate(chunk, start=1):
                    buildings[b]["compound_id"] = compound_id
                    lane_of_building[b] = (road, lane, number)
        self.compound_of = {b: buildings[b]["compound_id"] for b, _ in self.residential}
        street_numbers: dict[str, int] = {}
        district_prefix = tier.street_name
        for building in self.rows["buildings"]:
            b = building["id"]
            if b in lane_of_building:
                road, lane, number = lane_of_building[b]
                house = f"{lane}弄{number}号"
            else:
                road = self._road_near(
                    self._building_grid[b] - 1, *_centre(self._building_rects[b])
                )
                street_numbers[road] = street_numbers.get(road, 0) + 1
                house = f"{street_numbers[road] * 2 - 1}号"
            self.rows["addresses"].append(
                {
                    "id": b,
                    "code": f"{tier.street_code}{b:07d}",
                    "building_id": b,
                    "grid_id": building["grid_id"],
                    "road": road,
                    "number": house,
                    "full_text": f"{district_prefix}{road}{house}",
                    "lon": building["lon"],
                    "lat": building["lat"],
                }
            )

    # -- population --------------------------------------------------------------------------

    def _population(self) -> None:
        tier, rng = self.tier, self.rng("population")
        ids = people.IdNumberMaker()
        local_region = tier.street_code[:6]
        sizes = self._household_sizes(rng)
        households, residents = self.rows["households"], self.rows["residents"]
        household_id = resident_id = 0
        size_iter = iter(sizes)
        for building_id, count in self.residential:
            floors = self.rows["buildings"][building_id - 1]["floors"]
            per_floor = math.ceil(count / floors)
            for i in range(count):
                household_id += 1
                size, group_rent = next(size_iter)
                tenant = group_rent or rng.random() < tier.floating_share * 0.9
                households.append(
                    {
                        "id": household_id,
                        "address_id": building_id,
                        "building_id": building_id,
                        "room": f"{i // per_floor + 1}{i % per_floor + 1:02d}",
                        "tenure": "tenant" if tenant else "owner",
                        "area_m2": round(rng.uniform(35, 140), 1),
                    }
                )
                for age, gender in self._members(size, group_rent, rng):
                    resident_id += 1
                    floating = tenant and (group_rent or rng.random() < 0.92)
                    # Born within the year before the reference birthday, so the age is exact.
                    birth = REFERENCE_DAY.replace(year=REFERENCE_DAY.year - age) - timedelta(
                        days=rng.randrange(365)
                    )
                    region = rng.choice(people.ORIGIN_REGIONS) if floating else local_region
                    residents.append(
                        {
                            "id": resident_id,
                            "household_id": household_id,
                            "name": people.person_name(rng),
                            "id_number": ids.make(region, birth, gender),
                            "phone": people.mobile(rng) if age >= 14 else None,
                            "gender": gender,
                            "birth_date": birth,
                            "registration": (
                                Registration.FLOATING if floating else Registration.REGISTERED
                            ).value,
                            "lives_alone": size == 1 and age >= 60,
                            "source": "simulated",
                        }
                    )

    def _household_sizes(self, rng: random.Random) -> list[tuple[int, bool]]:
        """Return (size, group rent) per household, adding up to the tier's residents exactly."""
        tier = self.tier
        n = tier.households
        group = self._group_rent_households(rng, round(n * tier.group_rent_share))
        sizes = [
            rng.randint(8, 14)
            if i in group
            else rng.choices((1, 2, 3, 4, 5), (18, 32, 28, 14, 8))[0]
            for i in range(n)
        ]
        target = tier.residents
        if target < n:
            raise ValueError("a tier needs at least one resident per household")
        normal = [i for i in range(n) if i not in group]
        while (diff := target - sum(sizes)) != 0:
            step = 1 if diff > 0 else -1
            for i in rng.sample(normal, min(abs(diff), len(normal))):
                if step < 0 and sizes[i] == 1:
                    continue
                if step > 0 and sizes[i] >= 6:
                    continue
                sizes[i] += step
        return [(s, i in group) for i, s in enumerate(sizes)]

    def _group_rent_households(self, rng: random.Random, wanted: int) -> set[int]:
        """Pick group-rented households clustered in a few buildings, as streets find them."""
        # Households are numbered building by building; a building's are one contiguous range.
        ranges, start = [], 0
        for _building, count in self.residential:
            ranges.append(range(start, start + count))
            start += count
        group: set[int] = set()
        for households in rng.sample(ranges, len(ranges)):
            if len(group) >= wanted:
                break
            share = rng.uniform(*GROUP_RENT_HOTSPOT_SHARE)
            take = min(wanted - len(group), max(2, round(len(households) * share)))
            group.update(rng.sample(households, min(take, len(households))))
        return group

    def _members(self, size: int, group_rent: bool, rng: random.Random) -> list[tuple[int, str]]:
        """Return (age, gender) of each member of a household."""
        elder_bias = self.tier.elder_share

        def g() -> str:
            return "M" if rng.random() < 0.5 else "F"

        if group_rent:
            return [(rng.randint(19, 40), g()) for _ in range(size)]
        if size == 1:
            return [
                (
                    rng.randint(60, 95) if rng.random() < elder_bias * 0.8 else rng.randint(22, 59),
                    g(),
                )
            ]
        if size == 2:
            if rng.random() < elder_bias * 1.3:
                return [(rng.randint(60, 90), "M"), (rng.randint(58, 88), "F")]
            return [(rng.randint(23, 59), "M"), (rng.randint(22, 58), "F")]
        parent = rng.randint(28, 52)
        members = [(parent, "M"), (parent + rng.randint(-4, 3), "F")]
        children = size - 2
        if rng.random() < (0.6 if size >= 4 else 0.3):
            members.append((parent + rng.randint(25, 32), g()))
            children -= 1
        members += [(rng.randint(0, min(25, parent - 20)), g()) for _ in range(children)]
        return members

    # -- enterprises -------------------------------------------------------------------------

    def _enterprises(self) -> None:
        tier, rng = self.tier, self.rng("enterprises")
        buildings = self.rows["buildings"]
        hosts = self.offices + self.commercial
        weights = [buildings[b - 1]["floors"] * 3 if b in set(self.offices) else 2 for b in hosts]
        per_host = split_exact(tier.enterprises, weights)
        industries = [i[0] for i in INDUSTRIES]
        industry_weights = [i[1] for i in INDUSTRIES]
        prepaid = {i[0] for i in INDUSTRIES if i[2]}
        enterprise_id = 0
        region = tier.street_code[:6]
        for building_id, count in zip(hosts, per_host, strict=True):
            floors = buildings[building_id - 1]["floors"]
            for _ in range(count):
                enterprise_id += 1
                industry = rng.choices(industries, industry_weights)[0]
                staff = max(1, int(rng.lognormvariate(2.3, 1.1)))
                here = rng.random() < 0.93
                registered = REFERENCE_DAY - timedelta(days=rng.randrange(30, 365 * 20))
                legal = people.person_name(rng)
                self.rows["enterprises"].append(
                    {
                        "id": enterprise_id,
                        "uscc": people.uscc(rng, region, enterprise_id),
                        "name": f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_WORDS)}{INDUSTRY_WORDS[industry]}",
                        "industry": industry,
                        "prepaid": industry in prepaid,
                        "building_id": building_id,
                        "address_id": building_id,
                        "room": f"{rng.randint(1, floors)}{rng.randint(1, 30):02d}",
                        "tax_registered_here": here,
                        "tax_region": "本街道" if here else rng.choice(TAX_ELSEWHERE),
                        "legal_representative": legal,
                        "managers": [
                            {"role": "法定代表人", "name": legal},
                            {"role": "财务负责人", "name": people.person_name(rng)},
                        ],
                        "staff": staff,
                        "annual_tax_wan": round(staff * rng.uniform(0.8, 6.0), 1),
                        "status": "abnormal" if rng.random() < 0.03 else "operating",
                        "registered_on": registered,
                        "lease_ends_on": self.as_of + timedelta(days=rng.randrange(30, 365 * 3)),
                    }
                )
        self._office_units()

    def _office_units(self) -> None:
        """Give each office building its lettable units, so that the rooms let fill most of them."""
        # A stream of its own: the enterprises and everything after them stay as they were.
        rng = self.rng("office units")
        let: dict[int, set[str]] = {b: set() for b in self.offices}
        for e in self.rows["enterprises"]:
            if e["building_id"] in let and e["status"] == "operating":
                let[e["building_id"]].add(e["room"])
        buildings = self.rows["buildings"]
        for building_id in self.offices:
            occupancy = rng.uniform(*OFFICE_OCCUPANCY)
            units = max(
                math.ceil(len(let[building_id]) / occupancy), buildings[building_id - 1]["floors"]
            )
            buildings[building_id - 1]["properties"] = {OFFICE_UNITS_PROPERTY: units}

    def _enterprise_records(self) -> None:
        """Add last year's partner-department snapshot, signs, lawsuits and past visits."""
        rng = self.rng("enterprise records")
        # A stream of its own: the records drawn before tax could move stay as they were.
        moves = self.rng("tax moves")
        as_of, snapshots, events = self.as_of, self.rows["enterprise_snapshots"], []
        last_year = as_of - timedelta(days=365)
        trend = {
            building: moves.uniform(*BUILDING_TAX_TREND)
            for building in sorted({e["building_id"] for e in self.rows["enterprises"]})
        }
        low, high = TAX_CHANGE_RANGE
        for e in self.rows["enterprises"]:
            insured = round(e["staff"] * rng.uniform(0.6, 1.0))
            e["insured_staff"] = insured
            managers = [dict(m) for m in e["managers"]]
            if rng.random() < ENTERPRISE_CHANGE_SHARE:
                managers[1]["name"] = people.person_name(rng)
            tax_factor = rng.uniform(1.5, 3.0) if rng.random() < ENTERPRISE_CHANGE_SHARE else 1.0
            staff_factor = rng.uniform(1.6, 3.0) if rng.random() < ENTERPRISE_CHANGE_SHARE else 1.0
            moved = moves.random() < TAX_MOVED_SHARE
            change = min(max(moves.gauss(trend[e["building_id"]], FIRM_TAX_SPREAD), low), high)
            if moved and tax_factor == 1.0:
                tax_factor = 1 / (1 + change)  # last year's, from this year's
            snapshots.append(
                {
                    "id": len(snapshots) + 1,
                    "enterprise_id": e["id"],
                    "taken_on": last_year,
                    "managers": managers,
                    "annual_tax_wan": round(e["annual_tax_wan"] * tax_factor, 1),
                    "insured_staff": round(insured * staff_factor),
                }
            )

            def event(kind: str, days_back: int, trigger=None, detail=None, e=e) -> None:
                events.append(
                    {
                        "enterprise_id": e["id"],
                        "kind": kind,
                        "happened_on": as_of - timedelta(days=rng.randrange(1, days_back)),
                        "trigger": trigger,
                        "detail": detail,
                    }
                )

            if rng.random() < 0.003:
                event("relocation", 60, detail=rng.choice(RELOCATION_SIGNS))
            if rng.random() < 0.005:
                event("lawsuit", 170, detail="合同纠纷")
            # Streets visit the standing triggers as they go: most are answered within the half-year.
            if not e["tax_registered_here"] and rng.random() < 0.95:
                event("visit", 170, trigger="tax_elsewhere")
            if e["status"] != "operating" and rng.random() < 0.7:
                event("visit", 170, trigger="abnormal_operation")
            if (e["lease_ends_on"] - as_of).days <= 90 and rng.random() < 0.85:
                event("visit", 170, trigger="lease_ending")
        events.sort(key=lambda row: (row["happened_on"], row["enterprise_id"]))
        self.rows["enterprise_events"] = [dict(row, id=i) for i, row in enumerate(events, 1)]

    # -- devices -----------------------------------------------------------------------------

    def _devices(self) -> None:
        tier, rng = self.tier, self.rng("devices")
        buildings = self.rows["buildings"]
        devices = self.rows["devices"]
        installed = REFERENCE_DAY - timedelta(days=400)

        def add(
            kind: DeviceKind, building: dict | None, x: float, y: float, interval: int, **extra: Any
        ) -> None:
            lon, lat = self._lonlat(x, y)
            devices.append(
                {
                    "id": len(devices) + 1,
                    "code": f"{kind.value[:2].upper()}{tier.street_code[-3:]}{len(devices) + 1:07d}",
                    "kind": kind.value,
                    "building_id": building["id"] if building else None,
                    "resident_id": extra.get("resident_id"),
                    "compound_id": extra.get("compound_id"),
                    "floor": extra.get("floor"),
                    "lon": lon,
                    "lat": lat,
                    "report_interval_s": interval,
                    "installed_on": installed,
                    "params": extra.get("params"),
                }
            )

        def inside(building: dict) -> tuple[float, float]:
            x0, y0, x1, y1 = self._building_rects[building["id"]]
            return rng.uniform(x0, x1), rng.uniform(y0, y1)

        weight_for = {
            DeviceKind.SMOKE: lambda b: b["floors"] * (3 if b["use"] != "residential" else 1),
            DeviceKind.ELECTRICITY: lambda b: (
                b["floors"] * (4 if b["use"] in ("office", "commercial") else 1)
            ),
            DeviceKind.GAS: lambda b: (
                6 if b["use"] == "commercial" else (1 if b["use"] == "residential" else 0)
            ),
            DeviceKind.PATROL_POINT: lambda b: 2 if b["use"] != "residential" else 1,
        }
        high_rise = [b for b in buildings if b["floors"] >= 10] or sorted(
            buildings, key=lambda b: -b["floors"]
        )[:50]
        for (kind, _), n in zip(
            FIRE_MIX, split_exact(tier.fire_devices, [w for _, w in FIRE_MIX]), strict=True
        ):
            pool = high_rise if kind is DeviceKind.WATER_PRESSURE else buildings
            weights = (
                [b["floors"] for b in pool]
                if kind is DeviceKind.WATER_PRESSURE
                else [weight_for[kind](b) for b in pool]
            )
            for building in rng.choices(pool, weights, k=n):
                floor = (
                    building["floors"]
                    if kind is DeviceKind.WATER_PRESSURE
                    else rng.randint(1, building["floors"])
                )
                interval = (
                    PATROL_WINDOW_S if kind is DeviceKind.PATROL_POINT else rng.randint(30, 60)
                )
                add(kind, building, *inside(building), interval, floor=floor)
        # Livelihood: each living-alone elder has a smart water meter; half also a door sensor.
        households = self.rows["households"]
        for resident in self.rows["residents"]:
            if resident["lives_alone"]:
                building = buildings[households[resident["household_id"] - 1]["building_id"] - 1]
                x, y = inside(building)
                add(DeviceKind.WATER_METER, building, x, y, 3_600, resident_id=resident["id"])
                if rng.random() < 0.5:
                    add(DeviceKind.DOOR_SENSOR, building, x, y, 1_800, resident_id=resident["id"])
        for building in buildings:
            if building["floors"] >= 7:
                cars = (
                    max(1, building["floors"] // 12)
                    if building["use"] == "residential"
                    else building["floors"] // 8 + 1
                )
                for _ in range(cars):
                    add(
                        DeviceKind.ELEVATOR,
                        building,
                        *inside(building),
                        60,
                        params={"floors": building["floors"]},
                    )
        self._kiosks(add, rng)
        for _, grid_rect in self.grid_rects:
            x0, y0, x1, y1 = grid_rect
            for x, y in ((x0, y0), (x1, y1), ((x0 + x1) / 2, y0)):
                add(DeviceKind.CAMERA, None, x, y, 60)
        self._maintenance()

    def _maintenance(self) -> None:
        """Put a small share of the fleet in maintenance, as a street's work orders have it."""
        rng = self.rng("maintenance")  # a stream of its own: every other device stays as it was
        fleet = [d for d in self.rows["devices"] if d["kind"] != DeviceKind.PATROL_POINT.value]
        chosen = rng.sample(fleet, round(len(fleet) * MAINTENANCE_SHARE))
        for device in sorted(chosen, key=lambda d: d["id"]):
            device["params"] = {
                **(device["params"] or {}),
                MAINTENANCE_PARAM: True,
                "maintenance_since": (
                    self.as_of - timedelta(days=rng.randrange(0, 10))
                ).isoformat(),
                "maintenance_work": rng.choice(MAINTENANCE_WORK),
            }

    def _kiosks(self, add: Callable[..., None], rng: random.Random) -> None:
        """Place taxi kiosks at compound gates in the tier's number of residential areas."""
        compounds = self.rows["compounds"]
        by_community: dict[int, list[dict]] = {}
        for compound in compounds:
            by_community.setdefault(compound["community_id"], []).append(compound)
        areas = sorted(
            rng.sample(sorted(by_community), min(self.tier.taxi_kiosk_areas, len(by_community)))
        )
        for community, n in zip(
            areas, split_exact(self.tier.taxi_kiosks, [1] * len(areas)), strict=True
        ):
            candidates = by_community[community]
            for k in range(n):
                compound = candidates[k % len(candidates)]
                # A second kiosk at the same compound stands at its other gate (another corner).
                corner = layout.rect_ring(self._compound_boxes[compound["id"]])[
                    (k // len(candidates)) % 4
                ]
                add(
                    DeviceKind.TAXI_KIOSK,
                    None,
                    *corner,
                    300,
                    compound_id=compound["id"],
                )

    # -- people at work ----------------------------------------------------------------------

    def _workers(self) -> None:
        tier, rng = self.tier, self.rng("workers")
        grid_count = len(self.grid_rects)
        worker_id = 0
        for g, n in enumerate(split_exact(tier.grid_workers, [1] * grid_count), start=1):
            for _ in range(n):
                worker_id += 1
                self.rows["grid_workers"].append(
                    {
                        "id": worker_id,
                        "code": f"GW{tier.street_code[-3:]}{worker_id:05d}",
                        "name": people.person_name(rng),
                        "phone": people.mobile(rng),
                        "grid_id": g,
                    }
                )
        teams = [
            ("street", "街道城运中心指挥组", "command", 8),
            ("city", "城管执法中队", "city_management", 24),
            ("police", "派出所指挥室", "police", 12),
            ("medical", "社区卫生服务中心", "medical", 10),
            ("property", "物业维修联合队", "property", 30),
            ("elevator", "电梯维保站", "elevator", 12),
        ]
        for c, community in enumerate(self.rows["communities"], start=1):
            teams.append((f"fire{c:03d}", f"{community['name']}微型消防站", "fire", 6))
        for i, (code, name, kind, members) in enumerate(teams, start=1):
            rect = self.community_rects[(i - 1) % len(self.community_rects)]
            lon, lat = self._lonlat(*_centre(rect))
            self.rows["response_teams"].append(
                {
                    "id": i,
                    "code": f"RT-{code}",
                    "name": name,
                    "kind": kind,
                    "members": members,
                    "base_lon": lon,
                    "base_lat": lat,
                }
            )


def _centre(rect: layout.Rect) -> tuple[float, float]:
    return (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2


def _area(rect: layout.Rect) -> float:
    return max(rect[2] - rect[0], 0.0) * max(rect[3] - rect[1], 0.0)


def _line_key(a: tuple[float, float], b: tuple[float, float]) -> tuple[str, float]:
    """Return which straight line a horizontal or vertical road segment lies on."""
    return ("h", round(a[1], 1)) if round(a[1], 1) == round(b[1], 1) else ("v", round(a[0], 1))


def _chunks(items: list[int], n: int) -> list[list[int]]:
    """Split a list into n contiguous, near-equal chunks."""
    sizes = split_exact(len(items), [1] * n)
    out, start = [], 0
    for size in sizes:
        out.append(items[start : start + size])
        start += size
    return out


# Parents before children, so foreign keys hold while loading.
_LOAD_ORDER = (
    "streets",
    "communities",
    "grids",
    "compounds",
    "map_features",
    "buildings",
    "addresses",
    "households",
    "residents",
    "enterprises",
    "enterprise_snapshots",
    "enterprise_events",
    "devices",
    "grid_workers",
    "response_teams",
)


def store_is_empty(engine: Engine) -> bool:
    """Tell whether the store holds no street yet."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(schema.Street)).scalar_one() == 0


def seed_street(
    engine: Engine,
    tier: Tier,
    seed: int,
    center: tuple[float, float],
    *,
    as_of: date = REFERENCE_DAY,
    show_progress: bool = False,
    on_step: Callable[[int, int, str], None] | None = None,
) -> SeedReport:
    """Generate the tier's street and load it into an empty, migrated store in one transaction.

    `on_step(done, total, step)` hears of each step as it starts (the demo's "preparing" bar).
    """
    if not store_is_empty(engine):
        raise StoreNotEmptyError("the store already holds a street; use --reset to replace it")
    started = time.perf_counter()
    generator = StreetGenerator(tier, seed, center, as_of)
    stages = 7 + len(_LOAD_ORDER)
    with tqdm(total=stages, desc="seed", unit="step", disable=not show_progress, leave=True) as bar:
        done = iter(range(stages + len(_LOAD_ORDER)))  # a disabled bar counts nothing

        def step(label: str) -> None:
            if on_step is not None:
                on_step(min(next(done), stages - 1), stages, label)
            bar.set_postfix_str(label)
            bar.update(1)

        rows = generator.generate(step)
        tables = schema.Base.metadata.tables
        with engine.begin() as conn:
            for name in _LOAD_ORDER:
                step(f"write {name}")
                bulk_insert(conn, tables[name], rows[name])
    reset_sequences(engine)
    return SeedReport(
        tier.name, seed, time.perf_counter() - started, {n: len(r) for n, r in rows.items()}
    )
