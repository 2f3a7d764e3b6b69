"""Build the live map's view models from store rows: geometry once, then states, alerts, cases, cards."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shapely.affinity import scale as stretch
from shapely.geometry import shape
from shapely.ops import linemerge, polylabel

from cockpit.geo import Point, wgs84_to_gcj02
from cockpit.i18n import place_name
from cockpit.panels import DeviceState
from cockpit.places import building_places
from cockpit.rules.housing import BuildingFacts, RiskResult
from cockpit.rules.results import DEVICE_HEALTH_KINDS
from data_adapters.map_geometry import MapRows
from data_adapters.map_overlays import UNMAPPED_ALERT_KINDS

MAP_GEOMETRY = "map_geometry"
MAP_DEVICES = "map_devices"
MAP_ALERTS = "map_alerts"
MAP_CASES = "map_cases"
# Cards are split by building id into shards, so a tap parses one small view, not the street's.
BUILDING_CARDS = "building_cards"  # the index: how many shards, how many cards
CARD_SHARDS = 32
# The static layers, each published as its own view and fetched once by URL: the geometry index
# (MAP_GEOMETRY) names their versions, so a browser downloads a layer again only when it changed.
BASEMAP = "basemap"  # street boundary and community outlines: drawn over tiles too
GRIDS = "grids"  # grid (网格) outlines, switched on and off by the person looking
GROUND = "ground"  # blocks, water, roads: the offline basemap, left out when tiles are set
BUILDINGS = "buildings"
DEVICES = "devices"
ENTERPRISES = "enterprises"
NAMES = "names"  # one point per road, community and grid name, placed where it reads best
LAYERS = (BASEMAP, GRIDS, GROUND, BUILDINGS, DEVICES, ENTERPRISES, NAMES)
ROAD_KINDS = ("road_main", "road_minor")
# Label kinds in the order they win a place on a crowded screen (assets/map.js de-clutters).
LABEL_KINDS = ("community", "grid", "road_main", "road_minor")
METRES_PER_DEGREE = 111_320.0
LAYER_VIEW_PREFIX = "map_layer_"
# Zoomed out, a screen gets one mark per building (DEVICES: its devices' ids at their mean
# position); zoomed in, the dots of the cells it looks at, fetched as it pans. A cell is
# CELL_DEGREES square (~500 m): a 1080p view at zoom 17 touches a dozen; a district has hundreds.
CELL_DEGREES = 0.005
CELL_VIEW_PREFIX = "map_device_cell_"
LOOSE_DEGREES = 0.001  # devices outside any building are grouped per ~100 m square

LEVEL_RANK = {"red": 4, "orange": 3, "yellow": 2, "blue": 1}
MAX_ALERT_MARKERS = 200  # pulsing DOM markers are dear on a 2013 tablet: gravest, newest first
MAX_CASE_MARKERS = 1000
DIGITS = 6  # ~0.1 m: finer than any footprint, and a third fewer bytes than the stored 7
# A ticker alert not yet in the SQL snapshot is shown when raised after the snapshot, give or
# take this many clock seconds (the insert and the read can interleave).
TICKER_SLACK_S = 300.0

Projection = Callable[[float, float], Point]


def identity(lon: float, lat: float) -> Point:
    """Return the point unchanged (tiles and geometry both in WGS84)."""
    return lon, lat


def projection(tile_coordinates: str) -> Projection:
    """Return the function that moves stored WGS84 points onto the tiles' coordinate system."""
    if tile_coordinates == "gcj02":
        return wgs84_to_gcj02
    if tile_coordinates == "wgs84":
        return identity
    raise ValueError(f"tile coordinates {tile_coordinates!r}: expected wgs84 or gcj02")


def layer_view(name: str) -> str:
    """Return the view-model name a static layer is published under."""
    if name not in LAYERS:
        raise ValueError(f"no map layer {name!r}")
    return LAYER_VIEW_PREFIX + name


def cell_of(lon: float, lat: float) -> tuple[int, int]:
    """Return the device cell (column, row) holding a projected position."""
    return math.floor(lon / CELL_DEGREES), math.floor(lat / CELL_DEGREES)


