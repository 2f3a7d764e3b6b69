"""Wire the live map: clientside restyling per refreshed view, the layer URLs, and the cards."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from typing import Any

import flask
import orjson
from dash import ClientsideFunction, Dash, Input, Output, State, ctx, no_update

from callbacks.shell import reader_for
from cockpit.access.policy import Permission, Principal, may
from cockpit.live import LiveStoreError
from cockpit.map_layers import (
    LAYERS,
    MAP_ALERTS,
    MAP_CASES,
    MAP_DEVICES,
    MAP_GEOMETRY,
    card_shard,
    cell_view,
    compose_building_card,
    compose_device_card,
    layer_view,
)
from cockpit.panels import MAP_COLOURS
from cockpit.places import PERSONAL_DEVICE_KINDS
from layouts.map import (
    BUILDINGS_ID,
    CONFIG_ID,
    DEVICES_ID,
    MAP_PICK_ID,
    STATUS_ID,
    SWITCH_ID,
    building_card,
    device_card,
)

ReadView = Callable[[str], dict[str, Any] | None]
# The refreshed views the map listens to (the shell's REFRESHED_VIEWS must list them).
MAP_VIEWS = (MAP_COLOURS, MAP_DEVICES, MAP_ALERTS, MAP_CASES)
GZIP_LEVEL = 6
# How long a web process waits for the worker's first map before it stops packing ahead.
PACK_WAIT_S = 600.0


def register(
    app: Dash,
    read_view: ReadView,
    read_demo: ReadView | None = None,
    *,
    who: Callable[[], Principal | None] = lambda: None,
) -> None:
    """Attach the map's clientside callbacks, its card callback and its layer URLs to the app.

    A page in demo mode reads its layers and cards with `read_demo` (the demo's own store).
    Cards go only to a signed-in role that may read records (`who()`: the request's principal).
    """
    packed: dict[str, tuple] = {}  # layer name → (version, JSON, gzip), this process's copy
    packing = threading.Event()  # set once this process has begun packing its layers

    @app.server.before_request
    def pack_soon() -> None:
        """On this process's first request, pack the map's layers in the background.

        A district's layers take a second or more to serialise and gzip: done ahead, the first
        wall to open here downloads them at once instead of waiting (each gunicorn worker packs
        its own copy, so this runs after the fork).
        """
        if not packing.is_set():
            packing.set()
            threading.Thread(
                target=pack_layers, args=(read_view, packed), name="map-layers-pack", daemon=True
            ).start()

    app.server.add_url_rule(
        "/map-layers/<name>/<version>.json",
        "map_layer",
        lambda name, version: serve_layer(read_view, name, version, packed),
    )
    cell = "/device-cells/<version>/<int(signed=True):column>/<int(signed=True):row>.json"
    app.server.add_url_rule(
        "/map-layers" + cell,
        "map_device_cell",
        lambda version, column, row: serve_cell(
            read_view, version, column, row, may(who(), Permission.VIEW_RECORDS)
        ),
    )
    if read_demo is not None:
        # Not cached here: a demo restarts with a new street, and a demo map loads once.
        app.server.add_url_rule(
            "/map-layers/demo/<name>/<version>.json",
            "demo_map_layer",
            lambda name, version: serve_layer(read_demo, name, version),
        )
        app.server.add_url_rule(
            "/map-layers/demo" + cell,
            "demo_map_device_cell",
            lambda version, column, row: serve_cell(
                read_demo, version, column, row, may(who(), Permission.VIEW_RECORDS)
            ),
        )

    def clientside(function: str, *args: Any) -> None:
        """Register one function of assets/map.js; it restyles in place and reports what it did."""
        # A real output, though only a status attribute: callbacks without one never run on
        # page load, and the views the page was served with must be drawn at once.
        app.clientside_callback(
            ClientsideFunction(namespace="cockpitMap", function_name=function),
            Output(STATUS_ID, f"data-{function}"),
            *args,
        )

    clientside("colours", Input(f"view-{MAP_COLOURS}", "data"), State(CONFIG_ID, "data"))
    clientside("devices", Input(f"view-{MAP_DEVICES}", "data"))
    clientside("alerts", Input(f"view-{MAP_ALERTS}", "data"), State(CONFIG_ID, "data"))
    clientside("cases", Input(f"view-{MAP_CASES}", "data"))
    clientside("layers", Input(SWITCH_ID, "value"))

    @app.callback(
        Output("card-overlay", "children", allow_duplicate=True),
        Input(BUILDINGS_ID, "n_clicks"),
        Input(DEVICES_ID, "n_clicks"),
        Input(MAP_PICK_ID, "data"),
        State(BUILDINGS_ID, "clickData"),
        State(DEVICES_ID, "clickData"),
        State(CONFIG_ID, "data"),
        prevent_initial_call=True,
    )
    def open_card(_b: Any, _d: Any, picked: Any, building: Any, device: Any, config: Any):
        """Return the card of the building or device just tapped, from published views only."""
        lang = (config or {}).get("lang", "zh")
        target = picked_target(ctx.triggered_id, building, device, picked)
        if target is None or not may(who(), Permission.VIEW_RECORDS):
            return no_update
        read = reader_for((config or {}).get("mode"), read_view, read_demo)
        kind, payload = target
        if kind == "building":
            card = compose_building_card(
                payload,
                read(card_shard(payload)),
                read(MAP_DEVICES),
                read(MAP_CASES),
                read(MAP_ALERTS),
            )
            return building_card(card, lang)
        building_id = payload.get("b")
        cards = read(card_shard(building_id)) if _is_id(building_id) else None
        card = compose_device_card(payload, cards, read(MAP_DEVICES), read(MAP_ALERTS))
        return device_card(card, lang) or no_update


def picked_target(trigger: Any, building: Any, device: Any, picked: Any) -> tuple[str, Any] | None:
    """Return ('building', id) or ('device', feature properties) for what was tapped, else None."""
    if trigger == BUILDINGS_ID:
        props = _properties(building)
        building_id = props.get("id")
        return ("building", building_id) if _is_id(building_id) else None
    if trigger == DEVICES_ID:
        props = _properties(device)
        return ("device", props) if _is_id(props.get("id")) else None
    if trigger == MAP_PICK_ID and isinstance(picked, dict):
        if picked.get("kind") == "building" and _is_id(picked.get("id")):
            return "building", picked["id"]
        props = picked.get("props")
        if picked.get("kind") == "device" and isinstance(props, dict) and _is_id(props.get("id")):
            return "device", props
    return None


def _properties(click: Any) -> dict[str, Any]:
    """Return a clicked GeoJSON feature's properties, or {} for anything else."""
    if isinstance(click, dict) and isinstance(click.get("properties"), dict):
        return click["properties"]
    return {}


def _is_id(value: Any) -> bool:
    """Tell whether a value can be a row id (the browser sends what it likes)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def serve_cell(
    read_view: ReadView, version: str, column: int, row: int, may_read_records: bool = False
) -> flask.Response:
    """Return one cell's device dots as GeoJSON; a cell with none, or of another set, is empty.

    A dot of a device in someone's home (an elder's water meter or door sensor) says which floor
    and which device only to a role that may read records; to others it is a dot in a building.
    """
    current = ((read_view(MAP_GEOMETRY) or {}).get("device_cells") or {}).get("version")
    held = read_view(cell_view(column, row)) if current is not None else None
    features = held["features"] if held and held.get("set") == current else []
    if not may_read_records:
        features = [
            _unplaced(f) if f["properties"]["k"] in PERSONAL_DEVICE_KINDS else f for f in features
        ]
    # flask-compress packs it (cockpit/web/compression.py): a district cell is some 150 KB plain.
    response = flask.Response(
        orjson.dumps({"type": "FeatureCollection", "features": features}),
        mimetype="application/geo+json",
    )
    # The URL names the set: while it holds, this cell never changes for this URL.
    response.headers["Cache-Control"] = (
        "private, max-age=31536000, immutable" if version == current else "no-cache"
    )
    response.headers["Vary"] = "Cookie"  # what a cell says depends on who signed in
    return response


def _unplaced(dot: dict[str, Any]) -> dict[str, Any]:
    """Return a personal device's dot without its floor and code."""
    return {
        **dot,
        "properties": {k: v for k, v in dot["properties"].items() if k not in ("f", "c")},
    }


def pack_layers(read_view: ReadView, cache: dict[str, tuple], wait_s: float = PACK_WAIT_S) -> None:
    """Pack every static layer into `cache` as soon as the worker has published the map.

    The view cache unreachable ends it quietly: the layers are then packed on request, as before
    (and /healthz reports the outage).
    """
    deadline = time.monotonic() + wait_s
    try:
        while read_view(MAP_GEOMETRY) is None:
            if time.monotonic() > deadline:
                return
            time.sleep(1.0)
        for name in LAYERS:
            packed_layer(read_view, name, cache)
    except LiveStoreError:
        return


def packed_layer(
    read_view: ReadView, name: str, cache: dict[str, tuple] | None = None
) -> tuple[str | None, bytes, bytes] | None:
    """Return a layer's (version, JSON, gzip), packed again only when its version moved on."""
    # The small index names each layer's version: a layer already packed is served as it is.
    layers = (read_view(MAP_GEOMETRY) or {}).get("layers") or {}
    current = (layers.get(name) or {}).get("version")
    held = (cache or {}).get(name)
    if held is None or current is None or held[0] != current:
        view = read_view(layer_view(name))
        if view is None:
            return None
        body = orjson.dumps(view)
        held = (view.get("version"), body, gzip.compress(body, GZIP_LEVEL))
        if cache is not None:
            cache[name] = held
    return held


def serve_layer(
    read_view: ReadView, name: str, version: str, cache: dict[str, tuple] | None = None
) -> flask.Response:
    """Return a static map layer as GeoJSON, gzipped; cacheable for good when the version holds."""
    if name not in LAYERS:
        flask.abort(404)
    held = packed_layer(read_view, name, cache)
    if held is None:
        flask.abort(404)
    held_version, body, packed = held
    if "gzip" in flask.request.headers.get("Accept-Encoding", ""):
        response = flask.Response(packed, mimetype="application/geo+json")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = flask.Response(body, mimetype="application/geo+json")
    response.headers["Vary"] = "Accept-Encoding"
    if held_version == version:
        # The URL names the content: a new version is a new URL, so this one never changes.
        # private: behind sign-in, a shared proxy must not hand it to anyone else.
        response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response
