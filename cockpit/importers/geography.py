"""Import the street's own geography (boundary, communities, grids, roads, water) over the simulated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from sqlalchemy import Connection, Engine, String, bindparam, delete, func, literal, select, update

from cockpit.geo import LocalFrame
from cockpit.importers.buildings import (
    _check_storable,
    _feature_id,
    _polygon_coordinates,
    _position,
    _text,
    check_valid,
)
from cockpit.importers.errors import ImportFileError, ImportReport, ImportStoreError
from cockpit.importers.feature_files import SourceFeature, json_kind, read_features, short
from cockpit.importers.street_checks import in_metres, outside_boundary, refuse_outside
from cockpit.store import schema
from cockpit.store.bulk import bulk_insert
from cockpit.store.database import max_id, reset_sequences

BOUNDARY, COMMUNITY, GRID = "boundary", "community", "grid"
ROAD_MAIN, ROAD_MINOR, WATER, GREEN, BLOCK = "road_main", "road_minor", "water", "green", "block"
AREA_KINDS = frozenset({BOUNDARY, COMMUNITY, GRID, WATER, GREEN, BLOCK})
ROAD_KINDS = (ROAD_MAIN, ROAD_MINOR)
GROUND_KINDS = (ROAD_MAIN, ROAD_MINOR, WATER, GREEN, BLOCK)
ROAD = "road"  # a road whose class the highway tag (or a class property) decides
# What a `layer` or `kind` property, a --layer option or a GeoPackage layer's name may say.
LAYER_NAMES = MappingProxyType(
    {
        "boundary": BOUNDARY,
        "street": BOUNDARY,
        "街道": BOUNDARY,
        "community": COMMUNITY,
        "communities": COMMUNITY,
        "社区": COMMUNITY,
        "grid": GRID,
        "grids": GRID,
        "网格": GRID,
        "road": ROAD,
        "roads": ROAD,
        "道路": ROAD,
        "road_main": ROAD_MAIN,
        "road_minor": ROAD_MINOR,
        "water": WATER,
        "水系": WATER,
        "green": GREEN,
        "park": GREEN,
        "parks": GREEN,
        "绿地": GREEN,
        "block": BLOCK,
        "blocks": BLOCK,
        "街区": BLOCK,
    }
)
MAIN_HIGHWAYS = frozenset(
    f"{kind}{link}"
    for kind in ("motorway", "trunk", "primary", "secondary", "tertiary")
    for link in ("", "_link")
)
MINOR_HIGHWAYS = frozenset(
    {"residential", "unclassified", "living_street", "service", "pedestrian", "road"}
)
MAIN_CLASSES = frozenset({"main", "primary", "主干道", "主干路", "干道"})
GREEN_TAGS = MappingProxyType(
    {
        "leisure": frozenset({"park", "garden"}),
        "landuse": frozenset({"grass", "park", "forest", "meadow", "recreation_ground"}),
        "natural": frozenset({"wood"}),
    }
)
NAME_KEYS = ("name", "名称", "NAME")
CODE_KEYS = ("code", "编码", "CODE")
COMMUNITY_KEYS = ("community", "社区", "community_code")
NAME_LENGTH = 64
CODE_LENGTH = 32
# admin_level of a Chinese street (街道/乡镇) is 8; a community (社区/村) is 9 or 10.
STREET_ADMIN_LEVELS = frozenset({"7", "8"})
COMMUNITY_ADMIN_LEVELS = frozenset({"9", "10"})


@dataclass(frozen=True)
class Place:
    """Hold one validated feature of the street's geography."""

    index: int
    where: str
    kind: str
    name: str | None
    code: str | None
    community: str | None  # a grid's community, by code or name
    geometry: dict[str, Any]


@dataclass
class ParsedGeography:
    """Hold the validated places of a file, by kind, with what was ignored and skipped."""

    places: dict[str, list[Place]] = field(default_factory=dict)
    ignored: int = 0
    skipped: list[str] = field(default_factory=list)

    def of(self, *kinds: str) -> list[Place]:
        """Return the places of these kinds, in file order."""
        return sorted(
            (p for kind in kinds for p in self.places.get(kind, ())), key=lambda p: p.index
        )


