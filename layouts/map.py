"""Build the live street map: offline vector basemap, building, device, alert and case layers."""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import dcc, html

from cockpit.i18n import LABELS, label, place_name
from cockpit.map_layers import BASEMAP, BUILDINGS, DEVICES, ENTERPRISES, GRIDS, GROUND, NAMES
from layouts.cases import where_block

# The layer switch, in the order the legend lists it; enterprises (a planning view) and grid
# outlines (drawn on demand, with their names) start hidden.
SWITCHABLE = ("buildings", "devices", "alerts", "cases", "enterprises", "grids")
SHOWN_AT_START = ("buildings", "devices", "alerts", "cases")
RISKS = ("red", "yellow", "green")
DEVICE_STATES = ("alarm", "offline", "maintenance", "online")
LEVELS = ("red", "orange", "yellow", "blue")
# Ids of the GeoJSON layers: the card callback listens to the clickable two.
BUILDINGS_ID = "map-buildings"
DEVICES_ID = "map-devices"
# What a person tapped outside Dash's components ({kind, id}): map markers (assets/map.js) and
# panel and ticker items (assets/draw.js) write to the store of the callback drawing that card,
# so a tap costs one round trip at most: buildings and devices here (the map's server card),
# cases to CASE_PICK_ID (the case desk's), alerts and enterprises to PICK_ID (drawn clientside).
PICK_ID = "card-pick"
MAP_PICK_ID = "card-pick-map"
CASE_PICK_ID = "card-pick-case"
CONFIG_ID = "street-map-config"
STATUS_ID = "street-map-status"  # clientside callbacks report what they drew in data-*
SWITCH_ID = "map-layer-switch"
CASE_KEYS = (
    ("new", "map_case_new"),
    ("work", "map_case_work"),
    ("done", "map_case_done"),
    ("late", "map_case_overdue"),
)
LEVEL_ICONS = {"red": "▲", "orange": "◆", "yellow": "●", "blue": "■"}


def _say(key: str, lang: str, fallback: Any) -> str:
    """Return a label when there is one for the key, else the fallback as text."""
    return label(key, lang) if key in LABELS else str(fallback if fallback is not None else "—")


def _fn(name: str) -> dict[str, str]:
    """Return a dash-leaflet functional prop naming a function of assets/map.js."""
    return {"variable": f"cockpitMap.{name}"}


def layer_url(name: str, version: str, mode: str = "wall") -> str:
    """Return the URL a static layer is fetched from; the version makes it cacheable for good."""
    # The demo plays its own street: its layers come from its own store, never production's.
    return _relative(f"/map-layers/{'demo/' if mode == 'demo' else ''}{name}/{version}.json")


def cells_url(version: str, mode: str = "wall") -> str:
    """Return the URL prefix of the device cells (+ "<column>/<row>.json"), of one set."""
    return _relative(f"/map-layers/{'demo/' if mode == 'demo' else ''}device-cells/{version}/")


def _relative(path: str) -> str:
    """Return the path under the app's prefix (the plain path outside a running app)."""
    try:
        return dash.get_relative_path(path)
    except Exception:  # noqa: BLE001 - outside a running app (unit tests)
        return path


def client_config(lang: str, mode: str) -> dict[str, Any]:
    """Return what assets/map.js needs: language, mode and the labels its markers carry."""
    keys = [f"map_letter_{level}" for level in LEVELS]
    keys += [f"level_{level}" for level in LEVELS]
    keys += ["map_case_open", "map_case_overdue", "tap_for_detail"]
    return {
        "lang": lang,
        "mode": mode,
        "interactive": mode != "wall",
        "labels": {key: label(key, lang) for key in keys},
    }


def _geojson(
    layer_id: str, name: str, layers: dict[str, Any], mode: str, **props: Any
) -> dl.GeoJSON:
    """Return a static layer fetched once from its versioned URL."""
    version = (layers.get(name) or {}).get("version") or "none"
    return dl.GeoJSON(
        id=layer_id,
        url=layer_url(name, version, mode),
        eventHandlers={"layeradd": _fn("onLayerAdd")},
        **props,
    )


