"""Check the intranet tile basemap: its URL is refused early when malformed, the map draws it under
the street, and GCJ-02 tiles get the street's WGS84 geometry shifted onto them."""

from __future__ import annotations

import os

import dash_leaflet as dl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cockpit.geo import distance_m
from cockpit.map_layers import identity, project_geometry, projection
from cockpit.settings import Settings, load_settings_or_exit, tile_url_problem
from layouts.map import street_map
from tests.unit.test_map_screen import GEOMETRY, walk

china_lon = st.floats(min_value=73.0, max_value=135.0)
china_lat = st.floats(min_value=18.0, max_value=53.0)
any_lon = st.floats(min_value=-180.0, max_value=180.0)
any_lat = st.floats(min_value=-90.0, max_value=90.0)
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    """Remove every COCKPIT_* variable, so only the test's settings count."""
    for name in list(os.environ):
        if name.startswith("COCKPIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# -- the tile URL ------------------------------------------------------------------------------


@st.composite
def tile_templates(draw) -> str:
    """Return a well-formed tile URL template: absolute (maybe with {s}) or a path here."""
    y = draw(st.sampled_from(["{y}", "{-y}"]))
    path = "/".join([*draw(st.lists(label, max_size=2)), "{z}", "{x}", y])
    suffix = draw(st.sampled_from([".png", "{r}.png", ".jpg?style=dark", ""]))
    if draw(st.booleans()):
        return f"/{path}{suffix}"
    scheme = draw(st.sampled_from(["http", "https"]))
    host = ".".join(draw(st.lists(label, min_size=2, max_size=4)))
    if draw(st.booleans()):
        host = "{s}." + host
    port = draw(st.sampled_from(["", ":8080", ":443"]))
    return f"{scheme}://{host}{port}/{path}{suffix}"


@given(tile_templates())
def test_well_formed_templates_are_accepted(template):
    assert tile_url_problem(template) is None
    assert Settings(tile_url=template).tile_url == template


@given(tile_templates(), st.sampled_from(["{z}", "{x}"]))
def test_a_template_missing_z_or_x_is_refused(template, placeholder):
    broken = template.replace(placeholder, "0")
    assert "{z}, {x} and {y}" in tile_url_problem(broken)


@given(tile_templates())
def test_a_template_missing_y_is_refused(template):
    broken = template.replace("{-y}", "0").replace("{y}", "0")
    assert "{z}, {x} and {y}" in tile_url_problem(broken)


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("ftp://tiles.example/{z}/{x}/{y}.png", "http:// or https://"),
        ("tiles.example/{z}/{x}/{y}.png", "http:// or https://"),
        ("http:///{z}/{x}/{y}.png", "http:// or https://"),
        ("https://tiles.example/{z}/{x}/{y}.png?key={key}", "unknown placeholder {key}"),
        ("https://tiles.example/{zoom}/{x}/{y}.png", "unknown placeholder {zoom}"),
        ("https://{s}.example/{z}/{x}/{y}.png", "followed by a domain"),
        ("https://{a}.tiles.example/{z}/{x}/{y}.png", "unknown placeholder {a}"),
        ("https://tiles.example/{z}/{x}/{y}.png'", "quotes"),
        (" https://tiles.example/{z}/{x}/{y}.png", "spaces"),
    ],
)
def test_malformed_templates_are_refused_saying_why(template, says):
    assert says in tile_url_problem(template)
    with pytest.raises(ValidationError, match="COCKPIT_TILE_URL"):
        Settings(tile_url=template)


def test_start_up_with_a_malformed_tile_url_exits_naming_the_variable(
    clean_environment, monkeypatch, capsys
):
    monkeypatch.setenv("COCKPIT_TILE_URL", "http://tiles.example/{z}/{x}.png")
    with pytest.raises(SystemExit) as stopped:
        load_settings_or_exit()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "COCKPIT_TILE_URL='http://tiles.example/{z}/{x}.png'" in err
    assert "{z}, {x} and {y}" in err


def test_an_empty_tile_url_means_the_offline_basemap(clean_environment, monkeypatch):
    monkeypatch.setenv("COCKPIT_TILE_URL", "")
    assert Settings().tile_url is None


# -- the projection ----------------------------------------------------------------------------


def test_shift_matches_an_independent_library():
    # prcoords 1.0.2 (PyPI), wgs_gcj((31.3, 121.5)); eviltransform 0.1.1 agrees within 2e-7°.
    lon, lat = projection("gcj02")(121.5, 31.3)
    assert lon == pytest.approx(121.50443716255727, abs=1e-9)
    assert lat == pytest.approx(31.298010968088906, abs=1e-9)


@given(any_lon, any_lat)
def test_wgs84_tiles_leave_every_point_where_it_is(lon, lat):
    assert projection("wgs84")(lon, lat) == (lon, lat)
    geometry = {"type": "Point", "coordinates": [lon, lat]}
    assert project_geometry(geometry, identity)["coordinates"] == [round(lon, 6), round(lat, 6)]


@given(china_lon, china_lat)
def test_gcj02_moves_points_in_china_by_tens_to_hundreds_of_metres(lon, lat):
    moved = projection("gcj02")(lon, lat)
    assert 10 < distance_m((lon, lat), moved) < 1000


@given(china_lon, china_lat, st.floats(-0.001, 0.001), st.floats(-0.001, 0.001))
def test_gcj02_keeps_a_building_s_shape(lon, lat, dlon, dlat):
    # Every corner moves by nearly the same offset, so a footprint still fits its tile's drawing.
    ring = [[lon, lat], [lon + dlon, lat], [lon + dlon, lat + dlat], [lon, lat + dlat], [lon, lat]]
    shifted = project_geometry({"type": "Polygon", "coordinates": [ring]}, projection("gcj02"))
    (corners,) = shifted["coordinates"]
    offset = (corners[0][0] - lon, corners[0][1] - lat)
    for (x, y), (gx, gy) in zip(ring, corners, strict=True):
        assert distance_m((gx, gy), (x + offset[0], y + offset[1])) < 1.0


# -- the layout --------------------------------------------------------------------------------


def tiled(url: str | None, coordinates: str = "wgs84", attribution: str | None = None) -> dict:
    """Return the published geometry index with a basemap setting."""
    return dict(
        GEOMETRY,
        basemap={"tile_url": url, "coordinates": coordinates, "attribution": attribution},
    )


@pytest.mark.parametrize("mode", ["wall", "tablet", "demo"])
def test_tiles_are_drawn_first_under_the_street_only_when_set(mode):
    url = "http://127.0.0.1:8700/{z}/{x}/{y}.png"
    leaflet = next(
        c for c in walk(street_map(tiled(url, "gcj02"), "zh", mode)) if isinstance(c, dl.Map)
    )
    first, *rest = leaflet.children
    assert isinstance(first, dl.TileLayer) and first.url == url and first.id == "map-tiles"
    assert not any(isinstance(c, dl.TileLayer) for c in rest)
    # No credit line set: no corner box (Leaflet's own would name the library, not the tiles).
    assert leaflet.attributionControl is False
    credited = next(
        c
        for c in walk(street_map(tiled(url, "gcj02", "© 杨浦区测绘院"), "zh", mode))
        if isinstance(c, dl.Map)
    )
    assert credited.attributionControl is True
    assert credited.children[0].attribution == "© 杨浦区测绘院"
    untiled = street_map(tiled(None), "zh", mode)
    assert not any(isinstance(c, dl.TileLayer) for c in walk(untiled))