def layer_map(options: Iterable[str]) -> dict[str | None, str]:
    """Return the --layer options as {source layer or None for every feature: kind}."""
    mapping: dict[str | None, str] = {}
    for option in options:
        source, _, kind = option.rpartition("=")
        wanted = LAYER_NAMES.get(kind.strip().lower())
        if wanted is None:
            raise ValueError(f"--layer {option!r}: {kind!r} is none of {', '.join(KIND_CHOICES)}")
        mapping[source.strip() or None] = wanted
    return mapping


KIND_CHOICES = (BOUNDARY, COMMUNITY, GRID, ROAD, ROAD_MAIN, ROAD_MINOR, WATER, GREEN, BLOCK)


def parse_geography(
    features: Sequence[SourceFeature],
    layers: Mapping[str | None, str] | None = None,
    skip_invalid: bool = False,
) -> ParsedGeography:
    """Validate each feature as a layer of the street and return them (see `feature_kind`)."""
    parsed = ParsedGeography()
    first_of: dict[tuple[str, str], str] = {}
    for source in features:
        try:
            place = _parse_feature(source, layers or {}, first_of)
        except ImportFileError as err:
            if not skip_invalid:
                raise
            parsed.skipped.append(str(err))
            continue
        if place is None:
            parsed.ignored += 1
        else:
            parsed.places.setdefault(place.kind, []).append(place)
    if len(parsed.places.get(BOUNDARY, ())) > 1:
        first, second = parsed.places[BOUNDARY][:2]
        raise ImportFileError(second.where, f"a second street boundary ({first.where} is one)")
    if not parsed.places:
        raise ImportFileError(
            "file",
            "no feature is a boundary, community, grid, road, water, green or block"
            + (f" ({len(parsed.skipped)} invalid features skipped)" if parsed.skipped else ""),
        )
    return parsed


def feature_kind(
    properties: Mapping[str, Any], source_layer: str | None, layers: Mapping[str | None, str]
) -> tuple[str | None, bool]:
    """Return a feature's kind and whether it was named outright (else read from OSM tags).

    In order: a --layer option for the file or its layer; a `layer` or `kind` property; the
    source layer's own name (a GeoPackage layer called "roads"); then OpenStreetMap tags:
    boundary=administrative (admin_level 7-8 the street, 9-10 a community), highway=*,
    natural=water / water=* / waterway=riverbank, parks and green landuse.
    """
    named = layers.get(source_layer) or layers.get(None)
    if named is None:
        for key in ("layer", "kind", "图层"):
            value = _text(properties.get(key))
            if value and value.lower() in LAYER_NAMES:
                named = LAYER_NAMES[value.lower()]
                break
    if named is None and source_layer:
        named = LAYER_NAMES.get(source_layer.strip().lower())
    if named == ROAD:
        return _road_class(properties) or ROAD_MINOR, True
    if named is not None:
        return named, True
    return _osm_kind(properties), False


def _road_class(properties: Mapping[str, Any]) -> str | None:
    """Return road_main or road_minor from a highway tag or a class property, else None."""
    highway = (_text(properties.get("highway")) or "").lower()
    if highway in MAIN_HIGHWAYS:
        return ROAD_MAIN
    if highway in MINOR_HIGHWAYS:
        return ROAD_MINOR
    klass = (_text(properties.get("class")) or _text(properties.get("等级")) or "").lower()
    return ROAD_MAIN if klass in MAIN_CLASSES else None


