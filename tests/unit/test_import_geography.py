"""Test the geography importer: layers by property, tag or option; replacement; refusals; skips."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from sqlalchemy import func, select

from cockpit.cli import main
from cockpit.importers.errors import ImportFileError, ImportRefusedError
from cockpit.importers.geography import feature_kind, import_geography, layer_map
from cockpit.simulator.generator import seed_street
from cockpit.store import schema as s
from cockpit.store.counts import registry_counts
from tests.streets import tiny_tier

CENTRE = (129.1025, 35.1376)
TINY = tiny_tier(taxi_kiosks=2)


@pytest.fixture
def street(sqlite_engine):
    """Return a SQLite store holding a small seeded street."""
    seed_street(sqlite_engine, TINY, 7, CENTRE)
    return sqlite_engine


def bounds(engine) -> tuple[float, float, float, float]:
    """Return the seeded street boundary's lon/lat bounds."""
    with engine.connect() as conn:
        boundary = conn.execute(select(s.Street.boundary)).scalar_one()
    return shapely.geometry.shape(boundary).bounds


def rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    """Return a GeoJSON rectangle."""
    return json.loads(shapely.to_geojson(shapely.box(x0, y0, x1, y1)))


def feature(geometry: dict | None, fid: str | None = None, **properties) -> dict:
    """Return a GeoJSON Feature."""
    out = {"type": "Feature", "properties": properties, "geometry": geometry}
    if fid is not None:
        out["id"] = fid
    return out


def line(*points: tuple[float, float]) -> dict:
    """Return a GeoJSON LineString."""
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def street_file(engine) -> dict:
    """Return a real-looking geography: boundary a bit larger than the street, two communities
    split east and west, four coded grids, two named roads and a lake."""
    x0, y0, x1, y1 = bounds(engine)
    pad, xm, ym = 0.0005, (x0 + x1) / 2, (y0 + y1) / 2
    features = [
        feature(rect(x0 - pad, y0 - pad, x1 + pad, y1 + pad), layer="boundary", name="街道"),
        feature(
            rect(x0 - pad, y0 - pad, xm, y1 + pad), layer="community", name="西社区", code="C1"
        ),
        feature(
            rect(xm, y0 - pad, x1 + pad, y1 + pad), layer="community", name="东社区", code="C2"
        ),
    ]
    for n, (gx0, gx1, community) in enumerate(
        ((x0 - pad, xm, "C1"), (xm, x1 + pad, "C2")), start=1
    ):
        for m, (gy0, gy1) in enumerate(((y0 - pad, ym), (ym, y1 + pad)), start=1):
            features.append(
                feature(
                    rect(gx0, gy0, gx1, gy1),
                    layer="grid",
                    code=f"G{n}{m}",
                    name=f"第{n}{m}网格",
                    community=community,
                )
            )
    features += [
        feature(line((x0, ym), (x1, ym)), "way/1", highway="primary", name="中山路"),
        feature(line((xm, y0), (xm, y1)), "way/2", highway="residential", name="和平街"),
        feature(rect(x0, y0, x0 + 0.001, y0 + 0.001), "way/3", natural="water", name="镜湖"),
        feature({"type": "Point", "coordinates": [xm, ym]}, "node/4", amenity="bench"),
    ]
    return {"type": "FeatureCollection", "features": features}


def map_features(engine) -> list[tuple[str, str | None]]:
    """Return every map feature's kind and name."""
    with engine.connect() as conn:
        rows = conn.execute(select(s.MapFeature.kind, s.MapFeature.name).order_by(s.MapFeature.id))
        return [tuple(r) for r in rows]


def snapshot(engine) -> tuple:
    """Return what a refused import must leave unchanged."""
    with engine.connect() as conn:
        return (
            registry_counts(engine),
            conn.execute(select(s.Street.boundary)).scalar_one(),
            conn.execute(select(s.Grid.code).order_by(s.Grid.id)).scalars().all(),
            map_features(engine),
        )


