"""Check the map's layout, its cards and its callbacks' handling of what a browser sends."""

from __future__ import annotations

import gzip
import json

import dash_leaflet as dl
import flask
import orjson
import pytest
from dash import dcc

from callbacks.map import picked_target, serve_layer
from cockpit.map_layers import (
    building_cards,
    compose_building_card,
    compose_device_card,
    identity,
    layer_view,
)
from layouts.map import (
    BUILDINGS_ID,
    CASE_PICK_ID,
    DEVICES_ID,
    MAP_PICK_ID,
    PICK_ID,
    building_card,
    device_card,
    street_map,
)
from tests.unit.test_map_layers import alert, risk, rows

GEOMETRY = {
    "street": "测试街道",
    "center": [31.3, 121.5],
    "bounds": [[31.29, 121.49], [31.31, 121.51]],
    "basemap": {"tile_url": None, "coordinates": "wgs84"},
    "layers": {name: {"version": f"v-{name}", "count": 1} for name in
               ("basemap", "ground", "buildings", "devices", "enterprises")},
}  # fmt: skip


def walk(component):
    """Yield a component and everything inside it."""
    yield component
    children = getattr(component, "children", None)
    if children is None:
        return
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from walk(child)


def by_id(component, wanted: str):
    """Return the component with an id inside a tree."""
    return next(c for c in walk(component) if getattr(c, "id", None) == wanted)


def text(component) -> str:
    """Return every string of a component tree, joined."""
    parts = []
    for c in walk(component):
        kids = getattr(c, "children", None)
        for kid in kids if isinstance(kids, list | tuple) else [kids]:
            if isinstance(kid, str | int):
                parts.append(str(kid))
    return " ".join(parts)


def test_map_fetches_each_layer_by_its_version_and_is_still_on_the_wall():
    wall = street_map(GEOMETRY, "zh", "wall")
    assert wall.id == "street-map"
    buildings = by_id(wall, BUILDINGS_ID)
    assert buildings.url.endswith("/map-layers/buildings/v-buildings.json")
    assert buildings.hideout == {"interactive": False}
    leaflet = by_id(wall, "street-map-leaflet")
    assert leaflet.dragging is False and leaflet.zoomControl is False
    assert leaflet.bounds == GEOMETRY["bounds"]
    assert by_id(street_map(GEOMETRY, "zh", "tablet"), "street-map-leaflet").dragging is True
    # Nothing in the layout carries the data itself: the geometry is a URL, fetched once.
    assert all(getattr(c, "data", None) is None for c in walk(wall) if isinstance(c, dl.GeoJSON))


def test_tiles_replace_the_offline_ground_but_keep_the_outlines():
    tiled = dict(
        GEOMETRY, basemap={"tile_url": "http://tiles/{z}/{x}/{y}.png", "coordinates": "gcj02"}
    )
    component = street_map(tiled, "zh", "wall")
    kinds = [type(c).__name__ for c in walk(by_id(component, "street-map-leaflet"))]
    assert "TileLayer" in kinds
    ids = {getattr(c, "id", None) for c in walk(component)}
    assert "map-ground" not in ids and "map-basemap" in ids
    assert "map-ground" in {
        getattr(c, "id", None) for c in walk(street_map(GEOMETRY, "zh", "wall"))
    }


def test_map_waits_politely_before_the_first_geometry():
    waiting = street_map(None, "en", "wall")
    assert waiting.id == "street-map" and "street-map-waiting" in waiting.className
    assert "Preparing the map" in text(waiting)
    # The card callbacks' inputs exist either way.
    assert all(by_id(waiting, store) is not None for store in (PICK_ID, MAP_PICK_ID, CASE_PICK_ID))


def test_legend_names_every_colour_in_words():
    legend = text(street_map(GEOMETRY, "en", "wall"))
    for words in (
        "Red: high risk",
        "Yellow: watch",
        "Green: low risk",
        "Alarm",
        "Offline",
        "Overdue",
    ):
        assert words in legend
    switch = by_id(street_map(GEOMETRY, "en", "tablet"), "map-layer-switch")
    assert isinstance(switch, dcc.Checklist)
    assert "enterprises" not in switch.value and "alerts" in switch.value


def composed(building_id: int = 1):
    """Return a composed card for the test street's first building."""
    cards = building_cards(rows(), [risk(1, "red")], None)
    cases = {
        "items": [{"id": 5, "code": "C5", "state": "dispatched", "overdue": True, "building_id": 1}]
    }
    alerts = {"items": [alert(1) | {"building_id": 1, "device_id": 10}]}
    return compose_building_card(building_id, cards, {"alarm": [10], "offline": []}, cases, alerts)


def test_building_card_shows_risk_reasons_counts_devices_and_cases():
    card = building_card(composed(), "zh")
    words = text(card)
    assert "红 高风险" in words
    assert "独居老人 2 人" in words
    assert "24" in words  # households, as a number
    assert "C5" in words and "超期" in words
    assert "烟感" in words and "烟感报警" in words
    assert card.to_plotly_json()["props"]["data-building"] == "1"
    english = text(building_card(composed(), "en"))
    assert "2 elder(s) living alone" in english and "Red: high risk" in english
    assert "—" not in english.split("Households")[1][:5]


def test_unknown_building_and_device_cards_say_so():
    assert "No record" in text(building_card(None, "en"))
    assert device_card(None, "en") is None
    props = {"id": 10, "k": "smoke", "b": 1, "c": "SM1", "f": 2}
    card = compose_device_card(props, building_cards(rows(), [], None), {"alarm": [10]}, None)
    words = text(device_card(card, "en"))
    assert "Alarm" in words and "Smoke detector" in words and "SM1" in words