def _osm_kind(tags: Mapping[str, Any]) -> str | None:
    """Return the kind OSM tags make a feature, or None for anything the map does not draw."""
    tag = {k: (_text(v) or "").lower() for k, v in tags.items() if isinstance(k, str)}
    if tag.get("building"):
        return None  # buildings come through `cockpit import buildings`
    if tag.get("boundary") == "administrative":
        if tag.get("admin_level") in STREET_ADMIN_LEVELS:
            return BOUNDARY
        if tag.get("admin_level") in COMMUNITY_ADMIN_LEVELS:
            return COMMUNITY
        return None
    if tag.get("highway"):
        return _road_class(tags)
    if (
        tag.get("natural") == "water"
        or tag.get("water")
        or tag.get("waterway") in ("riverbank", "dock")
        or tag.get("landuse") in ("reservoir", "basin")
    ):
        return WATER
    if any(tag.get(key) in values for key, values in GREEN_TAGS.items()):
        return GREEN
    return None


def _parse_feature(
    source: SourceFeature, layers: Mapping[str | None, str], first_of: dict[tuple[str, str], str]
) -> Place | None:
    """Validate one feature; None for one that is no layer of the street (or of the wrong shape)."""
    where = (
        f"feature {source.index}"
        if source.source_layer is None
        else f"layer {source.source_layer} feature {source.index}"
    )
    feature = source.feature
    if not isinstance(feature, dict):
        raise ImportFileError(where, f"expected a Feature object, got {json_kind(feature)}")
    external_id = _feature_id(where, feature)
    if external_id is not None:
        where = f"{where} ({external_id})"
    if feature.get("type") != "Feature":
        raise ImportFileError(where, f"expected type Feature, got {short(feature.get('type'))}")
    properties = feature.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise ImportFileError(
            where, f"properties must be an object or null, got {json_kind(properties)}"
        )
    _check_storable(where, properties)
    props = properties or {}
    kind, named = feature_kind(props, source.source_layer, layers)
    if kind is None:
        return None
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        if named:
            raise ImportFileError(where, f"a {kind} needs a geometry, got {json_kind(geometry)}")
        return None
    shape = geometry.get("type")
    wants_area = kind in AREA_KINDS
    if shape not in (
        ("Polygon", "MultiPolygon") if wants_area else ("LineString", "MultiLineString")
    ):
        if named:
            wanted = "a Polygon or MultiPolygon" if wants_area else "a LineString"
            raise ImportFileError(where, f"a {kind} needs {wanted}, got {short(shape)}")
        return None  # an OSM pedestrian area, a water point: not what the map draws
    if source.geometry_error:
        raise ImportFileError(where, f"unreadable geometry: {source.geometry_error}")
    if wants_area:
        flat = {
            "type": shape,
            "coordinates": _polygon_coordinates(where, shape, geometry.get("coordinates")),
        }
        check_valid(where, flat)
    else:
        flat = {
            "type": shape,
            "coordinates": _line_coordinates(where, shape, geometry.get("coordinates")),
        }
    name = _first_text(props, NAME_KEYS)
    code = _first_text(props, CODE_KEYS)
    for label, value, length in (("name", name, NAME_LENGTH), ("code", code, CODE_LENGTH)):
        if value is not None and len(value) > length:
            raise ImportFileError(where, f"{label} is longer than {length} characters")
    if kind in (COMMUNITY, GRID) and code is not None:
        if (kind, code) in first_of:
            raise ImportFileError(where, f"same {kind} code {code!r} as {first_of[(kind, code)]}")
        first_of[(kind, code)] = where
    return Place(
        source.index,
        where,
        kind,
        name,
        code,
        _first_text(props, COMMUNITY_KEYS) if kind == GRID else None,
        flat,
    )