# -- which layer a feature is -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "source_layer", "layers", "kind"),
    [
        ({"layer": "grid"}, None, {}, ("grid", True)),
        ({"kind": "网格"}, None, {}, ("grid", True)),
        ({"layer": "road", "highway": "primary"}, None, {}, ("road_main", True)),
        ({"layer": "roads"}, None, {}, ("road_minor", True)),
        ({"layer": "road", "class": "主干道"}, None, {}, ("road_main", True)),
        ({}, "roads", {}, ("road_minor", True)),
        ({}, "水系", {}, ("water", True)),
        ({"name": "x"}, None, {None: "community"}, ("community", True)),
        ({"highway": "secondary"}, "lines", {"lines": "road_minor"}, ("road_minor", True)),
        ({"boundary": "administrative", "admin_level": "8"}, None, {}, ("boundary", False)),
        ({"boundary": "administrative", "admin_level": "10"}, None, {}, ("community", False)),
        ({"boundary": "administrative", "admin_level": "4"}, None, {}, (None, False)),
        ({"highway": "tertiary"}, None, {}, ("road_main", False)),
        ({"highway": "living_street"}, None, {}, ("road_minor", False)),
        ({"highway": "footway"}, None, {}, (None, False)),
        ({"natural": "water"}, None, {}, ("water", False)),
        ({"waterway": "riverbank"}, None, {}, ("water", False)),
        ({"leisure": "park"}, None, {}, ("green", False)),
        ({"building": "yes", "natural": "water"}, None, {}, (None, False)),
        ({"amenity": "bench"}, None, {}, (None, False)),
    ],
)
def test_a_feature_says_its_layer_by_option_property_layer_name_or_osm_tags(
    properties, source_layer, layers, kind
):
    assert feature_kind(properties, source_layer, layers) == kind


def test_layer_options_name_the_whole_file_or_one_source_layer():
    assert layer_map(["grid"]) == {None: "grid"}
    assert layer_map(["roads=road_main", "lakes=water"]) == {"roads": "road_main", "lakes": "water"}
    with pytest.raises(ValueError, match="'river' is none of"):
        layer_map(["river"])


# -- replacing the simulated layers --------------------------------------------------------------


def test_a_street_file_replaces_boundary_communities_grids_roads_and_water(street):
    with street.connect() as conn:
        old_roads = conn.execute(
            select(func.count()).where(s.MapFeature.kind.in_(["road_main", "road_minor"]))
        ).scalar_one()
    report = import_geography(street, json.dumps(street_file(street)))
    d = report.details
    assert report.imported == 10
    assert (d["boundary"], d["communities"], d["grids"], d["roads"], d["water"]) == (1, 2, 4, 2, 1)
    assert d["ignored_features"] == 1  # the bench
    assert d["replaced_grids"] == 4 and d["replaced_communities"] == 2
    assert d["buildings_outside_boundary"] == 0
    # The simulated parks stay: the file brings no green layer.
    assert [f for f in map_features(street) if f[0] != "green"] == [
        ("road_main", "中山路"),
        ("road_minor", "和平街"),
        ("water", "镜湖"),
    ]
    assert old_roads > 2
    with street.connect() as conn:
        assert conn.execute(select(s.Grid.code).order_by(s.Grid.code)).scalars().all() == [
            "G11",
            "G12",
            "G21",
            "G22",
        ]
        communities = dict(conn.execute(select(s.Community.id, s.Community.code)).all())
        grids = conn.execute(select(s.Grid.id, s.Grid.community_id, s.Grid.boundary)).all()
        assert {communities[g.community_id] for g in grids} == {"C1", "C2"}
        outline = {g.id: shapely.geometry.shape(g.boundary) for g in grids}
        # Everything in a grid now names the new grid that holds it.
        for model in (s.Building, s.Address):
            for grid_id, lon, lat in conn.execute(select(model.grid_id, model.lon, model.lat)):
                assert outline[grid_id].intersects(shapely.Point(lon, lat))
        assert set(conn.execute(select(s.GridWorker.grid_id)).scalars()) <= set(outline)
        assert set(conn.execute(select(s.Case.grid_id)).scalars()) <= set(outline) | {None}
        assert set(conn.execute(select(s.Compound.community_id)).scalars()) <= set(communities)


def test_roads_alone_replace_roads_and_blocks_and_keep_the_rest(street):
    x0, y0, x1, y1 = bounds(street)
    roads = {
        "type": "FeatureCollection",
        "features": [feature(line((x0, y0), (x1, y1)), name="长江路", layer="road")],
    }
    before = map_features(street)
    report = import_geography(street, json.dumps(roads))
    after = map_features(street)
    assert report.details["roads"] == 1
    assert [f for f in after if f[0].startswith("road")] == [("road_minor", "长江路")]
    assert not [f for f in after if f[0] == "block"]
    assert [f for f in after if f[0] == "water"] == [f for f in before if f[0] == "water"]


def test_communities_without_grids_each_become_one_grid(street):
    x0, y0, x1, y1 = bounds(street)
    data = street_file(street)
    data["features"] = [f for f in data["features"] if f["properties"].get("layer") != "grid"]
    report = import_geography(street, json.dumps(data))
    assert report.details["grids"] == 2
    with street.connect() as conn:
        names = conn.execute(select(s.Grid.name).order_by(s.Grid.id)).scalars().all()
    assert names == ["西社区第1网格", "东社区第1网格"]