def _cells(geometry: dict[str, Any], mode: str) -> dict[str, Any] | None:
    """Return where and how big the device cells are, for assets/map.js (None before any)."""
    cells = geometry.get("device_cells")
    if not cells:
        return None
    return {"url": cells_url(cells["version"], mode), "size": cells["size"]}


def _legend(lang: str, mode: str) -> html.Div:
    """Return the legend with words for every colour, and the layer switch (touch) in one box."""
    switch = dcc.Checklist(
        id=SWITCH_ID,
        className="map-switch",
        options=[{"label": label(f"map_layer_{name}", lang), "value": name} for name in SWITCHABLE],
        value=list(SHOWN_AT_START),
        inputClassName="map-switch-input",
        labelClassName="map-switch-label",
    )
    risk = html.Div(
        className="map-legend-row",
        children=[
            html.Span(label(f"map_risk_{colour}", lang), className=f"map-key map-risk-{colour}")
            for colour in RISKS
        ],
    )
    devices = html.Div(
        className="map-legend-row",
        children=[
            html.Span(label(f"dev_{state}", lang), className=f"map-key map-dev-{state}")
            for state in DEVICE_STATES
        ],
    )
    alerts = html.Div(
        className="map-legend-row",
        children=[
            html.Span(
                [
                    html.B(label(f"map_letter_{level}", lang), className="map-letter"),
                    label(f"level_{level}", lang),
                ],
                className=f"map-key map-alert-{level}",
            )
            for level in LEVELS
        ],
    )
    cases = html.Div(
        className="map-legend-row",
        children=[
            html.Span(label(key, lang), className=f"map-key map-case-{stage}")
            for stage, key in CASE_KEYS
        ],
    )
    return html.Div(
        className=f"map-legend map-legend-{mode}",
        # The layer switch's name for screen readers (assets/options_a11y.js puts it on the list).
        **{"data-options-name": label("map_layers", lang)},
        children=[
            html.Div(label("map_layers", lang), className="map-legend-title"),
            switch,
            risk,
            devices,
            alerts,
            cases,
        ],
    )


