"""Check the map's name labels: one per road at its longest stretch, areas at their centres."""

from __future__ import annotations

import pytest

from cockpit.geo import wgs84_to_gcj02
from cockpit.map_layers import NAMES, build_layers, identity, label_points
from data_adapters.map_geometry import MapRows


def square(lon: float, lat: float, d: float) -> dict:
    """Return a GeoJSON square with its south-west corner at lon/lat."""
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def line(*points: tuple[float, float]) -> dict:
    """Return a GeoJSON LineString."""
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def street(features: list[dict]) -> MapRows:
    """Return a street with one community, one grid and the given map features."""
    return MapRows(
        street={"name": "测试街道", "center_lon": 121.5, "center_lat": 31.3, "boundary": None},
        communities=[{"id": 1, "name": "长白社区", "boundary": square(121.49, 31.29, 0.01)}],
        grids=[
            {
                "id": 3,
                "code": "310110-012-001-03",
                "name": "长白社区第3网格",
                "community_id": 1,
                "boundary": square(121.49, 31.29, 0.005),
            }
        ],
        features=features,
    )


def by_kind(labels: list[dict], kind: str) -> list[dict]:
    """Return the labels of one kind."""
    return [f for f in labels if f["properties"]["k"] == kind]


def test_a_road_in_pieces_gets_one_label_at_the_middle_of_its_longest_stretch():
    features = [
        # Two pieces that join (a road split at a crossing), and a short detached stub.
        {"kind": "road_main", "name": "长白路", "geometry": line((121.49, 31.3), (121.50, 31.3))},
        {"kind": "road_main", "name": "长白路", "geometry": line((121.50, 31.3), (121.51, 31.3))},
        {"kind": "road_main", "name": "长白路", "geometry": line((121.6, 31.3), (121.601, 31.3))},
        {"kind": "road_minor", "name": None, "geometry": line((121.49, 31.2), (121.5, 31.2))},
    ]
    roads = by_kind(label_points(street(features), identity), "road_main")
    assert len(roads) == 1
    (road,) = roads
    assert road["geometry"]["coordinates"] == [121.5, 31.3]
    assert road["properties"]["zh"] == "长白路"
    assert road["properties"]["en"] == "Changbai Road"
    assert road["properties"]["a"] == 0
    # 0.02° of longitude at 31.3° N is about 1.9 km.
    assert road["properties"]["m"] == pytest.approx(1902, rel=0.01)


def test_a_name_on_main_and_minor_pieces_is_a_main_road_and_upright_roads_read_upwards():
    features = [
        {"kind": "road_minor", "name": "敦化路", "geometry": line((121.5, 31.30), (121.5, 31.29))},
        {"kind": "road_main", "name": "敦化路", "geometry": line((121.5, 31.31), (121.5, 31.30))},
    ]
    (road,) = [
        f for f in label_points(street(features), identity) if "road" in f["properties"]["k"]
    ]
    assert road["properties"]["k"] == "road_main"
    assert road["properties"]["a"] == -90  # bottom to top, never upside down


def test_communities_and_grids_are_labelled_at_their_centres_in_both_languages():
    labels = label_points(street([]), identity)
    (community,) = by_kind(labels, "community")
    lon, lat = community["geometry"]["coordinates"]
    # Taller than wide in metres: any point on the middle of the long axis is as far from the edges.
    assert lon == pytest.approx(121.495, abs=1e-4) and lat == pytest.approx(31.295, abs=0.001)
    assert community["properties"]["en"] == "Changbai Community"
    (grid,) = by_kind(labels, "grid")
    assert grid["properties"]["en"] == "Changbai Community Grid 3"
    assert grid["properties"]["c"] == "310110-012-001-03"
    # Rank order: communities win a crowded screen over grids, grids over roads.
    assert [f["properties"]["k"] for f in labels] == ["community", "grid"]


def test_labels_are_a_static_layer_and_move_with_the_gcj02_shift():
    features = [
        {"kind": "road_main", "name": "长白路", "geometry": line((121.49, 31.3), (121.51, 31.3))}
    ]
    plain = build_layers(street(features), identity)[NAMES]["features"]
    shifted = build_layers(street(features), wgs84_to_gcj02)[NAMES]["features"]
    road = next(f for f in plain if f["properties"]["k"] == "road_main")
    moved = next(f for f in shifted if f["properties"]["k"] == "road_main")
    expected = wgs84_to_gcj02(*road["geometry"]["coordinates"])
    assert moved["geometry"]["coordinates"] == pytest.approx(list(expected), abs=1e-5)


def test_nameless_areas_and_odd_geometry_get_no_label():
    rows = MapRows(
        street=None,
        communities=[{"id": 1, "name": " ", "boundary": square(121.49, 31.29, 0.01)}],
        features=[
            {"kind": "road_main", "name": "长白路", "geometry": square(121.49, 31.29, 0.01)},
            {"kind": "water", "name": "河道", "geometry": square(121.49, 31.29, 0.01)},
        ],
    )
    assert label_points(rows, identity) == []