def _first_text(properties: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    """Return the first of these properties that holds text."""
    for key in keys:
        value = _text(properties.get(key))
        if value:
            return value
    return None


def _line_coordinates(where: str, shape: str, coordinates: Any) -> list:
    """Validate LineString or MultiLineString coordinates, reduced to lon/lat pairs."""
    if shape == "LineString":
        return _line(where, "line", coordinates)
    if not isinstance(coordinates, list) or not coordinates:
        raise ImportFileError(where, "MultiLineString coordinates must be a non-empty list")
    return [_line(where, f"line {n}", line) for n, line in enumerate(coordinates)]


def _line(where: str, label: str, line: Any) -> list[list[float]]:
    """Validate one line: two or more finite WGS84 positions that do not all coincide."""
    if not isinstance(line, list) or len(line) < 2:
        raise ImportFileError(where, f"{label} needs at least 2 positions")
    points = [_position(where, f"{label} position {i}", p) for i, p in enumerate(line)]
    if all(p == points[0] for p in points):
        raise ImportFileError(where, f"{label} has no length (every position is the same)")
    return points


# -- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NewArea:
    """Hold a new community or grid row with its outline in metres, for point lookups."""

    row: dict[str, Any]
    outline: shapely.Geometry


def import_geography(
    engine: Engine,
    path_or_text: str | Path | bytes,
    *,
    layers: Mapping[str | None, str] | None = None,
    skip_invalid: bool = False,
    allow_outside: bool = False,
) -> ImportReport:
    """Replace the simulated layers of each kind the file brings, in one transaction.

    A boundary replaces the street's; communities and grids replace theirs, and everything in a
    grid (buildings, addresses, cases, grid workers) is re-pointed to the new grid containing it
    (the nearest when none does); communities without grids each become one grid. Roads replace
    every road, water all water, green all green; roads or water also clear the simulated blocks,
    which only fill the gaps of the simulated roads. Refuses a boundary that leaves buildings
    beyond it (ImportRefusedError) unless allow_outside.
    """
    parsed = parse_geography(read_features(path_or_text), layers, skip_invalid)
    details: dict[str, int | str] = {"ignored_features": parsed.ignored}
    warnings: list[str] = []
    with engine.begin() as conn:
        street = _the_street(conn)
        frame = LocalFrame(street.center_lon, street.center_lat)
        boundary = parsed.of(BOUNDARY)
        if boundary:
            details |= _replace_boundary(conn, street, boundary[0], frame, allow_outside)
            frame = LocalFrame(*_centre(boundary[0].geometry))
        communities, grids = parsed.of(COMMUNITY), parsed.of(GRID)
        if communities or grids:
            areas, area_warnings = _replace_areas(conn, street, communities, grids, frame)
            details |= areas
            warnings += area_warnings
        details |= _replace_ground(conn, street.id, parsed)
    reset_sequences(engine)
    imported = sum(len(places) for places in parsed.places.values())
    details["skipped_invalid"] = len(parsed.skipped)
    return ImportReport("geography", imported, details, list(parsed.skipped), warnings)


def _the_street(conn: Connection) -> Any:
    """Return the store's one street, or refuse when there is none (or more than one)."""
    streets = conn.execute(select(schema.Street.__table__)).all()
    if len(streets) != 1:
        raise ImportStoreError(
            "the store holds no street; seed one before importing its geography"
            if not streets
            else f"the store holds {len(streets)} streets; a geography import needs exactly one"
        )
    return streets[0]


def _centre(geometry: Mapping[str, Any]) -> tuple[float, float]:
    """Return the lon/lat of a polygon's representative centre (its centroid when inside)."""
    shape = shapely.geometry.shape(geometry)
    centre = shape.centroid if shape.contains(shape.centroid) else shape.representative_point()
    return round(centre.x, 7), round(centre.y, 7)


def _replace_boundary(
    conn: Connection, street: Any, place: Place, frame: LocalFrame, allow_outside: bool
) -> dict[str, int]:
    """Set the street's boundary, centre and area, refusing one that leaves buildings outside."""
    building, household = schema.Building.__table__, schema.Household.__table__
    rows = conn.execute(select(building.c.id, building.c.lon, building.c.lat)).all()
    far = outside_boundary(place.geometry, [(r.lon, r.lat) for r in rows], frame)
    out_ids = [r.id for r, out in zip(rows, far, strict=True) if out]
    households = conn.execute(select(func.count()).select_from(household)).scalar_one()
    households_out = 0
    for start in range(0, len(out_ids), 500):
        households_out += conn.execute(
            select(func.count())
            .select_from(household)
            .where(household.c.building_id.in_(out_ids[start : start + 500]))
        ).scalar_one()
    refuse_outside(
        "the new boundary", len(out_ids), len(rows), households_out, households, allow_outside
    )
    lon, lat = _centre(place.geometry)
    area_km2 = in_metres(shapely.geometry.shape(place.geometry), LocalFrame(lon, lat)).area / 1e6
    conn.execute(
        update(schema.Street.__table__)
        .where(schema.Street.id == street.id)
        .values(
            boundary=place.geometry, center_lon=lon, center_lat=lat, area_km2=round(area_km2, 3)
        )
    )
    return {
        "boundary": 1,
        "area_km2": f"{area_km2:.3f}",
        "buildings_outside_boundary": len(out_ids),
        "households_outside_boundary": households_out,
    }


def _replace_areas(
    conn: Connection,
    street: Any,
    communities: list[Place],
    grids: list[Place],
    frame: LocalFrame,
) -> tuple[dict[str, int], list[str]]:
    """Replace communities and/or grids, re-pointing all that lies in them; return the counts."""
    community_t, grid_t = schema.Community.__table__, schema.Grid.__table__
    details: dict[str, int] = {}
    if communities:
        new_communities = _new_communities(conn, street, communities, frame)
        details["communities"] = len(new_communities)
        details["replaced_communities"] = _count(conn, community_t)
    else:
        new_communities = [
            _NewArea(dict(r._mapping), in_metres(shapely.geometry.shape(r.boundary), frame))
            for r in conn.execute(select(community_t).order_by(community_t.c.id))
        ]
    if grids:
        new_grids = _new_grids_from_file(conn, grids, new_communities, frame)
    else:
        new_grids = _one_grid_each(conn, new_communities, frame)
    details["grids"] = len(new_grids)
    details["replaced_grids"] = _count(conn, grid_t)
    old_grids = conn.execute(select(grid_t.c.id, grid_t.c.boundary)).all()
    first_grid = min(g.row["id"] for g in new_grids)
    if communities:
        old_community_ids = [r.id for r in conn.execute(select(community_t.c.id))]
        conn.execute(update(community_t).values(code=literal("~", String) + community_t.c.code))
        bulk_insert(conn, community_t, [c.row for c in new_communities])
        details["compounds_moved"] = _move_compounds(conn, new_communities, frame)
    conn.execute(update(grid_t).values(code=literal("~", String) + grid_t.c.code))
    bulk_insert(conn, grid_t, [g.row for g in new_grids])
    details |= _regrid(conn, old_grids, new_grids, frame)
    conn.execute(delete(grid_t).where(grid_t.c.id < first_grid))
    if communities:
        conn.execute(delete(community_t).where(community_t.c.id.in_(old_community_ids)))
    staffed = set(conn.execute(select(schema.GridWorker.grid_id).distinct()).scalars())
    empty = [g.row["name"] for g in new_grids if g.row["id"] not in staffed]
    warnings = []
    if empty:
        details["grids_without_worker"] = len(empty)
        warnings.append(
            f"{len(empty)} of {len(new_grids)} grids have no grid worker: "
            + ", ".join(empty[:5])
            + (" ..." if len(empty) > 5 else "")
        )
    return details, warnings


def _count(conn: Connection, table: Any) -> int:
    """Return how many rows a table holds."""
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _new_communities(
    conn: Connection, street: Any, places: list[Place], frame: LocalFrame
) -> list[_NewArea]:
    """Return the file's communities as new rows, with codes and names filled in when missing."""
    first = max_id(conn, schema.Community.__table__) + 1
    out = []
    for n, place in enumerate(places, start=1):
        code = place.code or f"{street.code}{n:03d}"
        out.append(
            _NewArea(
                {
                    "id": first + n - 1,
                    "street_id": street.id,
                    "code": code,
                    "name": place.name or f"第{n}社区",
                    "boundary": place.geometry,
                },
                in_metres(shapely.geometry.shape(place.geometry), frame),
            )
        )
    return out


def _grid_code(community_code: str, n: int) -> str:
    """Return a grid's code in the district-street-community-grid form the simulator uses."""
    code = community_code.lstrip("~")
    if len(code) == 12 and code.isdigit():
        return f"{code[:6]}-{code[6:9]}-{code[9:]}-{n:02d}"
    return f"{code}-{n:02d}"


def _one_grid_each(
    conn: Connection, communities: list[_NewArea], frame: LocalFrame
) -> list[_NewArea]:
    """Return one grid covering each community (a community imported without its grids)."""
    first = max_id(conn, schema.Grid.__table__) + 1
    return [
        _NewArea(
            {
                "id": first + n,
                "community_id": c.row["id"],
                "code": _grid_code(c.row["code"], 1),
                "name": f"{c.row['name']}第1网格",
                "boundary": c.row["boundary"],
            },
            c.outline,
        )
        for n, c in enumerate(communities)
    ]


def _new_grids_from_file(
    conn: Connection, places: list[Place], communities: list[_NewArea], frame: LocalFrame
) -> list[_NewArea]:
    """Return the file's grids as new rows in their community (named, or the one holding them)."""
    by_ref = {}
    for c in communities:
        by_ref.setdefault(c.row["code"].lstrip("~"), c)
        by_ref.setdefault(c.row["name"], c)
    first = max_id(conn, schema.Grid.__table__) + 1
    counts: Counter[int] = Counter()
    out = []
    tree = shapely.STRtree([c.outline for c in communities])
    for n, place in enumerate(places):
        outline = in_metres(shapely.geometry.shape(place.geometry), frame)
        if place.community is not None:
            community = by_ref.get(place.community)
            if community is None:
                raise ImportFileError(
                    place.where,
                    f"community {place.community!r} is neither in the file nor the store",
                )
        else:
            community = communities[int(tree.query_nearest(outline.representative_point())[0])]
        counts[community.row["id"]] += 1
        m = counts[community.row["id"]]
        out.append(
            _NewArea(
                {
                    "id": first + n,
                    "community_id": community.row["id"],
                    "code": place.code or _grid_code(community.row["code"], m),
                    "name": place.name or f"{community.row['name']}第{m}网格",
                    "boundary": place.geometry,
                },
                outline,
            )
        )
    return out


def _holder(areas: list[_NewArea], points_m: np.ndarray) -> tuple[list[int], int]:
    """Return for each point (metres) the index of the area holding it (else nearest), and misses."""
    if not len(points_m):
        return [], 0
    tree = shapely.STRtree([a.outline for a in areas])
    points = shapely.points(points_m)
    # The nearest area of a point inside one is at distance 0: that area; ties go to the first.
    pairs, distances = tree.query_nearest(points, return_distance=True, all_matches=False)
    pick = np.empty(len(points), dtype=np.int64)
    pick[pairs[0]] = pairs[1]
    return pick.tolist(), int((distances > 0).sum())


def _lonlat_metres(frame: LocalFrame, lonlat: Sequence[tuple[float, float]]) -> np.ndarray:
    """Return lon/lat pairs as an (n, 2) array of metres in the frame."""
    return np.array([frame.to_metres(lon, lat) for lon, lat in lonlat], dtype=float).reshape(-1, 2)


def _move_compounds(conn: Connection, communities: list[_NewArea], frame: LocalFrame) -> int:
    """Put each compound in the new community holding its outline's centre."""
    compound = schema.Compound.__table__
    rows = conn.execute(select(compound.c.id, compound.c.boundary)).all()
    centres = [shapely.geometry.shape(r.boundary).representative_point() for r in rows]
    picks, _ = _holder(communities, _lonlat_metres(frame, [(p.x, p.y) for p in centres]))
    params = [
        {"m_id": r.id, "m_community": communities[i].row["id"]}
        for r, i in zip(rows, picks, strict=True)
    ]
    if params:
        conn.execute(
            update(compound)
            .where(compound.c.id == bindparam("m_id"))
            .values(community_id=bindparam("m_community")),
            params,
        )
    return len(params)


def _regrid(
    conn: Connection, old_grids: Sequence[Any], new_grids: list[_NewArea], frame: LocalFrame
) -> dict[str, int]:
    """Re-point every row naming a grid to the new grid holding it, by position where it has one."""
    old_centres = [shapely.geometry.shape(g.boundary).representative_point() for g in old_grids]
    old_picks, _ = _holder(new_grids, _lonlat_metres(frame, [(p.x, p.y) for p in old_centres]))
    grid_of_old = {g.id: new_grids[i].row["id"] for g, i in zip(old_grids, old_picks, strict=True)}
    building, address, case = (
        schema.Building.__table__,
        schema.Address.__table__,
        schema.Case.__table__,
    )
    details: dict[str, int] = {}
    outside = 0
    for label, table, lon, lat in (
        ("buildings", building, building.c.lon, building.c.lat),
        ("addresses", address, address.c.lon, address.c.lat),
        (
            "cases",
            case,
            func.coalesce(case.c.lon, building.c.lon),
            func.coalesce(case.c.lat, building.c.lat),
        ),
    ):
        query = select(table.c.id, table.c.grid_id, lon.label("lon"), lat.label("lat"))
        if table is case:
            query = query.outerjoin(building, building.c.id == case.c.building_id).where(
                case.c.grid_id.is_not(None)
            )
        rows = conn.execute(query).all()
        placed = [r for r in rows if r.lon is not None and r.lat is not None]
        picks, misses = _holder(new_grids, _lonlat_metres(frame, [(r.lon, r.lat) for r in placed]))
        if label == "buildings":
            outside = misses
        target = {r.id: new_grids[i].row["id"] for r, i in zip(placed, picks, strict=True)}
        for r in rows:
            target.setdefault(r.id, grid_of_old[r.grid_id])
        _set_grid(conn, table, target)
        details[f"{label}_regridded"] = len(target)
    worker = schema.GridWorker.__table__
    workers = conn.execute(select(worker.c.id, worker.c.grid_id)).all()
    _set_grid(conn, worker, {w.id: grid_of_old[w.grid_id] for w in workers})
    details["grid_workers_regridded"] = len(workers)
    details["buildings_outside_every_grid"] = outside
    return details


def _set_grid(conn: Connection, table: Any, target: Mapping[int, int]) -> None:
    """Set each row's grid_id from an id -> new grid id map."""
    if target:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("g_id"))
            .values(grid_id=bindparam("g_grid")),
            [{"g_id": row_id, "g_grid": grid_id} for row_id, grid_id in target.items()],
        )