def street_map(geometry: dict[str, Any] | None, lang: str, mode: str) -> html.Div:
    """Return the map component (outer id `street-map`) for a published map_geometry view model."""
    config = client_config(lang, mode)
    stores = [
        dcc.Store(id=CONFIG_ID, data=config),
        *(dcc.Store(id=store) for store in (PICK_ID, MAP_PICK_ID, CASE_PICK_ID)),
        html.Div(id=STATUS_ID, hidden=True),
    ]
    layers = (geometry or {}).get("layers")
    if not layers or not geometry.get("bounds"):
        # assets/map.js reloads the page once the worker has published the geometry.
        return html.Div(
            id="street-map",
            className=f"street-map street-map-{mode} street-map-waiting",
            children=[*stores, html.Div(label("map_waiting", lang), className="map-waiting")],
        )
    interactive = mode != "wall"
    hideout = {"interactive": interactive}
    basemap = geometry.get("basemap") or {}
    children: list[Any] = []
    if basemap.get("tile_url"):
        # The intranet's tiles replace the simulated or imported ground (blocks, water, roads);
        # outlines, buildings and labels stay on top of them.
        children.append(
            dl.TileLayer(
                id="map-tiles",
                url=basemap["tile_url"],
                maxZoom=19,
                attribution=basemap.get("attribution") or "",
            )
        )
    else:
        children.append(
            _geojson("map-ground", GROUND, layers, mode, style=_fn("groundStyle"), hideout=hideout)
        )
    children += [
        _geojson("map-basemap", BASEMAP, layers, mode, style=_fn("basemapStyle"), hideout=hideout),
        _geojson("map-grids", GRIDS, layers, mode, style=_fn("gridStyle"), hideout=hideout),
        _geojson(
            BUILDINGS_ID,
            BUILDINGS,
            layers,
            mode,
            style=_fn("buildingStyle"),
            onEachFeature=_fn("onEachBuilding"),
            hideout=hideout,
        ),
        _geojson(
            "map-enterprises",
            ENTERPRISES,
            layers,
            mode,
            pointToLayer=_fn("enterprisePoint"),
            hideout=hideout,
        ),
        # One mark per building; assets/map.js fetches the dots of the cells in view, zoomed in.
        _geojson(
            DEVICES_ID,
            DEVICES,
            layers,
            mode,
            pointToLayer=_fn("devicePoint"),
            hideout={**hideout, "cells": _cells(geometry, mode)},
        ),
        # Names are placed by assets/map.js at each zoom (the fitted one is the wall's default).
        _geojson(
            "map-labels",
            NAMES,
            layers,
            mode,
            pointToLayer=_fn("labelPoint"),
            hideout={**hideout, "lang": lang, "bounds": geometry["bounds"]},
        ),
    ]
    south_west, north_east = geometry["bounds"]
    pad = 0.01  # degrees (~1 km): room to pan a little past the boundary, never off the street
    max_bounds = [
        [south_west[0] - pad, south_west[1] - pad],
        [north_east[0] + pad, north_east[1] + pad],
    ]
    leaflet = dl.Map(
        id="street-map-leaflet",
        className="street-map-canvas",
        children=children,
        # Bounds alone: with a centre and zoom as well, react-leaflet would ignore the bounds.
        bounds=geometry["bounds"],
        boundsOptions={"padding": [6, 6]},
        trackViewport=False,  # its tracker assumes a centre prop, and nothing listens
        maxBounds=max_bounds,
        minZoom=13,
        maxZoom=19,
        zoomSnap=0.25,
        preferCanvas=True,
        # The tile source's credit line, when it has one (assets/map.js drops Leaflet's own prefix).
        attributionControl=bool(basemap.get("tile_url") and basemap.get("attribution")),
        zoomControl=interactive,
        dragging=interactive,
        touchZoom=interactive,
        scrollWheelZoom=interactive,
        doubleClickZoom=interactive,
        boxZoom=False,
        keyboard=interactive,
        style={"height": "100%", "width": "100%"},
    )
    return html.Div(
        id="street-map",
        className=f"street-map street-map-{mode}",
        role="region",
        **{"aria-label": label("map", lang)},
        children=[*stores, leaflet, _legend(lang, mode)],
    )


# -- cards (the card callback renders them into the shared `card-overlay`) ---------------------


def _field(key: str, value: Any) -> html.Div:
    """Return one labelled line of a card."""
    shown = "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
    return html.Div(
        [html.Span(key, className="card-key"), html.Span(shown, className="card-val")],
        className="card-field",
    )


def _level_badge(level: str, lang: str) -> html.Span:
    """Return an alert level as icon, word and colour."""
    return html.Span(
        f"{LEVEL_ICONS.get(level, '')} {label(f'level_{level}', lang)}",
        className=f"badge level-{level}",
    )


def _alert_list(alerts: list[dict[str, Any]], lang: str) -> html.Ul | html.Div:
    """Return the open alerts of a card, or a note saying there are none."""
    if not alerts:
        return html.Div(label("map_no_alerts", lang), className="note")
    return html.Ul(
        className="card-reasons",
        children=[
            html.Li(
                [
                    _level_badge(a["level"], lang),
                    " ",
                    a["title_en"] if lang == "en" else a["title_zh"],
                ]
            )
            for a in alerts
        ],
    )