@pytest.mark.parametrize(
    ("trigger", "building", "device", "picked", "expected"),
    [
        (BUILDINGS_ID, {"properties": {"id": 4}}, None, None, ("building", 4)),
        (DEVICES_ID, None, {"properties": {"id": 9, "k": "gas"}}, None, ("device", {"id": 9, "k": "gas"})),
        (MAP_PICK_ID, None, None, {"kind": "building", "id": 3}, ("building", 3)),
        (MAP_PICK_ID, None, None, {"kind": "device", "props": {"id": 2}}, ("device", {"id": 2})),
        (BUILDINGS_ID, {"properties": {"id": "4"}}, None, None, None),
        (BUILDINGS_ID, {"properties": {"id": True}}, None, None, None),
        (BUILDINGS_ID, {"properties": {"id": -1}}, None, None, None),
        (BUILDINGS_ID, "junk", None, None, None),
        (MAP_PICK_ID, None, None, {"kind": "resident", "id": 3}, None),
        (MAP_PICK_ID, None, None, ["building", 3], None),
        ("elsewhere", {"properties": {"id": 4}}, None, None, None),
    ],
)  # fmt: skip
def test_only_well_formed_taps_open_a_card(trigger, building, device, picked, expected):
    assert picked_target(trigger, building, device, picked) == expected


def layer_reader():
    """Return a read_view over a published buildings layer and its index."""
    from cockpit.map_layers import build_layers

    layer = dict(build_layers(rows(), identity)["buildings"], version="v1")
    views = {
        layer_view("buildings"): layer,
        "map_geometry": {"layers": {"buildings": {"version": "v1"}}},
    }
    return views.get


def test_layers_are_served_gzipped_and_cached_for_good():
    app = flask.Flask(__name__)
    packed: dict = {}
    with app.test_request_context(headers={"Accept-Encoding": "gzip, br"}):
        response = serve_layer(layer_reader(), "buildings", "v1", packed)
        body = json.loads(gzip.decompress(response.get_data()))
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert [f["id"] for f in body["features"]] == [1, 2]
    assert packed["buildings"][0] == "v1"
    with app.test_request_context():
        plain = serve_layer(layer_reader(), "buildings", "old-version", packed)
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Cache-Control"] == "no-cache"
    assert orjson.loads(plain.get_data())["version"] == "v1"


def test_layers_are_packed_ahead_once_the_worker_has_published_the_map():
    from callbacks.map import pack_layers

    views = layer_reader()
    published = {"now": False}
    asked: list[str] = []

    def read(name):
        """Read like the live store: nothing until the worker's first map, counting reads."""
        asked.append(name)
        return views(name) if published["now"] else None

    packed: dict = {}
    pack_layers(read, packed, wait_s=0.0)  # no map yet and no time to wait: nothing packed
    assert packed == {}
    published["now"] = True
    pack_layers(read, packed, wait_s=0.0)
    assert packed["buildings"][0] == "v1"
    assert json.loads(gzip.decompress(packed["buildings"][2]))["version"] == "v1"
    # A request after that serves the packed copy: the layer itself is not read again.
    asked.clear()
    with flask.Flask(__name__).test_request_context(headers={"Accept-Encoding": "gzip"}):
        serve_layer(read, "buildings", "v1", packed)
    assert layer_view("buildings") not in asked


def test_packing_ahead_ends_quietly_when_the_view_cache_is_down():
    from callbacks.map import pack_layers
    from cockpit.live import LiveStoreError

    def down(name):
        """Read like a live store whose Redis is gone."""
        raise LiveStoreError("connection refused")

    packed: dict = {}
    pack_layers(down, packed, wait_s=0.0)  # returns, raises nothing: requests pack on demand
    assert packed == {}


@pytest.mark.parametrize("name", ["secret", "../etc", "map_geometry"])
def test_unknown_layers_are_not_found(name):
    app = flask.Flask(__name__)
    with app.test_request_context(), pytest.raises(Exception) as caught:
        serve_layer(layer_reader(), name, "v1")
    assert getattr(caught.value, "code", None) == 404


def test_missing_layer_is_not_found():
    app = flask.Flask(__name__)
    with app.test_request_context(), pytest.raises(Exception) as caught:
        serve_layer(lambda name: None, "devices", "v1")
    assert getattr(caught.value, "code", None) == 404


def test_a_demo_map_fetches_its_layers_from_the_demo_and_production_from_production():
    import dash

    from callbacks.map import register

    app = dash.Dash(__name__)
    app.layout = dash.html.Div()
    production = layer_reader()
    demo_views = {key: production(key) for key in (layer_view("buildings"), "map_geometry")}
    demo_views[layer_view("buildings")] = dict(demo_views[layer_view("buildings")], features=[])
    register(app, production, demo_views.get)
    client = app.server.test_client()
    served = client.get("/map-layers/buildings/v1.json")
    demo = client.get("/map-layers/demo/buildings/v1.json")
    assert [f["id"] for f in orjson.loads(served.get_data())["features"]] == [1, 2]
    assert orjson.loads(demo.get_data())["features"] == []
    urls = {
        mode: [getattr(node, "url", "") for node in walk(street_map(GEOMETRY, "zh", mode))]
        for mode in ("demo", "tablet")
    }
    assert urls["demo"] and all(u.startswith("/map-layers/demo/") for u in urls["demo"] if u)
    assert not any("/demo/" in u for u in urls["tablet"])