def _replace_ground(conn: Connection, street_id: int, parsed: ParsedGeography) -> dict[str, int]:
    """Replace the map features of each ground kind the file brings; report what changed."""
    feature = schema.MapFeature.__table__
    groups = {
        "roads": ROAD_KINDS,
        "water": (WATER,),
        "green": (GREEN,),
        "blocks": (BLOCK,),
    }
    brought = {label: parsed.of(*kinds) for label, kinds in groups.items()}
    replaced: list[str] = [
        kind for label, kinds in groups.items() if brought[label] for kind in kinds
    ]
    # Simulated blocks only fill the gaps between simulated roads: real roads or water clear them.
    if (brought["roads"] or brought["water"]) and BLOCK not in replaced:
        replaced.append(BLOCK)
    details: dict[str, int] = {}
    if not replaced:
        return details
    removed = conn.execute(
        delete(feature).where(feature.c.street_id == street_id, feature.c.kind.in_(replaced))
    ).rowcount
    rows = [
        {"street_id": street_id, "kind": p.kind, "name": p.name, "geometry": p.geometry}
        for label in groups
        for p in brought[label]
    ]
    bulk_insert(
        conn, feature, [dict(row, id=n) for n, row in enumerate(rows, max_id(conn, feature) + 1)]
    )
    for label in groups:
        if brought[label]:
            details[label] = len(brought[label])
    details["named_roads"] = len({p.name for p in brought["roads"] if p.name})
    details["replaced_map_features"] = int(removed or 0)
    return details