def test_a_geopackage_is_read_layer_by_layer_through_gdal(street, tmp_path):
    x0, y0, x1, y1 = bounds(street)
    path = tmp_path / "street.gpkg"
    for layer, geometry, name in (
        ("roads", shapely.LineString([(x0, y0), (x1, y1)]), "淮海路"),
        ("lakes", shapely.box(x0, y0, x0 + 0.001, y0 + 0.001), "月湖"),
    ):
        pyogrio.raw.write(
            path,
            geometry=shapely.to_wkb(np.array([geometry])),
            field_data=[np.array([name], dtype=object)],
            fields=["name"],
            layer=layer,
            driver="GPKG",
            geometry_type=geometry.geom_type,
            crs="EPSG:4326",
            append=path.exists(),
        )
    # "roads" names its kind; "lakes" does not, so it is ignored until --layer lakes=water.
    first = import_geography(street, path)
    assert (first.details["roads"], first.details["ignored_features"]) == (1, 1)
    report = import_geography(street, path, layers={"lakes": "water"})
    assert (report.details["roads"], report.details["water"]) == (1, 1)
    assert ("road_minor", "淮海路") in map_features(street)
    assert ("water", "月湖") in map_features(street)


# -- named errors, --skip-invalid, refusals ------------------------------------------------------


def test_an_invalid_polygon_is_named_with_its_reason_and_nothing_is_written(street):
    data = street_file(street)
    x0, y0, x1, y1 = bounds(street)
    cross = [[x0, y0], [x1, y1], [x1, y0], [x0, y0 + (y1 - y0) / 3], [x0, y0]]
    bowtie = {"type": "Polygon", "coordinates": [cross]}
    data["features"][5] = feature(bowtie, "way/99", layer="grid", code="G99")
    before = snapshot(street)
    with pytest.raises(
        ImportFileError, match=r"^feature 5 \(way/99\): invalid polygon: Self-intersection"
    ):
        import_geography(street, json.dumps(data))
    assert snapshot(street) == before


def test_a_road_without_length_is_named(street):
    x0, y0, *_ = bounds(street)
    data = {
        "type": "FeatureCollection",
        "features": [feature(line((x0, y0), (x0, y0)), layer="road")],
    }
    with pytest.raises(ImportFileError, match="feature 0: line has no length"):
        import_geography(street, json.dumps(data))


def test_skip_invalid_imports_the_rest_and_reports_each_skipped_feature(street):
    data = street_file(street)
    x0, y0, *_ = bounds(street)
    data["features"].append(
        feature(rect(x0, y0, x0, y0 + 0.001), "way/7", natural="water")  # no area
    )
    data["features"].append(feature(line((x0, y0)), "way/8", highway="primary"))
    with pytest.raises(ImportFileError, match=r"feature 11 \(way/7\)"):
        import_geography(street, json.dumps(data))
    report = import_geography(street, json.dumps(data), skip_invalid=True)
    assert report.imported == 10
    assert report.details["skipped_invalid"] == 2
    assert report.skipped == [
        "feature 11 (way/7): polygon ring 0 has no area",
        "feature 12 (way/8): line needs at least 2 positions",
    ]


def test_a_boundary_leaving_buildings_outside_is_refused_with_counts(street):
    x0, y0, x1, y1 = bounds(street)
    far = {
        "type": "FeatureCollection",
        "features": [feature(rect(x1 + 0.01, y1 + 0.01, x1 + 0.02, y1 + 0.02), layer="boundary")],
    }
    before = snapshot(street)
    with pytest.raises(ImportRefusedError) as refused:
        import_geography(street, json.dumps(far))
    counts = refused.value.counts
    assert counts["buildings_outside"] == counts["of_buildings"] == before[0]["buildings"]
    assert counts["households_outside"] == counts["of_households"] == 300
    assert "--allow-outside" in str(refused.value)
    assert snapshot(street) == before
    report = import_geography(street, json.dumps(far), allow_outside=True)
    assert report.details["households_outside_boundary"] == 300


def test_the_cli_imports_geography_and_refuses_with_a_non_zero_exit(street, tmp_path):
    url = street.url.render_as_string(hide_password=False)
    good, bad = tmp_path / "street.geojson", tmp_path / "far.geojson"
    good.write_text(json.dumps(street_file(street)))
    x0, y0, x1, y1 = bounds(street)
    bad.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [feature(rect(x1 + 1, y1 + 1, x1 + 2, y1 + 2), layer="boundary")],
            }
        )
    )
    runner = CliRunner()
    refused = runner.invoke(main, ["import", "geography", str(bad), "--database-url", url])
    assert refused.exit_code != 0
    buildings = registry_counts(street)["buildings"]
    assert (
        f"buildings_outside {buildings}" in refused.output
        and "nothing was imported" in refused.output
    )
    done = runner.invoke(main, ["import", "geography", str(good), "--database-url", url])
    assert done.exit_code == 0, done.output
    assert "imported 10 geography features" in done.output
    wrong = runner.invoke(main, ["import", "geography", str(good), "--layer", "lake"])
    assert wrong.exit_code == 2 and "'lake' is none of" in wrong.output