def building_card(card: dict[str, Any] | None, lang: str) -> html.Div:
    """Return a building's card: risk colour with its reasons, counts (no names), devices, cases."""
    if card is None:
        return html.Div(label("map_unknown_building", lang), className="card card-building")
    colour = card.get("colour")
    risk_word = (
        label(f"map_risk_{colour}", lang) if colour in RISKS else label("map_risk_none", lang)
    )
    # Place names are stored in Chinese: romanised in English (the code where one cannot be).
    compound = place_name(card.get("compound"), lang)
    title = place_name(card.get("name"), lang) or " ".join(
        p for p in (compound, card.get("code")) if p
    )
    reasons = card.get("reasons") or []
    use = card.get("use")
    devices = card.get("devices") or []
    cases = card.get("cases") or []
    return html.Div(
        className=f"card card-building risk-{colour or 'none'}",
        **{"data-building": str(card.get("id"))},
        children=[
            html.H2(
                [
                    html.Span(risk_word, className=f"map-key map-risk-{colour or 'none'}"),
                    " ",
                    title,
                ],
                className="card-title",
            ),
            _field(label("map_risk", lang), risk_word),
            html.Ul(
                className="card-reasons map-card-reasons",
                children=[html.Li(r["en"] if lang == "en" else r["zh"]) for r in reasons],
            )
            if reasons
            else html.Div(label("map_no_risk_factor", lang), className="note"),
            # Address, building, community and grid, spelt in the language (pinyin in English).
            where_block(card.get("where"), lang, map_button=False),
            _field(label("map_use", lang), _say(f"map_use_{use}", lang, use)),
            _field(label("map_floors", lang), card.get("floors")),
            _field(label("map_households", lang), card.get("households")),
            _field(label("map_residents", lang), card.get("residents")),
            _field(label("map_floating", lang), card.get("floating")),
            _field(label("map_elders_alone", lang), card.get("elders_alone")),
            _field(label("map_enterprises", lang), card.get("enterprises")),
            html.H3(label("map_devices", lang)),
            html.Table(
                className="table map-card-devices",
                children=[
                    html.Tr(
                        [html.Th("")]
                        + [html.Th(label(f"dev_{s}", lang)) for s in DEVICE_STATES]
                        + [html.Th(label("total", lang))]
                    ),
                    *(
                        html.Tr(
                            [html.Td(_say("map_kind_" + d["kind"], lang, d["kind"]))]
                            + [
                                html.Td(
                                    "—" if d.get(s) is None else d[s],
                                    className=f"map-dev-cell-{s}" if d.get(s) else None,
                                )
                                for s in DEVICE_STATES
                            ]
                            + [html.Td(d["total"])]
                        )
                        for d in devices
                    ),
                ],
            )
            if devices
            else html.Div(label("map_no_devices", lang), className="note"),
            html.H3(label("map_alerts_here", lang)),
            _alert_list(card.get("alerts") or [], lang),
            html.H3(f"{label('map_open_cases', lang)} ({card.get('open_cases') or len(cases)})"),
            html.Ul(
                className="card-reasons",
                children=[
                    html.Li(
                        [
                            html.Span(
                                label("map_case_overdue", lang), className="map-key map-case-late"
                            )
                            if c["overdue"]
                            else None,
                            f" {c['code']} · " + _say("state_" + str(c["state"]), lang, c["state"]),
                        ]
                    )
                    for c in cases[:8]
                ],
            )
            if cases
            else html.Div(label("map_no_cases", lang), className="note"),
        ],
    )


def device_card(card: dict[str, Any] | None, lang: str) -> html.Div | None:
    """Return a device's card: kind, state in words, place, open alerts (no person named)."""
    if card is None:
        return None
    state = card.get("state") or "unknown"
    kind = card.get("kind")
    return html.Div(
        className=f"card card-device state-{state}",
        children=[
            html.H2(
                [
                    html.Span(label(f"dev_{state}", lang), className=f"map-key map-dev-{state}"),
                    " ",
                    _say(f"map_kind_{kind}", lang, kind),
                ],
                className="card-title",
            ),
            where_block(card.get("where"), lang, map_button=False),
            _field(label("map_state", lang), label(f"dev_{state}", lang)),
            _field(label("map_code", lang), card.get("code")),
            _field(label("map_floor", lang), card.get("floor")),
            html.H3(label("map_alerts_here", lang)),
            _alert_list(card.get("alerts") or [], lang),
        ],
    )
