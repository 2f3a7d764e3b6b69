"""Check the device-cell endpoint: a cell of the current set, cacheable; anything else, empty."""

from __future__ import annotations

import flask
import orjson
import pytest

from callbacks.map import serve_cell
from cockpit.map_layers import MAP_GEOMETRY, cell_view

DOT = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.5, 31.3]},
       "properties": {"id": 10, "k": "smoke", "b": 1, "c": "SM1", "f": 2}, "id": 10}  # fmt: skip


def views(current: str = "set-2", held: str = "set-2") -> dict:
    """Return a store whose index names `current` and whose one cell belongs to `held`."""
    return {
        MAP_GEOMETRY: {"device_cells": {"version": current, "size": 0.005, "count": 1}},
        cell_view(24300, 6260): {"type": "FeatureCollection", "features": [DOT], "set": held},
    }


def serve(
    store: dict, version: str, column: int = 24300, row: int = 6260, records: bool = True
) -> flask.Response:
    """Serve one cell from the store, as the web process does for a screen's fetch."""
    with flask.Flask(__name__).test_request_context():
        return serve_cell(store.get, version, column, row, records)


def test_a_cell_of_the_current_set_is_served_and_cacheable_for_good():
    response = serve(views(), "set-2")
    assert orjson.loads(response.get_data())["features"] == [DOT]
    assert response.mimetype == "application/geo+json"
    assert "immutable" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("store", "version", "at"),
    [
        (views(held="set-1"), "set-2", (24300, 6260)),  # a cell left over from an older street
        (views(), "set-2", (-5, 7)),  # empty ground: no cell there
        ({}, "set-2", (24300, 6260)),  # before the worker's first map
    ],
)
def test_a_stale_missing_or_unpublished_cell_is_empty_never_an_error(store, version, at):
    response = serve(store, version, *at)
    assert response.status_code == 200
    assert orjson.loads(response.get_data()) == {"type": "FeatureCollection", "features": []}


def test_an_old_set_in_the_url_is_answered_with_the_current_dots_and_not_cached():
    response = serve(views(), "set-1")
    assert orjson.loads(response.get_data())["features"] == [DOT]
    assert response.headers["Cache-Control"] == "no-cache"


def test_a_demo_page_fetches_its_cells_from_the_demo_and_production_from_production():
    import dash

    from callbacks.map import register
    from layouts.map import DEVICES_ID, street_map
    from tests.unit.test_map_screen import GEOMETRY, by_id

    app = dash.Dash(__name__)
    app.layout = dash.html.Div()
    production, demo = views(), views(current="demo-1", held="demo-1")
    demo[cell_view(-3, 4)] = {**demo.pop(cell_view(24300, 6260)), "features": []}
    register(app, production.get, demo.get)
    client = app.server.test_client()
    ours = client.get("/map-layers/device-cells/set-2/24300/6260.json")
    theirs = client.get("/map-layers/demo/device-cells/demo-1/24300/6260.json")
    west = client.get("/map-layers/demo/device-cells/demo-1/-3/4.json")  # west and south: signed
    assert orjson.loads(ours.get_data())["features"] == [DOT]
    assert orjson.loads(theirs.get_data())["features"] == []
    assert west.status_code == 200
    geometry = {**GEOMETRY, "device_cells": {"version": "set-2", "size": 0.005, "count": 1}}
    for mode, prefix in (("tablet", "/map-layers/"), ("demo", "/map-layers/demo/")):
        hideout = by_id(street_map(geometry, "zh", mode), DEVICES_ID).hideout
        assert hideout["cells"] == {"url": prefix + "device-cells/set-2/", "size": 0.005}


def test_a_device_in_someones_home_names_its_floor_only_to_a_record_reader():
    store = views()
    home = {**DOT, "id": 11, "properties": {**DOT["properties"], "id": 11, "k": "water_meter"}}
    store[cell_view(24300, 6260)]["features"] = [DOT, home]
    for records, shown in ((True, {"id", "k", "b", "c", "f"}), (False, {"id", "k", "b"})):
        dots = orjson.loads(serve(store, "set-2", records=records).get_data())["features"]
        assert set(dots[1]["properties"]) == shown
        assert dots[0]["properties"] == DOT["properties"]  # a smoke detector says all to anyone