def cells_over(bounds: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Return every cell (column, row) over [[south, west], [north, east]] projected bounds."""
    (south, west), (north, east) = bounds
    (x0, y0), (x1, y1) = cell_of(west, south), cell_of(east, north)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def cell_view(column: int, row: int) -> str:
    """Return the view-model name one cell's device dots are published under."""
    return f"{CELL_VIEW_PREFIX}{column}_{row}"


# -- geometry (sent once) ---------------------------------------------------------------------


def _point(project: Projection, lon: float, lat: float) -> list[float]:
    """Return a projected, rounded [lon, lat]."""
    x, y = project(lon, lat)
    return [round(x, DIGITS), round(y, DIGITS)]


def project_geometry(geometry: Mapping[str, Any], project: Projection) -> dict[str, Any]:
    """Return a GeoJSON geometry with every position projected and rounded."""

    def walk(coords: Any) -> Any:
        if coords and isinstance(coords[0], int | float):
            return _point(project, coords[0], coords[1])
        return [walk(c) for c in coords]

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def _feature(geometry: dict[str, Any], properties: dict[str, Any], fid: Any = None) -> dict:
    """Return a GeoJSON Feature."""
    feature = {"type": "Feature", "geometry": geometry, "properties": properties}
    if fid is not None:
        feature["id"] = fid
    return feature


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": features}


def device_dots(rows: MapRows, project: Projection) -> list[dict[str, Any]]:
    """Return every device as a point feature (the dots drawn when zoomed in)."""
    return [
        _feature(
            {"type": "Point", "coordinates": _point(project, d["lon"], d["lat"])},
            {"id": d["id"], "k": d["kind"], "b": d["building_id"], "c": d["code"], "f": d["floor"]},
            d["id"],
        )
        for d in rows.devices
    ]


def device_groups(dots: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return one point per building (or ~100 m square outside any) with its devices' ids.

    The point is the member nearest the members' mean: a device's own place, so inside its
    building even where the footprint is L-shaped and the mean falls in the courtyard.
    """
    groups: dict[Any, list[tuple[float, float, int]]] = {}
    for dot in dots:
        lon, lat = dot["geometry"]["coordinates"]
        building = dot["properties"]["b"]
        key = (
            ("b", building)
            if building is not None
            else (round(lon / LOOSE_DEGREES), round(lat / LOOSE_DEGREES))
        )
        groups.setdefault(key, []).append((lon, lat, dot["properties"]["id"]))
    features = []
    for key, members in groups.items():
        x = sum(m[0] for m in members) / len(members)
        y = sum(m[1] for m in members) / len(members)
        lon, lat, _ = min(members, key=lambda m: (m[0] - x) ** 2 + (m[1] - y) ** 2)
        building = key[1] if key[0] == "b" else None
        ids = sorted(m[2] for m in members)
        features.append(
            _feature({"type": "Point", "coordinates": [lon, lat]}, {"b": building, "ids": ids})
        )
    return features


def device_cells(dots: Iterable[dict[str, Any]]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """Return the device dots split by cell (column, row)."""
    cells: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for dot in dots:
        cells.setdefault(cell_of(*dot["geometry"]["coordinates"]), []).append(dot)
    return cells


def build_layers(
    rows: MapRows, project: Projection, dots: list[dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Return each static layer as a FeatureCollection with short property keys (k=kind, n=name).

    DEVICES holds one point per building (`device_groups`); the dots themselves (`dots`, or
    `device_dots(rows, project)`) go out per cell, `device_cells`.
    """
    basemap = []
    if rows.street and rows.street.get("boundary"):
        basemap.append(
            _feature(
                project_geometry(rows.street["boundary"], project),
                {"k": "boundary", "n": rows.street.get("name")},
            )
        )
    basemap += [
        _feature(project_geometry(c["boundary"], project), {"k": "community", "n": c["name"]})
        for c in rows.communities
        if c.get("boundary")
    ]
    grids = [
        _feature(
            project_geometry(g["boundary"], project),
            {"k": "grid", "n": g["name"], "c": g.get("code")},
        )
        for g in rows.grids
        if g.get("boundary")
    ]
    # Fills first, lines on top: water and blocks under the roads.
    order = {"water": 0, "block": 1, "road_minor": 2, "road_main": 3}
    ground = [
        _feature(project_geometry(f["geometry"], project), {"k": f["kind"], "n": f["name"]})
        for f in sorted(rows.features, key=lambda f: order.get(f["kind"], 1))
    ]
    buildings = [
        _feature(
            project_geometry(b["footprint"], project),
            {"id": b["id"], "u": b["use"], "f": b["floors"]},
            b["id"],
        )
        for b in rows.buildings
        if b.get("footprint")
    ]
    devices = device_groups(device_dots(rows, project) if dots is None else dots)
    where = {b["id"]: (b["lon"], b["lat"]) for b in rows.buildings}
    enterprises = [
        _feature(
            {"type": "Point", "coordinates": _point(project, *where[building_id])},
            {"id": building_id, "n": n, "p": prepaid},
            building_id,
        )
        for building_id, (n, prepaid) in sorted(rows.enterprises.items())
        if building_id in where
    ]
    return {
        BASEMAP: _collection(basemap),
        GRIDS: _collection(grids),
        GROUND: _collection(ground),
        BUILDINGS: _collection(buildings),
        DEVICES: _collection(devices),
        ENTERPRISES: _collection(enterprises),
        NAMES: _collection(label_points(rows, project)),
    }


# -- labels -------------------------------------------------------------------------------------


def label_points(rows: MapRows, project: Projection) -> list[dict[str, Any]]:
    """Return the map's name labels as points: one per road, community and grid, in rank order.

    Properties: k (kind), zh and en (the name in each language), a (rotation, degrees clockwise,
    roads only), m (metres of road the label sits on, or the area's size), c (a grid's code).
    """
    labels: list[dict[str, Any]] = []
    for kind, items in (("community", rows.communities), ("grid", rows.grids)):
        for item in items:
            if item.get("boundary") and (item.get("name") or "").strip():
                labels.append(_area_label(kind, item, project))
    labels += _road_labels(rows.features, project)
    rank = {kind: i for i, kind in enumerate(LABEL_KINDS)}
    # Bigger areas and longer roads first: they win when two labels would overlap.
    labels.sort(key=lambda f: (rank[f["properties"]["k"]], -f["properties"]["m"]))
    return labels


def _names(name: str) -> dict[str, str]:
    """Return a name as stored (zh) and romanised (en)."""
    return {"zh": name, "en": place_name(name, "en", name)}


def _metric(lat: float) -> float:
    """Return how many metres a degree of longitude is at a latitude (a degree of latitude: ~111 km)."""
    return METRES_PER_DEGREE * math.cos(math.radians(lat))


def _area_label(kind: str, item: Mapping[str, Any], project: Projection) -> dict[str, Any]:
    """Return the label of a community or grid at its visual centre (the pole of inaccessibility)."""
    area = shape(project_geometry(item["boundary"], project))
    if area.geom_type == "MultiPolygon":
        area = max(area.geoms, key=lambda p: p.area)
    if not area.is_valid:
        area = area.buffer(0)
    lat = area.centroid.y
    # Scale longitude to metres first, so the centre is found in a square frame.
    x_scale = _metric(lat) / METRES_PER_DEGREE
    try:
        if area.geom_type != "Polygon":
            raise ValueError(area.geom_type)
        square = stretch(area, xfact=x_scale, yfact=1.0, origin=(0, 0))
        centre = polylabel(square, tolerance=1e-6)
        lon, lat = centre.x / x_scale, centre.y
    except (ValueError, ZeroDivisionError):
        point = area.representative_point()
        lon, lat = point.x, point.y
    size = math.sqrt(max(area.area, 0.0) * x_scale) * METRES_PER_DEGREE
    properties = {"k": kind, **_names(item["name"].strip()), "m": round(size)}
    if kind == "grid" and item.get("code"):
        properties["c"] = item["code"]
    return _feature(
        {"type": "Point", "coordinates": [round(lon, DIGITS), round(lat, DIGITS)]}, properties
    )


def _road_labels(features: Iterable[Mapping[str, Any]], project: Projection) -> list[dict]:
    """Return one label per named road, at the middle of its longest continuous stretch."""
    lines: dict[str, list[Any]] = {}
    main: set[str] = set()
    for feature in features:
        name = (feature.get("name") or "").strip()
        if feature.get("kind") not in ROAD_KINDS or not name:
            continue
        geometry = feature.get("geometry") or {}
        if geometry.get("type") not in ("LineString", "MultiLineString"):
            continue
        line = shape(project_geometry(geometry, project))
        if line.is_empty:
            continue
        lines.setdefault(name, []).append(line)
        if feature["kind"] == "road_main":
            main.add(name)
    labels = []
    for name, parts in lines.items():
        merged = (
            linemerge(parts) if len(parts) > 1 or parts[0].geom_type != "LineString" else parts[0]
        )
        stretches = list(merged.geoms) if merged.geom_type == "MultiLineString" else [merged]
        lat = stretches[0].coords[0][1]
        scale = _metric(lat) / METRES_PER_DEGREE
        longest, metres = max(((s, _metres(s, scale)) for s in stretches), key=lambda pair: pair[1])
        if metres <= 0:
            continue
        middle = longest.interpolate(0.5, normalized=True)
        labels.append(
            _feature(
                {
                    "type": "Point",
                    "coordinates": [round(middle.x, DIGITS), round(middle.y, DIGITS)],
                },
                {
                    "k": "road_main" if name in main else "road_minor",
                    **_names(name),
                    "a": _screen_angle(longest, scale),
                    "m": round(metres),
                },
            )
        )
    return labels


def _metres(line: Any, x_scale: float) -> float:
    """Return a lon/lat line's length in metres (flat-earth: a street is a few kilometres)."""
    coords = list(line.coords)
    return METRES_PER_DEGREE * sum(
        math.hypot((b[0] - a[0]) * x_scale, b[1] - a[1])
        for a, b in zip(coords, coords[1:], strict=False)
    )


def _screen_angle(line: Any, x_scale: float) -> int:
    """Return the clockwise rotation (degrees, -90 up to 90) laying text along the line's middle."""
    length = line.length
    ahead = line.interpolate(min(length, length * 0.5 + length * 0.1))
    behind = line.interpolate(max(0.0, length * 0.5 - length * 0.1))
    dx, dy = (ahead.x - behind.x) * x_scale, ahead.y - behind.y
    if dx == 0 and dy == 0:
        return 0
    # North is up on the screen while CSS turns clockwise: a line rising to the east turns left.
    angle = -math.degrees(math.atan2(dy, dx))
    # Text never reads upside down; an upright road reads bottom to top (-90).
    if angle >= 90:
        angle -= 180
    elif angle < -90:
        angle += 180
    return round(angle)


def geometry_index(
    rows: MapRows,
    project: Projection,
    versions: Mapping[str, str],
    counts: Mapping[str, int],
    tile_url: str | None,
    tile_coordinates: str,
    tile_attribution: str | None = None,
) -> dict[str, Any]:
    """Return the small map_geometry view: centre, bounds, basemap settings, layer versions."""
    points: list[tuple[float, float]] = []
    if rows.street and rows.street.get("boundary"):
        points = [tuple(p) for ring in _rings(rows.street["boundary"]) for p in ring]
    if not points:
        points = [(b["lon"], b["lat"]) for b in rows.buildings]
    projected = [project(lon, lat) for lon, lat in points]
    if projected:
        west, east = min(p[0] for p in projected), max(p[0] for p in projected)
        south, north = min(p[1] for p in projected), max(p[1] for p in projected)
        bounds = [
            [round(south, DIGITS), round(west, DIGITS)],
            [round(north, DIGITS), round(east, DIGITS)],
        ]
    else:
        bounds = None
    centre = None
    if rows.street:
        lon, lat = project(rows.street["center_lon"], rows.street["center_lat"])
        centre = [round(lat, DIGITS), round(lon, DIGITS)]
    return {
        "street": (rows.street or {}).get("name"),
        "center": centre,
        "bounds": bounds,
        "basemap": {
            "tile_url": tile_url,
            "coordinates": tile_coordinates,
            "attribution": tile_attribution if tile_url else None,
        },
        "layers": {name: {"version": versions[name], "count": counts[name]} for name in versions},
    }


def _rings(geometry: Mapping[str, Any]) -> list[list[list[float]]]:
    """Return every ring of a Polygon or MultiPolygon."""
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


@dataclass(frozen=True)
class Positions:
    """Know where things are on the map (projected lon/lat), to place alerts and cases."""

    buildings: Mapping[int, Point]
    devices: Mapping[int, tuple[float, float, int | None]]  # lon, lat, building id
    enterprise_building: Mapping[int, int]

    @classmethod
    def from_rows(cls, rows: MapRows, project: Projection) -> Positions:
        """Index the rows' buildings and devices by id."""

        def at(lon: float, lat: float) -> Point:
            x, y = project(lon, lat)
            return round(x, DIGITS), round(y, DIGITS)

        return cls(
            buildings={b["id"]: at(b["lon"], b["lat"]) for b in rows.buildings},
            devices={d["id"]: (*at(d["lon"], d["lat"]), d["building_id"]) for d in rows.devices},
            enterprise_building=rows.enterprise_building,
        )

    def place(self, alert: Mapping[str, Any]) -> tuple[float, float, int | None] | None:
        """Return (lon, lat, building id) for an alert's object, or None when unknown."""
        object_type, object_id = alert.get("object_type"), alert.get("object_id")
        building_id = alert.get("building_id")
        if object_type == "device" and object_id in self.devices:
            return self.devices[object_id]
        if object_type == "enterprise" and object_id in self.enterprise_building:
            building_id = self.enterprise_building[object_id]
        elif object_type == "building":
            building_id = object_id
        if building_id in self.buildings:
            return (*self.buildings[building_id], building_id)
        return None


# -- live overlays (every tick, small) ------------------------------------------------------


def device_states(
    states: Mapping[int, DeviceState],
    alarmed: Iterable[int],
    now_ts: float,
    offline_after_intervals: float,
) -> dict[str, Any]:
    """Return the map_devices view: ids in alarm, in maintenance and offline (the rest is online).

    A device out for service reports nothing and is neither up nor down: it is counted apart,
    as the KPI strip and the fire panel count it.
    """
    alarm_set = set(alarmed)
    alarm, serviced, silent = [], [], []
    k = offline_after_intervals
    # fire.device_state's test, inlined: this loop runs over every device at every tick.
    for device_id, state in states.items():
        if device_id in alarm_set:
            alarm.append(device_id)
        elif state.maintenance:
            serviced.append(device_id)
        elif (
            state.last_seen is None
            or state.interval_s <= 0
            or now_ts - state.last_seen > k * state.interval_s
        ):
            silent.append(device_id)
    return {
        "alarm": sorted(alarm),
        "maintenance": sorted(serviced),
        "offline": sorted(silent),
        "counts": {
            "total": len(states),
            "alarm": len(alarm),
            "maintenance": len(serviced),
            "offline": len(silent),
            "online": len(states) - len(alarm) - len(serviced) - len(silent),
        },
    }


def merge_open_alerts(
    sql_alerts: Sequence[Mapping[str, Any]] | None,
    sql_read_ts: float | None,
    ticker_items: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Return the open alerts: the SQL snapshot, updated by the live stream's newer events."""
    merged = {a["id"]: dict(a) for a in sql_alerts or ()}
    for item in ticker_items:
        alert_id = item.get("id")
        if item.get("status") == "resolved":
            merged.pop(alert_id, None)
        elif alert_id in merged:
            held = merged[alert_id]
            if LEVEL_RANK.get(item.get("level"), 0) > LEVEL_RANK.get(held.get("level"), 0):
                held["level"] = item["level"]
        elif sql_read_ts is None or (item.get("ts") or 0) >= sql_read_ts - TICKER_SLACK_S:
            merged[alert_id] = {
                k: item.get(k)
                for k in (
                    "id",
                    "kind",
                    "level",
                    "object_type",
                    "object_id",
                    "title_zh",
                    "title_en",
                    "ts",
                )
            }
    return list(merged.values())


def alarmed_devices(open_alerts: Iterable[Mapping[str, Any]]) -> set[int]:
    """Return the devices with an open alert other than being offline or faulty."""
    return {
        a["object_id"]
        for a in open_alerts
        if a.get("object_type") == "device"
        and a.get("object_id") is not None
        and a.get("kind") not in UNMAPPED_ALERT_KINDS
        and a.get("kind") not in DEVICE_HEALTH_KINDS
    }


def alert_markers(
    open_alerts: Iterable[Mapping[str, Any]],
    positions: Positions | None,
    grouped_kinds: Iterable[str] = (),
) -> dict[str, Any]:
    """Return the map_alerts view: placed open alerts, gravest and newest first, and counts.

    Alerts of `grouped_kinds` ([alerts.grouping]) in one building are one marker, titled with
    their count: thirty silent devices of a building are one spot on the map, not thirty
    stacked pulses. A red alert always has its own marker.
    """
    placed, unplaced = [], 0
    for alert in open_alerts:
        if alert.get("kind") in UNMAPPED_ALERT_KINDS or alert.get("level") not in LEVEL_RANK:
            continue
        where = positions.place(alert) if positions else None
        if where is None:
            unplaced += 1
            continue
        lon, lat, building_id = where
        placed.append(
            {
                "id": alert["id"],
                "level": alert["level"],
                "kind": alert.get("kind"),
                "title_zh": alert.get("title_zh") or "",
                "title_en": alert.get("title_en") or "",
                "lon": lon,
                "lat": lat,
                "building_id": building_id,
                "device_id": alert["object_id"] if alert.get("object_type") == "device" else None,
                "ts": alert.get("ts"),
            }
        )
    counts = Counter(a["level"] for a in placed)
    total = len(placed)
    placed = _fold_markers(placed, frozenset(grouped_kinds))
    placed.sort(
        key=lambda a: (
            LEVEL_RANK[a["level"]],
            a["ts"] or 0,
            a["id"] if a.get("count") is None else 0,
        ),
        reverse=True,
    )
    return {
        "items": placed[:MAX_ALERT_MARKERS],
        "counts": dict(counts),
        "total": total,
        "unplaced": unplaced,
    }


def _fold_markers(placed: list[dict[str, Any]], kinds: frozenset[str]) -> list[dict[str, Any]]:
    """Fold the markers of grouped kinds that share a building into one marker per kind."""
    if not kinds:
        return placed
    folds: dict[tuple[str, int], list[dict[str, Any]]] = {}
    kept = []
    for marker in placed:
        if marker["kind"] in kinds and marker["level"] != "red" and marker["building_id"]:
            folds.setdefault((marker["kind"], marker["building_id"]), []).append(marker)
        else:
            kept.append(marker)
    for (kind, building_id), members in folds.items():
        if len(members) == 1:
            kept.extend(members)
            continue
        newest = max(members, key=lambda m: (m["ts"] or 0, str(m["id"])))
        level = max((m["level"] for m in members), key=LEVEL_RANK.__getitem__)
        n = len(members)
        kept.append(
            newest
            | {
                "id": f"group:{kind}:{building_id}",
                "level": level,
                "title_zh": f"{newest['title_zh']} ×{n}",
                "title_en": f"{newest['title_en']} ×{n}",
                "device_id": None,  # a tap opens the building's card, which lists its devices
                "count": n,
            }
        )
    return kept


def case_markers(
    cases: Sequence[Mapping[str, Any]] | None, now_ts: float, project: Projection
) -> dict[str, Any]:
    """Return the map_cases view: open cases with a position, each marked overdue or not."""
    items, unplaced, overdue = [], 0, 0
    for case in cases or ():
        late = case.get("deadline_ts") is not None and case["deadline_ts"] < now_ts
        overdue += late
        if case.get("lon") is None or case.get("lat") is None:
            unplaced += 1
            continue
        lon, lat = _point(project, case["lon"], case["lat"])
        items.append(
            {
                "id": case["id"],
                "code": case.get("code"),
                "state": case.get("state"),
                "category": case.get("category"),
                "building_id": case.get("building_id"),
                "lon": lon,
                "lat": lat,
                "overdue": late,
            }
        )
    # Overdue first: when the markers are capped, the late ones must survive.
    items.sort(key=lambda c: (c["overdue"], c["id"]), reverse=True)
    return {
        "items": items[:MAX_CASE_MARKERS],
        "counts": {"open": len(cases or ()), "overdue": overdue, "unplaced": unplaced},
    }


# -- building cards -----------------------------------------------------------------------------


def building_cards(
    rows: MapRows,
    risks: Iterable[RiskResult],
    facts: Mapping[int, BuildingFacts] | None,
) -> dict[str, Any]:
    """Return the building_cards view: per building its risk, reasons, counts and device ids."""
    risk_of = {r.building_id: r for r in risks}
    facts = facts or {}
    grids = {g["id"]: g for g in rows.grids}
    communities = {c["id"]: c["name"] for c in rows.communities}
    places = building_places(rows)
    devices: dict[int, dict[str, list[int]]] = {}
    for d in rows.devices:
        if d["building_id"] is not None:
            devices.setdefault(d["building_id"], {}).setdefault(d["kind"], []).append(d["id"])
    cards = {}
    for b in rows.buildings:
        risk, fact = risk_of.get(b["id"]), facts.get(b["id"])
        grid = grids.get(b["grid_id"]) or {}
        cards[str(b["id"])] = {
            "id": b["id"],
            "code": b["code"],
            "name": b["name"],
            "compound": rows.compounds.get(b["compound_id"]),
            "grid": grid.get("name"),
            "community": communities.get(grid.get("community_id")),
            "use": b["use"],
            "floors": b["floors"],
            "colour": risk.colour if risk else None,
            "score": risk.score if risk else None,
            "reasons": [{"zh": r.text_zh, "en": r.text_en} for r in risk.reasons] if risk else [],
            "households": rows.households.get(b["id"], 0),
            "residents": fact.residents if fact else None,
            "floating": fact.floating_residents if fact else None,
            "elders_alone": fact.elders_living_alone if fact else None,
            "open_cases": fact.open_cases if fact else None,
            "enterprises": rows.enterprises.get(b["id"], (0, 0))[0],
            "devices": devices.get(b["id"], {}),
            # Where it is, to the building (cockpit.places): the cards spell it per language.
            "where": places.get(b["id"]),
        }
    return {"cards": cards}


def card_shard(building_id: int) -> str:
    """Return the name of the view holding a building's card."""
    return f"{BUILDING_CARDS}_{int(building_id) % CARD_SHARDS}"


def shard_cards(cards_view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Split the building_cards view into its shards (every shard present, even when empty)."""
    shards: dict[str, dict[str, Any]] = {
        f"{BUILDING_CARDS}_{k}": {"cards": {}} for k in range(CARD_SHARDS)
    }
    for key, card in cards_view["cards"].items():
        shards[card_shard(int(key))]["cards"][key] = card
    return shards


def device_state_of(device_id: int, devices_view: Mapping[str, Any] | None) -> str:
    """Return alarm, maintenance, offline or online for a device from the map_devices view
    ('unknown' if none)."""
    if not devices_view:
        return "unknown"
    for state in ("alarm", "maintenance", "offline"):
        if device_id in devices_view.get(state, ()):
            return state
    return "online"


def compose_building_card(
    building_id: int,
    cards_view: Mapping[str, Any] | None,
    devices_view: Mapping[str, Any] | None,
    cases_view: Mapping[str, Any] | None,
    alerts_view: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """Return one building's card: its published facts joined with live states, cases, alerts."""
    card = ((cards_view or {}).get("cards") or {}).get(str(building_id))
    if card is None:
        return None
    alarm = set((devices_view or {}).get("alarm", ()))
    serviced = set((devices_view or {}).get("maintenance", ()))
    silent = set((devices_view or {}).get("offline", ()))
    kinds = []
    for kind, ids in sorted(card["devices"].items()):
        n_alarm = sum(1 for i in ids if i in alarm)
        n_service = sum(1 for i in ids if i in serviced)
        n_off = sum(1 for i in ids if i in silent)
        kinds.append(
            {
                "kind": kind,
                "total": len(ids),
                "alarm": n_alarm,
                "maintenance": n_service,
                "offline": n_off,
                "online": len(ids) - n_alarm - n_service - n_off if devices_view else None,
            }
        )
    cases = [c for c in (cases_view or {}).get("items", ()) if c.get("building_id") == building_id]
    alerts = [
        a for a in (alerts_view or {}).get("items", ()) if a.get("building_id") == building_id
    ]
    return {
        **{k: v for k, v in card.items() if k != "devices"},
        "devices": kinds,
        "cases": sorted(cases, key=lambda c: (not c["overdue"], c["id"])),
        "alerts": alerts,
    }


def compose_device_card(
    feature_properties: Mapping[str, Any],
    cards_view: Mapping[str, Any] | None,
    devices_view: Mapping[str, Any] | None,
    alerts_view: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """Return one device's card from its map feature, its live state and its open alerts."""
    device_id = feature_properties.get("id")
    if not isinstance(device_id, int):
        return None
    building_id = feature_properties.get("b")
    card = ((cards_view or {}).get("cards") or {}).get(str(building_id)) or {}
    return {
        "id": device_id,
        "kind": feature_properties.get("k"),
        "code": feature_properties.get("c"),
        "floor": feature_properties.get("f"),
        "building_id": building_id,
        "building": card.get("name") or card.get("compound") or card.get("code"),
        # The device's own point and floor in its building's place (安图路3号 · 5楼).
        "where": (card.get("where") or {})
        | {k: v for k, v in (("floor", feature_properties.get("f")),) if v is not None},
        "state": device_state_of(device_id, devices_view),
        "alerts": [
            a for a in (alerts_view or {}).get("items", ()) if a.get("device_id") == device_id
        ],
    }
